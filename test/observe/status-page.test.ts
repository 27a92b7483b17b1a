import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ProcessSource } from '../../src/observe/process-health.js'
import { PAGE_CSP, renderStatusPage } from '../../src/observe/status-page.js'
import { dropsByReason } from '../../src/observe/summary.js'
import { standaloneWebPages } from '../../src/observe/web-pages.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

const HOSTILE = `<script>alert("x")</script> & 'quoted' "double"`

const FIXED_PROCESS: ProcessSource = {
  rss: () => 50 * 1024 * 1024,
  cpuMicros: () => 0,
  lag: () => ({ p99: 1.5, max: 3 }),
  close: () => undefined,
}

function page(v: FakeView): string {
  const pages = standaloneWebPages(v, '0.1.0', {}, FIXED_PROCESS)
  return renderStatusPage(pages.status(), v.stats())
}

test('the page shows operator, uptime, table budget, process, servers and drops; hostile strings are escaped', () => {
  const v = new FakeView({ name: HOSTILE, location: 'Santa Clara, CA', contact: `a&b@example.org` })
  v.add(serverEntry(v.clock, 1, { name: HOSTILE, players: 3, world: 'q3dm17', tags: ['ctf'] }))
  v.add(serverEntry(v.clock, 2))
  v.count('dropped_flood', 7)
  v.count('dropped_cookie', 0)
  v.clock.advance(30_000)
  const html = page(v)
  // The only script is the same-origin file; nothing inline.
  assert.deepEqual(
    [...html.matchAll(/<script[^>]*>/g)].map(m => m[0]),
    ['<script src="/assets/status.js" defer>'],
  )
  assert.ok(!/<style/.test(html) && !/ style=/.test(html), 'no inline style')
  assert.ok(
    html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;'),
  )
  assert.ok(!html.includes('<script>alert'))
  assert.ok(html.includes('a&amp;b@example.org'))
  assert.ok(html.includes('Santa Clara, CA'))
  assert.match(html, /id="table-entries" data-value="2">2</)
  assert.match(html, /id="table-max-entries">100,000</)
  assert.match(html, /id="table-max-bytes">64\.0 MiB</)
  assert.match(html, /id="uptime" data-seconds="30">30s</)
  assert.match(html, /id="process-rss" data-value="52428800">50\.0 MiB</)
  assert.match(html, /id="process-lag">1\.5 ms p99, 3\.0 ms max</)
  assert.match(html, /<td>flood<\/td><td class="n" data-value="7">7</)
  assert.ok(!html.includes('<td>cookie</td>'), 'zero drops are left out')
  // Both servers listed, the most players first, with proof and age.
  const rows = [...html.matchAll(/<tr data-key="([0-9a-f]{64})"/g)]
  assert.equal(rows.length, 2)
  assert.match(html, /<td class="n" data-sort="3">3\/16</)
  assert.match(html, /<td class="proof unproven" data-sort="0">not proven</)
  assert.match(html, /<span class="tag">ctf<\/span>/)
  assert.match(html, /id="chart-announces"/)
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no external asset')
})

test('an empty operator, no drops and no network render placeholders', () => {
  const v = new FakeView()
  const html = page(v)
  assert.match(html, /id="operator-name">unnamed tracker</)
  assert.match(html, /id="drops-none"/)
  assert.match(html, /id="networks-none"/)
  assert.match(html, /not given/)
  assert.match(html, /class="chart-empty">no data yet</)
})

test('the CSP allows same-origin script and style only', () => {
  assert.ok(PAGE_CSP.startsWith("default-src 'none'"))
  assert.match(PAGE_CSP, /script-src 'self';/)
  assert.match(PAGE_CSP, /style-src 'self';/)
  assert.match(PAGE_CSP, /connect-src 'self';/)
  assert.ok(!PAGE_CSP.includes('unsafe'))
})

test('dropsByReason: only dropped_* counters above zero, largest first', () => {
  assert.deepEqual(
    dropsByReason([
      { name: 'dropped_a', value: 1 },
      { name: 'dropped_b', value: 5 },
      { name: 'dropped_c', value: 0 },
      { name: 'announces', value: 9 },
    ]),
    [
      { reason: 'b', count: 5 },
      { reason: 'a', count: 1 },
    ],
  )
})
