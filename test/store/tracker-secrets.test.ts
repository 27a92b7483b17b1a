import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { openStore } from '../../src/store/open.js'
import { RedisStore } from '../../src/store/redis-store.js'
import type { DaemonDeps } from '../../src/tracker/daemon.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { keyOf } from '../../src/store/memory-store.js'
import { testKey } from '../helpers/keys.js'
import { RedisFarm, redisAvailable } from '../helpers/redis.js'
import { until } from '../helpers/signed-records.js'
import { UdpProbe } from '../helpers/udp.js'
import { type TestTracker, makeRecord, queryMessage, startTracker } from '../helpers/tracker.js'

/*
 * Real trackers over one shared store (docs/scale-out.md §4): a cookie one front-end issued is
 * accepted by another across one rotation of the shared secret, and refused after two; a
 * challenge one front-end sent is proven by a reply that reaches another.
 */

const HOUR_MS = 3_600_000

/** A store dependency whose stores are kept (to poll their secrets) on one manual clock. */
function sharedDeps(url: string, clock: ManualClock, stores: RedisStore[]): Partial<DaemonDeps> {
  const prefix = `s${process.pid}x${Math.floor(Math.random() * 1e9)}`
  return {
    openStore: async table => {
      const s = await openStore(`${url}?prefix=${prefix}&buckets=8`, {
        table,
        clock,
        maxEntries: 1000,
        maxBytes: 10_000_000,
        perBlock: 64,
        perWideBlock: 2048,
        maxTtl: 3600,
        serverTtl: 3600,
        replayMemory: 1000,
        followIntervalMs: 20,
        commandTimeoutMs: 2000,
      })
      assert.ok(s instanceof RedisStore)
      stores.push(s)
      return s
    },
  }
}

/** One rotation: the first store rotates, every other adopts it. */
async function rotate(clock: ManualClock, stores: RedisStore[]): Promise<void> {
  clock.advance(HOUR_MS)
  for (const s of stores) await s.pollSecrets()
}

async function ask(probe: UdpProbe, m: Message, to: TestTracker): Promise<Message> {
  const reply = await probe.request(encodeMessage(m), to.udp, '127.0.0.1', 5000)
  if (reply === null) throw new Error('no reply')
  return decodeMessage(reply)
}

async function cookieFrom(probe: UdpProbe, tracker: TestTracker): Promise<Uint8Array> {
  const m = await ask(probe, { type: 'cookie-request', txid: 1 }, tracker)
  assert.ok(m.type === 'cookie-reply', m.type)
  return m.cookie
}

async function probes(t: TestContext, n: number): Promise<UdpProbe[]> {
  const out: UdpProbe[] = []
  for (let i = 0; i < n; i++) {
    const p = await UdpProbe.open('127.0.0.1')
    t.after(() => p.close())
    out.push(p)
  }
  return out
}

test("cookies: one front-end's cookie accepted by another across one rotation, refused after two", async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.single(fn => {
    t.after(fn)
  })
  const clock = new ManualClock(Date.now())
  const stores: RedisStore[] = []
  const deps = sharedDeps(farm.url, clock, stores)
  const a = await startTracker(t, {}, deps)
  const b = await startTracker(t, {}, deps)
  const [p1, p2] = await probes(t, 2)
  assert.ok(p1 !== undefined && p2 !== undefined)
  const c1 = await cookieFrom(p1, a)
  const c2 = await cookieFrom(p2, a)
  const query = (cookie: Uint8Array): Message => ({ ...queryMessage(), cookie })
  await rotate(clock, stores)
  // Issued by A before the rotation: B (and A) accept it with the previous secret.
  assert.equal((await ask(p1, query(c1), b)).type, 'introductions')
  assert.equal((await ask(p1, query(c1), a)).type, 'introductions')
  await rotate(clock, stores)
  // Two rotations old (a cookie B never saw): refused, a fresh cookie is offered instead.
  assert.equal((await ask(p2, query(c2), b)).type, 'cookie-reply')
  assert.equal(b.daemon.stats.get('cookies_issued'), 1)
})

test('challenges: a reply reaching another front-end than the one that challenged proves the endpoint', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.single(fn => {
    t.after(fn)
  })
  const clock = new ManualClock(Date.now())
  const stores: RedisStore[] = []
  const deps = sharedDeps(farm.url, clock, stores)
  const options = { listUnproven: false }
  const a = await startTracker(t, options, deps)
  const b = await startTracker(t, options, deps)
  const [node] = await probes(t, 1)
  assert.ok(node !== undefined)
  const k = testKey(1)
  const r = makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000), {
    endpoints: [{ family: 4, address: '127.0.0.1', port: node.port }],
  })
  // Announced to A from another port than the endpoint's: A challenges the endpoint.
  const [sender] = await probes(t, 1)
  assert.ok(sender !== undefined)
  const senderCookie = await cookieFrom(sender, a)
  const ack = await ask(sender, { type: 'announce', txid: 7, cookie: senderCookie, record: r }, a)
  assert.ok(ack.type === 'announce-reply', ack.type)
  const challenge = await node.next(5000)
  assert.ok(challenge !== null, 'A challenged the endpoint')
  const m = decodeMessage(challenge)
  assert.ok(m.type === 'challenge', m.type)
  const key = keyOf(r.bytes)
  await until(() => b.daemon.table.peek(key) !== undefined, 5000, 'B holds the entry')
  // The reply goes to B (as behind one shared address), not to A.
  node.send(encodeMessage({ ...m, type: 'challenge-reply' }), b.udp, '127.0.0.1')
  await until(() => b.daemon.stats.get('challenge_proofs') === 1, 5000, 'B proved it')
  assert.equal(a.daemon.stats.get('challenge_proofs'), 0)
  // The proof travels through the store: A's replica learns it and A lists the entry.
  await until(() => (a.daemon.table.peek(key)?.proven ?? 0) !== 0, 5000, 'A learned the proof')
  const [asker] = await probes(t, 1)
  assert.ok(asker !== undefined)
  const askCookie = await cookieFrom(asker, a)
  const listed = await ask(asker, { ...queryMessage(), cookie: askCookie }, a)
  assert.ok(listed.type === 'introductions' && listed.entries.length === 1, listed.type)
})
