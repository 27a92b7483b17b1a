import assert from 'node:assert/strict'
import { test } from 'node:test'
import { escapeHtml } from '../../src/html.js'

test('escapeHtml escapes the five HTML specials and nothing else', () => {
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
  )
  assert.equal(escapeHtml('Zürich 🚀 plain ü 42'), 'Zürich 🚀 plain ü 42')
  assert.equal(escapeHtml(7), '7')
})
