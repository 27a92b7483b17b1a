import assert from 'node:assert/strict'
import { type TestContext, after, describe, test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ip16From } from '../../src/crypto/cookie.js'
import { keyOf } from '../../src/store/memory-store.js'
import type { RedisStore } from '../../src/store/redis-store.js'
import { parseIp } from '../../src/wire/endpoint.js'
import type { ServerInfo } from '../../src/wire/record.js'
import { RedisFarm, redisAvailable } from '../helpers/redis.js'
import { T0, fakeKey, fakeRecord } from '../helpers/records.js'
import { until } from '../helpers/signed-records.js'
import { LIMITS, ep, redisStore } from './helpers.js'

/*
 * Two front-ends over one Redis Cluster (three masters): each one's writes reach the other's
 * replica through the change streams within the staleness bound, a replica that missed events
 * resyncs, and both accept each other's cookies and challenge tokens across a rotation.
 */

const key = (i: number): string => keyOf(fakeRecord(i).bytes)
const FOLLOW_MS = 20
/** The staleness bound asserted: follow interval + a round trip, with room for a loaded machine. */
const STALENESS_MS = 3000

describe('replicas over a 3-master cluster', () => {
  let farm: RedisFarm | null = null
  const doomed: (() => void)[] = []
  after(() => {
    for (const f of doomed) f()
  })
  const cluster = async (): Promise<RedisFarm> => {
    farm ??= await RedisFarm.cluster(fn => doomed.push(fn), 3)
    return farm
  }

  /** Two front-ends over the same keyspace, one clock. */
  async function pair(
    t: TestContext,
    o: { buckets?: number; streamMax?: number; followB?: number } = {},
  ): Promise<{ a: RedisStore; b: RedisStore; clock: ManualClock } | null> {
    if (!redisAvailable(t)) return null
    const f = await cluster()
    const clock = new ManualClock(T0 * 1000)
    const prefix = `r${process.pid}x${Math.floor(Math.random() * 1e9)}`
    const common = { prefix, clock, buckets: o.buckets ?? 8, streamMax: o.streamMax ?? 2000 }
    const a = (await redisStore(f.url, LIMITS, { ...common, followIntervalMs: FOLLOW_MS })).store
    const b = (
      await redisStore(f.url, LIMITS, { ...common, followIntervalMs: o.followB ?? FOLLOW_MS })
    ).store
    t.after(async () => {
      await a.close()
      await b.close()
    })
    return { a, b, clock }
  }

  test('what one front-end writes, the other serves within the staleness bound', async t => {
    const p = await pair(t)
    if (p === null) return
    const { a, b } = p
    let worst = 0
    for (let i = 1; i <= 40; i++) {
      const r = await a.put(
        fakeRecord(i, {
          server: i % 2 === 0 ? serverInfo(i) : null,
          kind: i % 2 === 0 ? 'server' : 'peer',
        }),
        ep(`10.9.${i}.1`, 2000 + i),
      )
      assert.equal(r.status, 'new')
      const acked = Date.now()
      await until(() => b.table.peek(key(i)) !== undefined, STALENESS_MS, `entry ${i} on B`)
      worst = Math.max(worst, Date.now() - acked)
    }
    assert.ok(worst <= STALENESS_MS, `worst lag ${worst} ms`)
    // Server facts for list and best come with the record: the replica's entry has them.
    assert.equal(b.table.peek(key(2))?.server?.name, 'srv 2')
    assert.deepEqual(b.table.peek(key(3))?.observed ?? ep('10.9.3.1', 2003), ep('10.9.3.1', 2003))
    // Replacements, withdrawals and deletions travel too, in either direction.
    assert.equal((await b.put(fakeRecord(1, { seq: 2 }), ep('10.9.1.1'))).status, 'replaced')
    await until(() => a.table.peek(key(1))?.seq === 2, STALENESS_MS, 'seq 2 on A')
    assert.equal(await a.withdraw(fakeRecord(3, { seq: 2, issuedAt: T0, expiresAt: T0 })), true)
    await until(() => b.table.peek(key(3)) === undefined, STALENESS_MS, 'withdrawal on B')
    assert.equal(await b.delete(key(4)), true)
    await until(() => a.table.peek(key(4)) === undefined, STALENESS_MS, 'delete on A')
    // The replica refuses what the store would: B knows A's withdrawal without asking Redis.
    assert.equal((await b.put(fakeRecord(3, { seq: 2 }), ep('10.9.3.1'))).status, 'stale')
  })

  test('a replica that missed trimmed events resyncs and converges', async t => {
    // B polls once an hour: everything A writes meanwhile is trimmed off the one small stream.
    const p = await pair(t, { buckets: 1, streamMax: 10, followB: 3_600_000 })
    if (p === null) return
    const { a, b } = p
    await a.put(fakeRecord(100), ep('10.8.0.1'))
    await b.follower.poll()
    assert.ok(b.table.peek(key(100)) !== undefined)
    assert.equal(await a.delete(key(100)), true)
    for (let i = 101; i <= 400; i++)
      await a.put(fakeRecord(i), ep(`10.8.${i % 250}.${1 + (i % 200)}`))
    const gaps = b.follower.counts.gaps
    while (await b.follower.poll()) {
      // until no bucket returns a full batch
    }
    await b.follower.poll()
    assert.ok(b.follower.counts.gaps > gaps, 'the gap was seen')
    assert.equal(b.table.peek(key(100)), undefined, 'deleted during the gap: gone after resync')
    for (let i = 101; i <= 400; i++) assert.ok(b.table.peek(key(i)) !== undefined, `entry ${i}`)
    assert.equal(b.table.size, a.table.size)
  })

  test("shared secret: each accepts the other's cookies and tokens, across one rotation", async t => {
    const p = await pair(t)
    if (p === null) return
    const { a, b, clock } = p
    const ip16 = ip16From(parseIp('10.7.0.1') as Uint8Array)
    const now = Math.floor(clock.now() / 1000)
    assert.equal(a.secrets.generation, b.secrets.generation)
    const cookieA = a.secrets.issueCookie(now, ip16, 4000)
    assert.ok(b.secrets.checkCookie(cookieA, now + 1, ip16, 4000))
    assert.ok(!b.secrets.checkCookie(cookieA, now + 1, ip16, 4001), 'bound to the source')
    const subject = { publicKey: fakeKey(1), network: 'testnet', ip16, port: 4000 }
    const tokenB = b.secrets.tokens.issue(now, subject)
    assert.equal(a.secrets.checkToken(tokenB, subject, now + 1, 30), now)
    // One rotation: B rotates (the first to see it due), A adopts it at its next poll.
    const gen = a.secrets.generation
    clock.advance(3_600_000)
    await b.pollSecrets()
    await a.pollSecrets()
    assert.equal(a.secrets.generation, gen + 1)
    assert.equal(b.secrets.generation, gen + 1)
    assert.ok(a.secrets.checkCookie(cookieA, now + 1, ip16, 4000), 'previous still accepted')
    assert.ok(b.secrets.checkCookie(cookieA, now + 1, ip16, 4000))
    assert.equal(b.secrets.checkToken(tokenB, subject, now + 1, 30), now)
    const later = Math.floor(clock.now() / 1000)
    const cookieB = b.secrets.issueCookie(later, ip16, 4000)
    assert.ok(a.secrets.checkCookie(cookieB, later, ip16, 4000), 'new secret shared')
    // A second rotation retires the first secret.
    clock.advance(3_600_000)
    await a.pollSecrets()
    assert.ok(!a.secrets.checkCookie(cookieA, now + 1, ip16, 4000), 'two rotations old: refused')
  })
})

function serverInfo(i: number): ServerInfo {
  return { name: `srv ${i}`, players: i, maxPlayers: 64, world: 'w', version: '1', tags: [] }
}
