import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { DEFAULT_FLOOD, FloodControl } from '../../src/throttle/flood.js'
import type { Source } from '../../src/tracker/handlers/index.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { UdpProbe } from '../helpers/udp.js'
import { UdpTrackerClient, makeRecord, queryMessage, startTracker } from '../helpers/tracker.js'
import { prng } from '../helpers/prng.js'

/*
 * Spoofed UDP sources (docs/protocol.md §8.2, docs/operations.md "Flood control"). A UDP source
 * address costs an attacker nothing to forge, so nothing an unvalidated datagram does may touch
 * per-source state. Forged traffic is simulated with fake source objects given to the
 * socket-free handler: nothing is sent anywhere. The loopback test uses 127.0.0.1 only.
 */

/** A random unicast-looking IPv4 or IPv6 source (never used as a destination). */
function forgedSource(h: ReturnType<typeof harness>, rand: () => number): Source {
  const port = 1 + Math.floor(rand() * 65535)
  if (rand() < 0.8) {
    const o = (): number => Math.floor(rand() * 256)
    return h.source(`${1 + Math.floor(rand() * 222)}.${o()}.${o()}.${o()}`, port)
  }
  const g = (): string => Math.floor(rand() * 0x10000).toString(16)
  return h.source(`2001:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`, port)
}

/** Forged datagrams of every unvalidated kind: cookie requests and requests with bad cookies. */
function forgedDatagram(i: number, rand: () => number): Uint8Array {
  const junkCookie = new Uint8Array(12).map(() => Math.floor(rand() * 256))
  switch (i % 4) {
    case 0:
      return encodeMessage({ type: 'cookie-request', txid: i })
    case 1:
      return encodeMessage({ ...queryMessage({ txid: i }), cookie: junkCookie })
    case 2:
      return encodeMessage({ type: 'stats-request', txid: i, cookie: junkCookie })
    default:
      return encodeMessage({ ...queryMessage({ txid: i }), cookie: new Uint8Array(12) })
  }
}

test('600 cookie-less datagrams forged from a victim do not silence its validated requests', () => {
  const clock = new ManualClock()
  const flood = new FloodControl(DEFAULT_FLOOD, { clock })
  const h = harness({}, { flood, clock })
  const victim = h.source('192.0.2.7', 5000)
  // The attacker forges the victim's address: cookie requests, queries without a cookie and with
  // a junk cookie, all in the same instant (far beyond the victim's burst of 40).
  for (let i = 0; i < 600; i++) {
    const bytes =
      i % 3 === 0
        ? encodeMessage({ type: 'cookie-request', txid: i })
        : encodeMessage({
            ...queryMessage({ txid: i }),
            cookie: i % 3 === 1 ? new Uint8Array(12) : new Uint8Array(12).fill(i & 0xff),
          })
    h.raw(bytes, victim)
  }
  assert.equal(h.stats.get('dropped_flood'), 0)
  assert.equal(flood.sources, 0, 'no bucket for an unvalidated source')
  // The victim itself, with a valid cookie, is answered.
  const reply = h.send(queryMessage({ txid: 9999 }), victim)
  assert.equal(reply?.type, 'introductions')
  assert.equal(reply.txid, 9999)
  assert.equal(flood.sources, 1)
  // And so is its announce.
  const k = testKey(1)
  const record = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
  const ann = h.send({ type: 'announce', txid: 3, cookie: new Uint8Array(12), record }, victim)
  assert.equal(ann?.type, 'announce-reply')
})

test('a forged flood from 50,000 sources neither starves validated clients nor churns the flood table', () => {
  const clock = new ManualClock()
  const flood = new FloodControl(DEFAULT_FLOOD, { clock })
  const h = harness({}, { flood, clock })
  const rand = prng(0x5eed)
  const clients = Array.from({ length: 200 }, (_, i) =>
    h.source(`10.${1 + (i >> 8)}.${i & 0xff}.1`, 20_000 + i),
  )
  // Each client holds a cookie and has been served once: 200 buckets.
  for (const c of clients) assert.equal(h.send(queryMessage(), c)?.type, 'introductions')
  const before = { sources: flood.sources, evicted: flood.counts.evicted }
  assert.equal(before.sources, 200)

  let asked = 0
  let served = 0
  let forgedIn = 0
  let forgedOut = 0
  const client = (n: number): void => {
    const c = clients[asked % clients.length] as Source
    asked++
    if (h.send(queryMessage({ txid: n }), c)?.type === 'introductions') served++
  }
  const forge = (i: number): void => {
    const bytes = forgedDatagram(i, rand)
    forgedIn += bytes.byteLength
    const reply = h.raw(bytes, forgedSource(h, rand))
    if (reply === null) return
    assert.ok(reply.bytes.byteLength <= bytes.byteLength, 'reply larger than its request')
    assert.equal(decodeMessage(reply.bytes).type, 'cookie-reply')
    forgedOut += reply.bytes.byteLength
  }
  // 50,000 forged datagrams in one simulated second (2.5x the global cookie budget), one
  // validated query after every 25.
  for (let i = 0; i < 50_000; i++) {
    forge(i)
    if (i % 50 === 49) clock.advance(1)
    if (i % 25 === 24) client(i)
  }
  assert.equal(flood.counts.evicted, 0, 'forged sources evicted flood buckets')
  assert.equal(flood.sources, 200, 'forged sources created flood buckets')
  assert.ok(served / asked >= 0.99, `validated success rate ${served / asked} under the flood`)
  assert.ok(h.stats.get('dropped_cookie_budget') > 0, 'the budget was exceeded')
  // Phase 2: every client's cookie has expired; the flood goes on. Clients renew (their expired
  // cookie proves their address, so the drained global budget does not apply) and query again.
  clock.advance(150_000)
  let renewed = 0
  for (let i = 0; i < 20_000; i++) {
    forge(50_000 + i)
    if (i % 50 === 49) clock.advance(1)
    if (i % 100 === 99) {
      const c = clients[((i / 100) % clients.length) | 0] as Source
      // A cookie this tracker issued to this client 150 s ago: expired, but authentic.
      const reply = h.raw(
        encodeMessage({ ...queryMessage({ txid: i }), cookie: cookieAt(h, c, -150) }),
        c,
      )
      asked++
      if (reply !== null && decodeMessage(reply.bytes).type === 'cookie-reply') {
        renewed++
        if (h.send(queryMessage({ txid: i }), c)?.type === 'introductions') served++
      }
    }
  }
  const rate = served / asked
  const after = { sources: flood.sources, evicted: flood.counts.evicted }
  // Figures for docs/security.md (printed with the test output).
  console.log(
    JSON.stringify({
      validatedAsked: asked,
      validatedServed: served,
      successRate: rate,
      renewed,
      forgedBytesIn: forgedIn,
      forgedBytesOut: forgedOut,
      amplification: forgedOut / forgedIn,
      cookiesIssued: h.stats.get('cookies_issued'),
      droppedCookieBudget: h.stats.get('dropped_cookie_budget'),
      floodBefore: before,
      floodAfter: after,
    }),
  )
  assert.ok(rate >= 0.99, `validated success rate ${rate}`)
  assert.equal(renewed, 200)
  assert.deepEqual(after, before, 'forged sources created or evicted flood buckets')
  assert.ok(forgedOut <= forgedIn)
  assert.equal(h.stats.get('dropped_flood'), 0)
})

/** A cookie this harness's tracker issued to `src`, `offset` seconds from now. */
function cookieAt(h: ReturnType<typeof harness>, src: Source, offset: number): Uint8Array {
  const clock = h.clock
  clock.advance(offset * 1000)
  const c = h.cookieFor(src)
  clock.advance(-offset * 1000)
  return c
}

test('loopback: validated clients are answered while a flood of cookie requests arrives', async t => {
  // One address (127.0.0.1) for clients and flooder alike: with the flood bucket charged before
  // the cookie check, the flooder's cookie requests would silence the clients.
  const flood = new FloodControl({ rate: 200, burst: 400, sources: 10_000 })
  const tr = await startTracker(t, { cookieRate: 2000 }, { flood })
  const clients = await Promise.all(
    Array.from({ length: 10 }, () => UdpTrackerClient.open('127.0.0.1', tr.udp)),
  )
  t.after(() => Promise.all(clients.map(c => c.close())))
  const flooder = await UdpProbe.open('127.0.0.1')
  t.after(() => flooder.close())

  const FLOOD = 20_000
  let flooding = true
  const floodDone = (async () => {
    const req = encodeMessage({ type: 'cookie-request', txid: 1 })
    const junk = encodeMessage({ ...queryMessage(), cookie: new Uint8Array(12).fill(1) })
    for (let sent = 0; sent < FLOOD;) {
      for (let j = 0; j < 100; j++, sent++) flooder.send(sent % 2 ? req : junk, tr.udp, '127.0.0.1')
      flooder.drain()
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    flooding = false
  })()
  let asked = 0
  let served = 0
  await Promise.all(
    clients.map(async (c, n) => {
      for (let i = 0; i < 20; i++) {
        asked++
        const r = await c.request(queryMessage({ txid: n * 100 + i }), 5000)
        if (r?.type === 'introductions') served++
      }
    }),
  )
  const duringFlood = flooding
  await floodDone
  const stats = tr.daemon.stats
  const figures = {
    asked,
    served,
    duringFlood,
    floodSent: FLOOD,
    received: stats.get('udp_received'),
    cookiesIssued: stats.get('cookies_issued'),
    droppedCookieBudget: stats.get('dropped_cookie_budget'),
    droppedFlood: stats.get('dropped_flood'),
    queueOverflow: stats.get('udp_queue_overflow'),
  }
  console.log(JSON.stringify(figures))
  assert.ok(served / asked >= 0.99, JSON.stringify(figures))
  assert.equal(stats.get('dropped_flood'), 0)
  assert.equal(flood.sources, 1, 'only the validated clients address has a bucket')
})
