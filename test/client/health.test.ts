import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TrackerHealth, healthOf } from '../../src/client/health.js'
import { TrackerRefusedError } from '../../src/client/replies.js'
import type { TrackerAddress } from '../../src/client/trackers.js'
import { ManualClock } from '../../src/clock.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { prng } from '../helpers/prng.js'

const tr = (port: number): TrackerAddress => ({ host: '127.0.0.1', udp: port, tcp: port })
const [a, b, c] = [tr(1), tr(2), tr(3)]

test('back-off per §8.7: at least 5 s, doubling, capped, ±10 % jitter, reset by a success', () => {
  const clock = new ManualClock()
  const h = new TrackerHealth({ clock, random: prng(1) })
  const waits: number[] = []
  for (let i = 0; i < 10; i++) waits.push(h.failure(a))
  const bases = [5, 10, 20, 40, 80, 160, 300, 300, 300, 300].map(s => s * 1000)
  waits.forEach((w, i) => {
    const base = bases[i] ?? 0
    assert.ok(w >= base * 0.9 && w <= base * 1.1, `failure ${i + 1}: ${w} ms`)
  })
  assert.equal(h.failures(a), 10)
  h.success(a, 12)
  assert.equal(h.failures(a), 0)
  const again = h.failure(a)
  assert.ok(again >= 4500 && again <= 5500)
})

test('a retryAfter longer than the back-off is honoured, and the tracker is held until then', () => {
  const clock = new ManualClock()
  const h = new TrackerHealth({ clock })
  const wait = h.failure(a, new TrackerRefusedError(WireErrorCode.RATE_LIMITED, 30, 'a'))
  assert.equal(wait, 30_000)
  assert.equal(h.heldFor(a), 30_000)
  clock.advance(30_000)
  assert.equal(h.heldFor(a), 0)
})

test('a failed tracker goes last until its back-off passes, then one is probed first', () => {
  const clock = new ManualClock()
  const h = new TrackerHealth({ clock, random: prng(2) })
  h.failure(a)
  h.failure(b)
  clock.advance(1000)
  for (let i = 0; i < 20; i++) {
    const plan = h.plan([a, b, c], 'random')
    assert.equal(plan.order[0], c)
    assert.deepEqual(new Set(plan.order.slice(1)), new Set([a, b]))
    assert.ok(plan.waiting.has(a) && plan.waiting.has(b) && !plan.waiting.has(c))
  }
  // Still backing off: last, soonest back-off end first.
  assert.equal(h.plan([a, b, c], 'given').order[0], c)
  clock.advance(10_000)
  const plan = h.plan([a, b, c], 'given')
  // Both back-offs passed: one is probed first, the healthy one next, the other after it.
  assert.deepEqual(plan.order, [a, c, b])
  assert.equal(plan.waiting.size, 0)
})

test('fast trackers are drawn first more often, without taking all the load', () => {
  const h = new TrackerHealth({ random: prng(3) })
  for (let i = 0; i < 8; i++) {
    h.success(a, 2)
    h.success(b, 200)
    h.success(c, 50)
  }
  const first = new Map<TrackerAddress, number>()
  for (let i = 0; i < 3000; i++) {
    const t = h.plan([a, b, c], 'random').order[0]
    if (t !== undefined) first.set(t, (first.get(t) ?? 0) + 1)
  }
  const fa = first.get(a) ?? 0
  const fb = first.get(b) ?? 0
  const fc = first.get(c) ?? 0
  assert.ok(fa > fb * 2, `fast ${fa}, slow ${fb}`)
  // The slow one still gets a share.
  assert.ok(fb > 100, `slow ${fb}`)
  assert.ok(fc > fb && fc < fa, `middle ${fc}`)
})

test('a tracker never heard from is probed first once another is known to answer', () => {
  const h = new TrackerHealth({ random: prng(4) })
  assert.equal(h.plan([a, b], 'random').order.length, 2)
  h.success(a, 5)
  for (let i = 0; i < 10; i++) assert.deepEqual(h.plan([a, b], 'random').order, [b, a])
  h.failure(b)
  for (let i = 0; i < 10; i++) assert.deepEqual(h.plan([a, b], 'random').order, [a, b])
})

test('p95 of recent answers; a lost race without a reply is a failure, with one a sample', () => {
  const h = new TrackerHealth()
  assert.equal(h.p95(a), null)
  for (let i = 1; i <= 20; i++) h.success(a, i)
  assert.equal(h.p95(a), 20)
  h.lost(a, 500, true)
  assert.equal(h.failures(a), 0)
  assert.equal(h.p95(a), 500)
  h.lost(b, 50, false)
  assert.equal(h.failures(b), 1)
})

test('a snapshot survives a round trip; a hostile one is checked field by field', () => {
  const clock = new ManualClock()
  const h = new TrackerHealth({ clock })
  h.success(a, 7)
  h.failure(b)
  const copy = new TrackerHealth({ clock })
  assert.equal(copy.restore(JSON.parse(JSON.stringify(h.snapshot()))), 2)
  assert.equal(copy.failures(b), 1)
  assert.equal(copy.p95(a), 7)
  assert.deepEqual(copy.plan([b, a], 'given').order, [a, b])
  const bad = new TrackerHealth({ clock })
  const now = clock.now()
  const entry = { failures: 1, notBefore: now, holdUntil: 0, latencies: [1], seen: now }
  assert.equal(
    bad.restore({
      version: 1,
      trackers: {
        x: null,
        y: { ...entry, failures: -1 },
        z: { ...entry, notBefore: now + 10 * 365 * 86_400_000 },
        w: { ...entry, seen: now - 7 * 86_400_000 },
        v: { ...entry, latencies: 'no' },
        u: { ...entry, latencies: [1, -5, 'x', 3] },
      },
    }),
    1,
  )
  assert.equal(bad.restore({ version: 2, trackers: {} }), 0)
  assert.equal(bad.restore('junk'), 0)
  assert.equal(bad.restore(null), 0)
})

test('clients sharing a transport share one health memory', () => {
  const transport = {}
  assert.equal(healthOf(transport), healthOf(transport))
  assert.notEqual(healthOf(transport), healthOf({}))
})
