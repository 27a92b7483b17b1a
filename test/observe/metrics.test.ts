import assert from 'node:assert/strict'
import { test } from 'node:test'
import { register as globalRegistry } from 'prom-client'
import { counterMetricName, createMetrics } from '../../src/observe/metrics.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'
import { parsePrometheus } from '../helpers/prometheus.js'

test('metrics read the tracker at scrape time, in a private registry', async () => {
  const v = new FakeView({ name: 'Op "one"', location: 'Here\\there' })
  v.count('announces', 5)
  v.count('queries', 2)
  v.count('dropped_flood', 3)
  const m = createMetrics(v, '0.1.0')
  v.add(serverEntry(v.clock, 1))
  v.count('announces', 7)
  v.clock.advance(42_000)
  const scrape = parsePrometheus(await m.registry.metrics())
  assert.equal(scrape.types.get('metatracker_announces_total'), 'counter')
  assert.equal(scrape.value('metatracker_announces_total'), 12)
  assert.equal(scrape.value('metatracker_queries_total'), 2)
  assert.equal(scrape.value('metatracker_drops_total', { reason: 'flood' }), 3)
  assert.equal(scrape.types.get('metatracker_table_entries'), 'gauge')
  assert.equal(scrape.value('metatracker_table_entries'), 1)
  assert.equal(scrape.value('metatracker_table_max_bytes'), 64 * 1024 * 1024)
  assert.equal(scrape.value('metatracker_uptime_seconds'), 42)
  assert.equal(
    scrape.value('metatracker_info', { operator: 'Op "one"', location: 'Here\\there' }),
    1,
  )
  assert.equal(scrape.value('metatracker_dropped_flood_total'), undefined, 'drops only by reason')
  assert.equal(globalRegistry.getMetricsAsArray().length, 0, 'global registry untouched')
  // A second tracker in the same process gets its own registry.
  const other = createMetrics(new FakeView(), '0.1.0')
  assert.equal(
    parsePrometheus(await other.registry.metrics()).value('metatracker_table_entries'),
    0,
  )
})

test('counter metric names', () => {
  assert.equal(counterMetricName('announces'), 'metatracker_announces_total')
  assert.equal(counterMetricName('bytes_total'), 'metatracker_bytes_total')
})

test("process health in /metrics: prom-client's default metrics, in the tracker's own registry", async () => {
  const v = new FakeView()
  const a = createMetrics(v, '0.1.0')
  const b = createMetrics(v, '0.1.0') // a second tracker in the same process
  const scrape = parsePrometheus(await a.registry.metrics())
  assert.ok((scrape.value('process_resident_memory_bytes') ?? 0) > 0)
  assert.ok((scrape.value('process_cpu_seconds_total') ?? -1) >= 0)
  assert.equal(scrape.types.get('nodejs_eventloop_lag_p99_seconds'), 'gauge')
  assert.ok(
    (parsePrometheus(await b.registry.metrics()).value('process_resident_memory_bytes') ?? 0) > 0,
  )
  assert.equal(globalRegistry.getSingleMetric('process_resident_memory_bytes'), undefined)
})
