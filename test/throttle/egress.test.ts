import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { isTrackerError } from '../../src/errors.js'
import {
  type BudgetSource,
  EgressBudget,
  PRIORITY_SHARE,
  chunkSize,
  createEgress,
} from '../../src/throttle/egress.js'
import { type Priority, unlimitedEgress } from '../../src/throttle/types.js'

/** A budget source the test grants by hand. */
class ManualSource implements BudgetSource {
  readonly pending: { bytes: number; resolve: () => void; reject: (e: Error) => void }[] = []
  granted = 0
  closed = false
  draw(bytes: number): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ bytes, resolve, reject }))
  }
  grant(): void {
    const p = this.pending.shift()
    assert.ok(p, 'a draw is pending')
    this.granted += p.bytes
    p.resolve()
  }
  close(): Promise<void> {
    this.closed = true
    for (const p of this.pending.splice(0)) p.reject(new Error('stopped'))
    return Promise.resolve()
  }
}

/** A source that grants every draw at once: only the class shares limit. */
class OpenSource implements BudgetSource {
  draw(): Promise<void> {
    return Promise.resolve()
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

const settle = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

test('chunks are a twentieth of a second, at least 2 KiB, never more than the budget', () => {
  assert.equal(chunkSize(1_000_000), 50_000)
  assert.equal(chunkSize(10_000), 2048)
  assert.equal(chunkSize(1000), 1000)
  assert.equal(chunkSize(100_000_000), 5_000_000)
})

test('admit() spends budget already drawn and draws the next chunk in the background', async () => {
  const source = new ManualSource()
  const clock = new ManualClock()
  const egress = new EgressBudget(
    { bytesPerSecond: 1_000_000, tcpQueueBytes: 0 },
    { source, clock },
  )
  assert.equal(source.pending.length, 1, 'the first chunk is drawn at once')
  assert.equal(egress.admit(100, 'server'), false, 'nothing drawn yet')
  source.grant()
  await egress.ready()
  let sent = 0
  while (egress.admit(1000, 'server')) sent += 1000
  assert.equal(sent, 100_000, 'the chunk in hand, and one more borrowed against the next draw')
  assert.equal(source.pending.length, 1, 'one draw at a time, requested when running low')
  assert.equal(egress.counts.droppedPackets.server, 2)
  // The next chunk repays the loan: nothing more can be sent than drawn plus one chunk.
  source.grant()
  await settle()
  assert.equal(egress.admit(1000, 'signed'), false, 'the loan is repaid before lower classes')
  await egress.close()
  assert.equal(source.closed, true)
})

test('a burst of lower classes leaves budget in hand for the classes above it', async () => {
  const source = new ManualSource()
  const egress = new EgressBudget(
    { bytesPerSecond: 1_000_000, tcpQueueBytes: 0 },
    { source, clock: new ManualClock() },
  )
  source.grant()
  await egress.ready()
  let cookie = 0
  while (egress.admit(1000, 'cookie')) cookie += 1000
  assert.equal(cookie, 37_000, 'cookies stop with a quarter of the chunk (12,500) in hand')
  let signed = 0
  while (egress.admit(1000, 'signed')) signed += 1000
  assert.equal(signed, 6000, 'signed replies stop with an eighth (6,250) in hand')
  assert.equal(egress.admit(1000, 'server'), true, 'servers are still answered')
  await egress.close()
})

test('each class may use only its share of a second; the clock opens the next second', async () => {
  const clock = new ManualClock(5_000)
  const egress = new EgressBudget(
    { bytesPerSecond: 10_000, tcpQueueBytes: 0 },
    { source: new OpenSource(), clock },
  )
  const fill = async (p: Priority): Promise<number> => {
    let sent = 0
    for (let i = 0; i < 500; i++) {
      if (egress.admit(100, p)) sent += 100
      await settle()
    }
    return sent
  }
  assert.equal(await fill('cookie'), 10_000 * PRIORITY_SHARE.cookie)
  assert.equal(
    await fill('signed'),
    Math.round(10_000 * (PRIORITY_SHARE.signed - PRIORITY_SHARE.cookie)),
  )
  assert.equal(await fill('cookie'), 0)
  assert.equal(await fill('server'), Math.round(10_000 * (1 - PRIORITY_SHARE.signed)))
  clock.advance(2000)
  assert.equal(await fill('cookie'), 5_000, 'a new second, after a quiet one')
  assert.equal(egress.counts.droppedPackets.cookie, 450 + 500 + 450)
  assert.equal(egress.counts.sentBytes.signed, 3_500)
  await egress.close()
})

test('what a higher class asked for last second is kept free for it this second', async () => {
  const clock = new ManualClock(5_000)
  const egress = new EgressBudget(
    { bytesPerSecond: 10_000, tcpQueueBytes: 0 },
    { source: new OpenSource(), clock },
  )
  await egress.ready()
  egress.admit(3000, 'server') // offered: server 3,000
  egress.admit(1000, 'signed')
  egress.admit(5000, 'signed') // dropped, but asked for: signed 6,000
  clock.advance(1000)
  assert.deepEqual(egress.caps(), { server: 10_000, signed: 7_000, cookie: 1_000 })
  clock.advance(1000) // a quiet second: back to the base shares
  assert.deepEqual(egress.caps(), { server: 10_000, signed: 8_500, cookie: 5_000 })
  egress.admit(20_000, 'server')
  clock.advance(1000) // a flood of server replies: the others keep MIN_SHARE
  assert.deepEqual(egress.caps(), { server: 10_000, signed: 500, cookie: 500 })
  await egress.close()
})

test('under overload the lowest class is dropped first (injected clock)', async () => {
  const clock = new ManualClock(0)
  const source = new ManualSource()
  const egress = new EgressBudget({ bytesPerSecond: 20_480, tcpQueueBytes: 0 }, { source, clock })
  // Five seconds; each 50 ms one chunk (1/20 s of budget) arrives and the classes offer server
  // 40%, signed 60%, cookie 60% of the budget (160% in all), interleaved.
  const offer = { server: 410, signed: 614, cookie: 614 }
  for (let tick = 0; tick < 100; tick++) {
    if (source.pending.length > 0) source.grant()
    await settle()
    for (const p of ['cookie', 'signed', 'server'] as const) egress.admit(offer[p], p)
    clock.advance(50)
  }
  const c = egress.counts
  const rate = (p: Priority): number =>
    c.droppedPackets[p] / (c.droppedPackets[p] + c.sentPackets[p])
  assert.ok(rate('server') < 0.05, `server ${rate('server')}`)
  assert.ok(rate('signed') > rate('server') + 0.2, `signed ${rate('signed')}`)
  assert.ok(rate('cookie') > 0.8, `cookie ${rate('cookie')}`)
  const sent = Object.values(c.sentBytes).reduce((a, b) => a + b, 0)
  assert.ok(sent <= source.granted, 'never more than was granted')
  await egress.close()
})

test('TCP replies wait for budget, highest class first, then are sent', async () => {
  const source = new ManualSource()
  const egress = new EgressBudget(
    { bytesPerSecond: 20_480, tcpQueueBytes: 100_000 },
    { source, clock: new ManualClock() },
  )
  const order: string[] = []
  const cookie = egress.wait(1500, 'cookie').then(() => order.push('cookie'))
  const signed = egress.wait(1500, 'signed').then(() => order.push('signed'))
  const server = egress.wait(1500, 'server').then(() => order.push('server'))
  assert.equal(egress.queued, 4500)
  source.grant() // 2048 bytes: the server reply, and part of the signed one
  await settle()
  assert.deepEqual(order, ['server'])
  assert.equal(egress.queued, 4500 - 2048)
  source.grant()
  await settle()
  assert.deepEqual(order, ['server', 'signed'])
  source.grant()
  await Promise.all([cookie, signed, server])
  assert.deepEqual(order, ['server', 'signed', 'cookie'])
  assert.equal(egress.queued, 0)
  assert.equal(egress.counts.tcpWaited, 3)
  await egress.close()
})

test('a TCP reply larger than several chunks is sent once enough budget has come', async () => {
  const source = new ManualSource()
  const egress = new EgressBudget(
    { bytesPerSecond: 20_480, tcpQueueBytes: 100_000 },
    { source, clock: new ManualClock() },
  )
  let done = false
  const big = egress.wait(10_000, 'signed').then(() => (done = true))
  for (let i = 0; i < 4; i++) {
    source.grant()
    await settle()
    assert.equal(done, false)
  }
  source.grant() // 5 x 2048 >= 10,000
  await big
  assert.equal(egress.counts.sentBytes.signed, 10_000)
  await egress.close()
})

test('past tcpQueueBytes wait() rejects with EGRESS_QUEUE_FULL; close() rejects the rest', async () => {
  const source = new ManualSource()
  const egress = new EgressBudget(
    { bytesPerSecond: 20_480, tcpQueueBytes: 3000 },
    { source, clock: new ManualClock() },
  )
  const first = egress.wait(2000, 'signed')
  await assert.rejects(egress.wait(1001, 'server'), (err: unknown) => {
    assert.ok(isTrackerError(err) && err.code === 'EGRESS_QUEUE_FULL')
    return true
  })
  assert.equal(egress.counts.tcpRejected, 1)
  const closing = egress.close()
  await assert.rejects(first, (err: unknown) => isTrackerError(err) && err.code === 'EGRESS_CLOSED')
  assert.equal(egress.close(), closing, 'close() is idempotent')
  await closing
  await assert.rejects(egress.wait(1, 'server'), /closed/)
  assert.equal(egress.admit(1, 'server'), false)
})

test('counters are named per class for the stats table', async () => {
  const egress = new EgressBudget(
    { bytesPerSecond: 10_000, tcpQueueBytes: 0 },
    { source: new OpenSource(), clock: new ManualClock() },
  )
  await egress.ready()
  egress.admit(17, 'cookie')
  const names = egress.counters().map(c => c.name)
  assert.ok(names.includes('egress_dropped_cookie'))
  assert.ok(names.includes('egress_tcp_rejected'))
  assert.equal(egress.counters().find(c => c.name === 'egress_sent_bytes_cookie')?.value, 17)
  await egress.close()
})

test('bytesPerSecond 0 is unlimited; numbers that are not numbers are a TypeError', () => {
  assert.equal(createEgress({ bytesPerSecond: 0, tcpQueueBytes: 0 }), unlimitedEgress)
  // Config values are checked by the option table (egress.*); these are programmer mistakes.
  for (const [options, re] of [
    [{ bytesPerSecond: -1, tcpQueueBytes: 0 }, /bytesPerSecond/],
    [{ bytesPerSecond: NaN, tcpQueueBytes: 0 }, /bytesPerSecond/],
    [{ bytesPerSecond: 1, tcpQueueBytes: -1 }, /tcpQueueBytes/],
    [{ bytesPerSecond: 1, tcpQueueBytes: Infinity }, /tcpQueueBytes/],
  ] as const) {
    assert.throws(() => new EgressBudget(options), { name: 'TypeError', message: re })
  }
})

// Real time, real bottleneck: the one test of the whole path as it runs in the daemon.
test('real time: the budget holds within 10% over a 5-second run', async t => {
  const bytesPerSecond = 200_000
  const egress = new EgressBudget({ bytesPerSecond, tcpQueueBytes: 0 })
  await egress.ready()
  const start = performance.now()
  let sent = 0
  let offered = 0
  while (performance.now() - start < 5000) {
    // Offer four times the budget, 800 bytes per elapsed millisecond, however late the timers
    // run on a loaded machine (the offer catches up with the clock, not with the loop).
    const due = (performance.now() - start) * 800
    while (offered < due) {
      offered += 100
      if (egress.admit(100, 'server')) sent += 100
    }
    await sleep(1)
  }
  const seconds = (performance.now() - start) / 1000
  await egress.close()
  const ratio = sent / seconds / bytesPerSecond
  t.diagnostic(`sent ${ratio.toFixed(3)} of the budget, ${egress.counts.chunks} chunks`)
  assert.ok(offered > sent * 1.5, `the test overloaded the budget (${offered} offered)`)
  assert.ok(
    ratio > 0.9 && ratio < 1.1,
    `sent ${sent} bytes in ${seconds} s: ${ratio} of the budget`,
  )
  assert.ok(egress.counts.chunks < 20 * seconds + 5, `${egress.counts.chunks} bottleneck jobs`)
})

test('real time: under overload the priority order holds', async t => {
  const egress = new EgressBudget({ bytesPerSecond: 100_000, tcpQueueBytes: 0 })
  await egress.ready()
  const start = performance.now()
  // For every 10 ms elapsed the classes offer server 400, signed 600 and cookie 600 bytes: 40%,
  // 60% and 60% of the budget (160% in all). Rounds catch up with the clock when the timers run
  // late on a loaded machine, so the overload holds whatever the scheduling.
  let rounds = 0
  while (performance.now() - start < 4000) {
    const due = Math.floor((performance.now() - start) / 10) + 1
    for (; rounds < due; rounds++) {
      egress.admit(600, 'cookie')
      egress.admit(600, 'signed')
      egress.admit(400, 'server')
    }
    await sleep(10)
  }
  await egress.close()
  const c = egress.counts
  const rate = (p: Priority): number =>
    c.droppedPackets[p] / (c.droppedPackets[p] + c.sentPackets[p])
  t.diagnostic(
    `dropped: cookie ${rate('cookie')}, signed ${rate('signed')}, server ${rate('server')}`,
  )
  assert.ok(rate('server') < 0.1, `server ${rate('server')}`)
  assert.ok(rate('signed') > rate('server') + 0.1, `signed ${rate('signed')}`)
  assert.ok(rate('cookie') > rate('signed') + 0.1, `cookie ${rate('cookie')}`)
})
