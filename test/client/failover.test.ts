import assert from 'node:assert/strict'
import { DatagramSocket } from '../../src/net/datagram-socket.js'
import { test } from 'node:test'
import { Announcer } from '../../src/client/announcer.js'
import { Querier, type QuerierOptions } from '../../src/client/querier.js'
import { UdpTransport } from '../../src/client/transport/udp.js'
import { trackerLabel } from '../../src/client/trackers.js'
import type { Clock } from '../../src/clock.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord } from '../helpers/signed-records.js'

/*
 * Failover with a memory (health.ts): black-holed trackers (a FakeTracker that drops every
 * datagram: a socket that never answers, on loopback) cost a timeout once, then nothing until
 * their back-off has passed. Bounds are generous: they hold on a loaded 2-core machine, and the
 * old Querier (a fresh random draw per call) broke them almost every run.
 */

type T = { after(fn: () => unknown): void }

async function fakes(t: T, n: number): Promise<FakeTracker[]> {
  const out: FakeTracker[] = []
  for (let i = 0; i < n; i++) {
    const f = await FakeTracker.start()
    t.after(() => f.close())
    f.hold(makeRecord(1))
    out.push(f)
  }
  return out
}

function querier(t: T, fs: FakeTracker[], extra: Partial<QuerierOptions> = {}): Querier {
  const q = new Querier({ trackers: fs.map(f => f.address), timeout: 1000, ...extra })
  t.after(() => q.close())
  return q
}

/** Datagrams a tracker has received (answered or not). */
const seen = (f: FakeTracker): number => f.count('cookie-request') + f.count('query')

async function timed<R>(fn: () => Promise<R>): Promise<{ ms: number; r: R }> {
  const started = performance.now()
  const r = await fn()
  return { ms: performance.now() - started, r }
}

/** Real time plus an offset the test moves: back-offs pass without waiting for them. */
class SkewClock implements Clock {
  skew = 0
  now(): number {
    return Date.now() + this.skew
  }
}

test('two of three trackers black-holed: only the first call pays a timeout', async t => {
  const fs = await fakes(t, 3)
  const [dead1, dead2, alive] = fs
  assert.ok(dead1 && dead2 && alive)
  dead1.behaviour.drop = true
  dead2.behaviour.drop = true
  const q = querier(t, fs)
  const first = await timed(() => q.peers({ network: 'testnet' }))
  assert.equal(first.r.entries.length, 1)
  assert.ok(first.ms < 5000, `first call ${first.ms} ms`)
  const later: number[] = []
  for (let i = 0; i < 12; i++) {
    const { ms, r } = await timed(() => q.peers({ network: 'testnet' }))
    later.push(ms)
    assert.deepEqual(r.answeredBy, [trackerLabel(alive.address)])
    assert.ok(!r.attempts.some(a => a.outcome === 'timeout'), 'no later call waits a timeout')
  }
  // A dead tracker is asked until it has failed once (a probe, bounded by the hedged request to
  // the live one), then not again while its back-off (≥ 5 s) runs.
  assert.ok(seen(dead1) <= 1 && seen(dead2) <= 1, `${seen(dead1)}, ${seen(dead2)}`)
  assert.ok(Math.max(...later) < 500, `later calls: ${later.map(Math.round).join(', ')} ms`)
})

test('one of two stops answering mid-run: one failover, then nothing until its back-off passes; back, it is used again', async t => {
  const fs = await fakes(t, 2)
  const [x, y] = fs
  assert.ok(x && y)
  const clock = new SkewClock()
  const q = querier(t, fs, { clock, hedgeMin: 200 })
  // Warm up until both are known to answer (a cold start on a loaded machine may have lost a
  // race and earned a back-off: let it pass).
  for (let i = 0; i < 6; i++) {
    await q.peers({ network: 'testnet' })
    const known = q.health.p95(x.address) !== null && q.health.p95(y.address) !== null
    if (known && q.health.failures(x.address) + q.health.failures(y.address) === 0) break
    clock.skew += 12_000
  }
  assert.equal(q.health.failures(x.address), 0)
  x.behaviour.drop = true
  // The next calls fail over at most once (a timeout, or less thanks to the hedged request).
  let failedOver = false
  for (let i = 0; i < 30 && !failedOver; i++) {
    const { ms, r } = await timed(() => q.peers({ network: 'testnet' }))
    assert.deepEqual(r.answeredBy, [trackerLabel(y.address)])
    assert.ok(ms < 1800, `failover call ${ms} ms`)
    failedOver = r.attempts.some(a => a.outcome !== 'ok')
  }
  assert.ok(failedOver, 'x was asked at least once after it stopped')
  assert.equal(q.health.failures(x.address), 1)
  const asked = seen(x)
  for (let i = 0; i < 10; i++) {
    const { ms, r } = await timed(() => q.peers({ network: 'testnet' }))
    assert.deepEqual(
      r.attempts.map(a => [a.tracker, a.outcome]),
      [[trackerLabel(y.address), 'ok']],
    )
    assert.ok(ms < 500, `${ms} ms`)
  }
  assert.equal(seen(x), asked, 'not asked while backing off')
  // It comes back; once its back-off has passed it is probed first, answers, and is used again.
  x.behaviour.drop = false
  let back = false
  for (let i = 0; i < 4 && !back; i++) {
    clock.skew += 45_000
    const r = await q.peers({ network: 'testnet' })
    back = r.answeredBy.includes(trackerLabel(x.address))
  }
  assert.ok(back, 'x answers again once its back-off has passed')
  assert.equal(q.health.failures(x.address), 0)
})

test('a hedged request: the first tracker is slow, the next answers, the first is cancelled', async t => {
  const [slow, fast] = await fakes(t, 2)
  assert.ok(slow && fast)
  slow.behaviour.drop = true
  const q = querier(t, [slow, fast], { order: 'given', timeout: 2000 })
  const { ms, r } = await timed(() => q.peers({ network: 'testnet' }))
  assert.deepEqual(
    r.attempts.map(a => [a.tracker, a.outcome, a.hedge ?? false]),
    [
      [trackerLabel(fast.address), 'ok', true],
      [trackerLabel(slow.address), 'cancelled', false],
    ],
  )
  // Hedged after a quarter of the timeout (no latency known yet), well before the timeout.
  assert.ok(ms < 1900, `${ms} ms`)
  const off = querier(t, [slow, fast], { order: 'given', timeout: 300, hedge: false })
  const plain = await off.peers({ network: 'testnet' })
  assert.deepEqual(
    plain.attempts.map(a => a.outcome),
    ['timeout', 'ok'],
  )
})

test('a closed UDP port (ICMP port unreachable) fails over at once, not after the timeout', async t => {
  const [good] = await fakes(t, 1)
  assert.ok(good)
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const closed = { host: '127.0.0.1', udp: s.port, tcp: null }
  await s.close()
  const q = new Querier({ trackers: [closed, good.address], order: 'given', timeout: 20_000 })
  t.after(() => q.close())
  const { ms, r } = await timed(() => q.peers({ network: 'testnet' }))
  assert.deepEqual(
    r.attempts.map(a => a.outcome),
    ['unreachable', 'ok'],
  )
  assert.ok(ms < 10_000, `${ms} ms`)
})

test('more matched than arrived and the TCP follow-up fails: the answer is flagged partial', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  for (let i = 2; i <= 40; i++) f.hold(makeRecord(i))
  // Its TCP port is not where the client looks (a port nothing listens on).
  const probe = await FakeTracker.start()
  const closedTcp = probe.address.tcp
  await probe.close()
  const q = new Querier({ trackers: [{ ...f.address, tcp: closedTcp }] })
  t.after(() => q.close())
  const r = await q.peers({ network: 'testnet', count: 30 })
  assert.equal(r.partial, true)
  assert.ok(r.entries.length < 30 && r.entries.length > 0)
  assert.ok(r.total >= 30)
  assert.match(r.attempts[0]?.partial ?? '', /TCP follow-up failed/)
  // Without a TCP port at all, and with TCP not allowed: partial as well.
  const noTcp = new Querier({ trackers: [{ ...f.address, tcp: null }] })
  t.after(() => noTcp.close())
  assert.equal((await noTcp.peers({ network: 'testnet', count: 30 })).partial, true)
  const ok = new Querier({ trackers: [f.address] })
  t.after(() => ok.close())
  assert.equal(
    (await ok.peers({ network: 'testnet', count: 30 }, { transport: 'udp' })).partial,
    true,
  )
  const full = await ok.peers({ network: 'testnet', count: 30 })
  assert.equal(full.partial, false)
  assert.equal(full.entries.length, 30)
})

test('an Announcer and a Querier on one transport share what they learnt of each tracker', async t => {
  const [good] = await fakes(t, 1)
  assert.ok(good)
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const closed = { host: '127.0.0.1', udp: s.port, tcp: null }
  await s.close()
  const udp = new UdpTransport()
  t.after(() => udp.close())
  const a = new Announcer({
    trackers: [closed, good.address],
    privateKey: testKey(9).privateKey,
    network: 'testnet',
    udp,
  })
  t.after(() => a.close({ withdraw: false }))
  await a.announceAll()
  const q = querier(t, [good], { udp })
  assert.equal(q.health.failures(closed), 1)
  assert.equal(q.health.failures(good.address), 0)
  assert.notEqual(q.health.p95(good.address), null)
  // Asked with the dead tracker listed first: the Querier already knows to leave it alone.
  const both = new Querier({ trackers: [closed, good.address], order: 'given', udp })
  t.after(() => both.close())
  const r = await both.peers({ network: 'testnet' })
  assert.deepEqual(
    r.attempts.map(x => x.outcome),
    ['ok'],
  )
})

test('TCP tries every address of a name: a refused first address falls through', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const q = new Querier({
    trackers: [{ ...f.address, host: 'two.test' }],
    resolve: () =>
      Promise.resolve([
        { address: '::1', family: 6 as const },
        { address: '127.0.0.1', family: 4 as const },
      ]),
  })
  t.after(() => q.close())
  const r = await q.peers({ network: 'testnet' }, { transport: 'tcp' })
  assert.equal(r.entries.length, 1)
})
