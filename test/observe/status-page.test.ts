import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { RateWindow } from '../../src/observe/rates.js'
import { STATUS_CSP, renderStatusPage } from '../../src/observe/status-page.js'
import { dropsByReason, statusModel } from '../../src/observe/summary.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

const HOSTILE = `<script>alert("x")</script> & 'quoted' "double"`

test('the page shows operator, uptime, table budget, rates and drops; hostile strings are escaped', () => {
  const v = new FakeView({ name: HOSTILE, location: 'Santa Clara, CA', contact: `a&b@example.org` })
  v.add(serverEntry(v.clock, 1))
  v.add(serverEntry(v.clock, 2))
  v.count('announces', 0)
  v.count('queries', 0)
  v.count('dropped_flood', 7)
  v.count('dropped_cookie', 0)
  const rates = new RateWindow()
  rates.record(v.clock.now(), v.stats())
  v.clock.advance(30_000)
  v.count('announces', 60)
  v.count('queries', 15)
  const html = renderStatusPage(statusModel(v, rates, '0.1.0'))
  assert.ok(!html.includes('<script'), 'no script element')
  assert.ok(
    html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;'),
  )
  assert.ok(html.includes('a&amp;b@example.org'))
  assert.ok(html.includes('Santa Clara, CA'))
  assert.match(html, /id="table-entries" data-value="2">2</)
  assert.match(html, /id="table-max-entries">100,000</)
  assert.match(html, /id="table-max-bytes">64\.0 MiB</)
  assert.match(html, /id="uptime" data-seconds="30">30s</)
  assert.match(html, /id="rate-announces">2\.00</)
  assert.match(html, /id="rate-queries">0\.50</)
  assert.match(html, /<td>flood<\/td><td class="n" data-value="7">7</)
  assert.ok(!html.includes('<td>cookie</td>'), 'zero drops are left out')
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'no external asset')
})

test('an empty operator and no drops render placeholders', () => {
  const v = new FakeView()
  const html = renderStatusPage(statusModel(v, new RateWindow(), '0.1.0'))
  assert.match(html, /id="operator-name">unnamed tracker</)
  assert.match(html, /id="drops-none"/)
  assert.match(html, /not given/)
})

test('the CSP allows exactly the inline style by hash', () => {
  const v = new FakeView({ name: 'x' })
  const html = renderStatusPage(statusModel(v, new RateWindow(), '0.1.0'))
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? ''
  const hash = createHash('sha256').update(style).digest('base64')
  assert.ok(STATUS_CSP.includes(`'sha256-${hash}'`))
  assert.ok(STATUS_CSP.startsWith("default-src 'none'"))
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
