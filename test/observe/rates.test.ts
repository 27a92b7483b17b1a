import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RateWindow } from '../../src/observe/rates.js'

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
