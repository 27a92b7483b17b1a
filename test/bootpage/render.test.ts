import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { loadPageAssets } from '../../src/bootpage/build.js'
import {
  factRows,
  renderBootpageHtml,
  renderSignedContent,
  trackerRows,
} from '../../src/bootpage/render.js'
import type { BootpageTracker } from '../../src/bootpage/schema.js'
import { isTrackerError } from '../../src/errors.js'
import { makePage } from '../helpers/bootpage.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

const assets = await loadPageAssets()

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  'Tom & Jerry &amp; &lt;',
  '{{nacl}} {{content}} $& $1',
  'Zürich — 東京 🚀 ﷽',
]

const hostilePage = () =>
  makePage({
    trackers: HOSTILE.map((s, i) => ({
      name: `${s} ${i}`,
      operator: s,
      host: 'tracker.example.org',
      udp: 3520 + i,
      location: s,
      contact: s,
      notes: s,
    })),
  })

test('hostile strings in every tracker field are escaped in index.html', () => {
  const html = renderBootpageHtml(hostilePage(), assets)
  const body = html.slice(html.indexOf('<main id="signed-content">'), html.indexOf('</main>'))
  assert.ok(!body.includes('<script'), 'no script tag from the data')
  assert.ok(!body.includes('<img'), 'no img tag from the data')
  assert.ok(!body.includes(`'alert`), 'no bare quote from the data')
  assert.ok(!body.includes('"><img'), 'no attribute break-out')
  assert.ok(body.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'))
  assert.ok(body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  assert.ok(body.includes('Tom &amp; Jerry &amp;amp; &amp;lt;'))
  assert.ok(body.includes('&#39; onmouseover=&#39;alert(1)'))
  assert.ok(body.includes('Zürich — 東京 🚀 ﷽'), 'unicode kept as is')
  // Slot-looking text is inserted once, never expanded.
  assert.ok(body.includes('{{nacl}} {{content}} $&amp; $1'))
  assert.equal(html.split('<script>').length - 1, 2, 'exactly the two inlined scripts')
})

test('the page is deterministic and carries a CSP allowing only its own inlined code', () => {
  const doc = makePage()
  const html = renderBootpageHtml(doc, assets)
  assert.equal(renderBootpageHtml(doc, assets), html)
  const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? ''
  assert.ok(csp.includes(`script-src ${hash(assets.nacl)} ${hash(assets.verifier)}`), csp)
  assert.ok(csp.includes(`style-src ${hash(assets.style)}`))
  assert.ok(csp.includes("default-src 'none'") && csp.includes("connect-src 'self'"))
  assert.ok(html.includes(`<script>${assets.nacl}</script>`))
  assert.ok(html.includes(`<script>${assets.verifier}</script>`))
  const hosts = [...html.replace(assets.nacl, '').matchAll(/https?:\/\/([\w.-]+)/g)].map(m => m[1])
  assert.deepEqual(hosts, ['127.0.0.1'], 'no URL but the listed tracker')
  assert.ok(html.includes('<title>metatracker bootpage: demo</title>'))
})

test('listing shows each tracker with operator, location, contact and endpoints', () => {
  const content = renderSignedContent(makePage().page)
  for (const s of [
    'alpha',
    'Alice',
    'Santa Clara, CA',
    'alice@example.org',
    '127.0.0.1:3520',
    'http://127.0.0.1:3521/',
    '[::1]:4520',
    'tracker.example.org:5520',
    'TCP only',
    'Trackers (3)',
    '2 of 3'.replace('2', '3'),
  ])
    assert.ok(content.includes(s), s)
})

test('template and asset problems are coded errors', () => {
  const bad = (patch: Partial<typeof assets>) => () =>
    renderBootpageHtml(makePage(), { ...assets, ...patch })
  const isTemplate = (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_BAD_TEMPLATE'
  assert.throws(bad({ template: assets.template.replace('{{content}}', '') }), isTemplate)
  assert.throws(bad({ template: assets.template + '{{extra}}' }), isTemplate)
  assert.throws(bad({ verifier: 'var a = "</SCRIPT>"' }), isTemplate)
  assert.throws(bad({ style: 'a{} </style>' }), isTemplate)
})

const trackerArb: fc.Arbitrary<BootpageTracker> = fc.record(
  {
    name: fc.string({ minLength: 1 }),
    operator: fc.string({ minLength: 1 }),
    host: fc.constantFrom('a.example', '127.0.0.1', '2001:db8::1'),
    udp: fc.integer({ min: 1, max: 65535 }),
    tcp: fc.integer({ min: 1, max: 65535 }),
    http: fc.integer({ min: 1, max: 65535 }),
    key: fc.constant('cd'.repeat(32)),
    location: fc.string({ minLength: 1 }),
    contact: fc.string({ minLength: 1 }),
    notes: fc.string({ minLength: 1 }),
  },
  { requiredKeys: ['name', 'operator', 'host'] },
)

test('property: verify.js builds the same rows as the TypeScript renderer', () => {
  const browser = loadVerifyJs()
  fc.assert(
    fc.property(trackerArb, t => {
      assert.deepEqual(JSON.stringify(browser.trackerRows(t)), JSON.stringify(trackerRows(t)))
    }),
    { numRuns: 200 },
  )
  const page = makePage().page
  assert.equal(JSON.stringify(browser.factRows(page)), JSON.stringify(factRows(page)))
})
