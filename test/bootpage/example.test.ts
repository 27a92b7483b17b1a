import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { loadPageAssets } from '../../src/bootpage/build.js'
import { parseOperatorList } from '../../src/bootpage/draft.js'
import { renderBootpageHtml } from '../../src/bootpage/render.js'
import { parseBootpage } from '../../src/bootpage/schema.js'
import { pinnedAnchor, verifyBootpage } from '../../src/bootpage/verify.js'

const read = (name: string) =>
  readFileSync(new URL(`../../bootpage/example/${name}`, import.meta.url), 'utf8')

test('the committed example verifies against its operators.txt and is valid for years', () => {
  const doc = parseBootpage(read('bootpage.json'))
  const pins = parseOperatorList(read('operators.txt')).map(o => o.key)
  assert.equal(pins.length, 3)
  const v = verifyBootpage(doc, { now: Date.now(), anchor: pinnedAnchor(pins), network: 'demo' })
  assert.deepEqual(v.problems, [])
  assert.equal(v.signed, 3)
  assert.ok(v.expiresIn > 365 * 86_400, 'valid for more than a year from today')
  assert.ok(!/PRIVATE KEY/.test(read('bootpage.json') + read('operators.txt') + read('index.html')))
})

test('the committed example index.html is the current build of its bootpage.json', async () => {
  const doc = parseBootpage(read('bootpage.json'))
  const html = renderBootpageHtml(doc, await loadPageAssets())
  assert.ok(
    html === read('index.html'),
    'bootpage/example/index.html is stale: run npx tsx scripts/build-example-bootpage.ts --html-only',
  )
})
