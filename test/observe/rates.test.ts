import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateHistory, RateWindow } from '../../src/observe/rates.js'

const s = (announces: number, queries = 0) => [
  { name: 'announces', value: announces },
  { name: 'queries', value: queries },
]

test('rates cover the last minute and forget older samples', () => {
  const r = new RateWindow(60_000, 5_000)
  assert.equal(r.rates(0, s(10)).get('announces'), 0, 'no history: 0')
  r.record(0, s(0))
  assert.equal(r.rates(10_000, s(100, 20)).get('announces'), 10)
  assert.equal(r.rates(10_000, s(100, 20)).get('queries'), 2)
  for (let t = 5_000; t <= 120_000; t += 5_000) r.record(t, s(t / 1000))
  // Samples from t=60s on are inside the window at t=120s: (120 - 60) / 60 s = 1/s.
  assert.equal(r.rates(120_000, s(120)).get('announces'), 1)
})

test('records closer than one step are skipped; a counter that went down counts from zero', () => {
  const r = new RateWindow(60_000, 5_000)
  r.record(0, s(0))
  r.record(1_000, s(1_000)) // ignored: within one step of the last sample
  assert.equal(r.rates(10_000, s(50)).get('announces'), 5)
  assert.equal(r.rates(10_000, [{ name: 'announces', value: 0 }]).get('announces'), 0)
  r.record(5_000, s(100))
  assert.equal(r.rates(10_000, s(20)).get('announces'), 2, 'reset: 20 since 0')
})

test('history: one rate per step between snapshots, oldest first, in a ring that never grows', () => {
  const h = new RateHistory(5 * 60_000, 60_000, n => n === 'announces' || n.startsWith('dropped_'))
  assert.equal(h.capacity, 6)
  assert.deepEqual(h.series(), { t: [], series: new Map() })
  for (let i = 0; i <= 20; i++) {
    h.record(i * 60_000, [
      { name: 'announces', value: i * 120 },
      { name: 'queries', value: i * 1000 },
      { name: 'dropped_flood', value: i < 19 ? 0 : 60 },
    ])
  }
  assert.equal(h.size, 6, 'bounded by the window')
  const s = h.series()
  assert.deepEqual(
    s.t,
    [16, 17, 18, 19, 20].map(m => m * 60_000),
  )
  assert.deepEqual(s.series.get('announces'), [2, 2, 2, 2, 2])
  assert.equal(s.series.has('queries'), false, 'only kept counters')
  assert.deepEqual(s.series.get('dropped_flood'), [0, 0, 0, 1, 0])
})

test('history: a snapshot within one step is skipped; a reset counts from zero; time going back is kept', () => {
  const h = new RateHistory(3_600_000, 60_000)
  h.record(0, [{ name: 'announces', value: 0 }])
  h.record(30_000, [{ name: 'announces', value: 999 }])
  assert.equal(h.size, 1)
  h.record(60_000, [{ name: 'announces', value: 60 }])
  h.record(120_000, [{ name: 'announces', value: 30 }])
  assert.deepEqual(h.series().series.get('announces'), [1, 0.5])
  h.record(100_000, [{ name: 'announces', value: 40 }])
  assert.equal(h.size, 4, 'a clock stepped back starts a new point rather than stalling')
  assert.throws(() => new RateHistory(1_000, 0), RangeError)
})

test('history: at most maxNames counters per snapshot', () => {
  const h = new RateHistory(600_000, 60_000, () => true, 3)
  const many = Array.from({ length: 10 }, (_, i) => ({ name: `c${i}`, value: i }))
  h.record(0, many)
  h.record(60_000, many)
  assert.equal(h.series().series.size, 3)
})
