import assert from 'node:assert/strict'
import { type TestContext, after, describe, test } from 'node:test'
import type { ManualClock } from '../../src/clock.js'
import { keyOf } from '../../src/store/memory-store.js'
import type { TableStore } from '../../src/store/types.js'
import { type Cleanup, RedisFarm, redisAvailable } from '../helpers/redis.js'
import { T0, fakeRecord } from '../helpers/records.js'
import { until } from '../helpers/signed-records.js'
import { LIMITS, type Limits, ep, memoryStore, redisStore } from './helpers.js'

/*
 * One table of store semantics, run on the in-memory adapter, on one Redis node and on a Redis
 * Cluster of three masters: what a tracker sees of its store must not depend on which it is.
 */

/** A fresh store, or null when the backend is missing (the test is skipped). */
type Make = (
  t: TestContext,
  l?: Limits,
) => Promise<{ store: TableStore; clock: ManualClock } | null>

const key = (i: number): string => keyOf(fakeRecord(i).bytes)

/** Until the replica (for Redis: fed by the stream) agrees with `check`. */
const converged = (check: () => boolean, what: string): Promise<void> => until(check, 10_000, what)

function semantics(make: Make): void {
  test('seq ordering: higher replaces, equal or lower is stale', async t => {
    const made = await make(t)
    if (made === null) return
    const { store } = made
    assert.equal((await store.put(fakeRecord(1, { seq: 5 }), ep('10.0.0.1'))).status, 'new')
    assert.equal((await store.put(fakeRecord(1, { seq: 6 }), ep('10.0.0.1'))).status, 'replaced')
    assert.equal((await store.put(fakeRecord(1, { seq: 6 }), ep('10.0.0.1'))).status, 'stale')
    assert.equal((await store.put(fakeRecord(1, { seq: 4 }), ep('10.0.0.1'))).status, 'stale')
    assert.equal(store.table.peek(key(1))?.seq, 6)
  })

  test('replay refused after the entry left (deleted): the seq is remembered', async t => {
    const made = await make(t)
    if (made === null) return
    const { store } = made
    await store.put(fakeRecord(2, { seq: 3 }), ep('10.0.0.2'))
    assert.equal(await store.delete(key(2)), true)
    assert.equal(store.table.peek(key(2)), undefined)
    assert.equal((await store.put(fakeRecord(2, { seq: 3 }), ep('10.0.0.2'))).status, 'stale')
    assert.equal((await store.put(fakeRecord(2, { seq: 4 }), ep('10.0.0.2'))).status, 'new')
  })

  test('withdraw: the entry leaves, the record and older ones cannot come back', async t => {
    const made = await make(t)
    if (made === null) return
    const { store } = made
    await store.put(fakeRecord(3, { seq: 1 }), ep('10.0.0.3'))
    const w = fakeRecord(3, { seq: 2, issuedAt: T0, expiresAt: T0 })
    assert.equal(
      await store.withdraw(fakeRecord(3, { seq: 1, issuedAt: T0, expiresAt: T0 })),
      'stale',
    )
    assert.equal(await store.withdraw(w), true)
    assert.equal(store.table.peek(key(3)), undefined)
    assert.equal((await store.put(fakeRecord(3, { seq: 2 }), ep('10.0.0.3'))).status, 'stale')
    assert.equal((await store.put(fakeRecord(3, { seq: 3 }), ep('10.0.0.3'))).status, 'new')
    const w2 = fakeRecord(9, { seq: 7, issuedAt: T0, expiresAt: T0 })
    assert.equal(await store.withdraw(w2), false, 'a key not held is remembered all the same')
    assert.equal((await store.put(fakeRecord(9, { seq: 7 }), ep('10.0.0.9'))).status, 'stale')
  })

  test('per-block cap: a full /24 refuses a new key, a held key may move inside it', async t => {
    const made = await make(t, { ...LIMITS, perBlock: 2 })
    if (made === null) return
    const { store } = made
    assert.equal((await store.put(fakeRecord(10), ep('10.1.1.1'))).status, 'new')
    assert.equal((await store.put(fakeRecord(11), ep('10.1.1.2'))).status, 'new')
    assert.equal((await store.put(fakeRecord(12), ep('10.1.1.3'))).status, 'block-full')
    assert.equal((await store.put(fakeRecord(11, { seq: 2 }), ep('10.1.1.9'))).status, 'replaced')
    assert.equal((await store.put(fakeRecord(12), ep('10.1.2.3'))).status, 'new')
  })

  test('budget: over the count, the least recently announced leaves first (one bucket)', async t => {
    const made = await make(t, { ...LIMITS, maxEntries: 3, buckets: 1 })
    if (made === null) return
    const { store, clock } = made
    for (const i of [20, 21, 22]) {
      assert.equal((await store.put(fakeRecord(i), ep(`10.2.${i}.1`))).status, 'new')
      clock.advance(1000)
    }
    const held = store.table.peek(key(20))
    assert.ok(held !== undefined)
    store.refresh(held)
    clock.advance(1000)
    assert.equal((await store.put(fakeRecord(23), ep('10.2.23.1'))).status, 'new')
    await converged(() => store.table.peek(key(21)) === undefined, 'entry 21 evicted')
    for (const i of [20, 22, 23]) assert.ok(store.table.peek(key(i)) !== undefined, `${i} kept`)
    // An evicted key's seq is remembered: its record cannot be replayed back in.
    assert.equal((await store.put(fakeRecord(21), ep('10.2.21.1'))).status, 'stale')
  })

  test('expiry: an entry past its life is gone, and a record already expired is refused', async t => {
    const made = await make(t, { ...LIMITS, maxTtl: 60 })
    if (made === null) return
    const { store, clock } = made
    await store.put(fakeRecord(30), ep('10.3.0.1'))
    clock.advance(61_000)
    assert.equal(store.table.peek(key(30)), undefined)
    // Gone from the store too: a higher seq comes back as new, not as a replacement.
    assert.equal((await store.put(fakeRecord(30, { seq: 2 }), ep('10.3.0.1'))).status, 'new')
    const dead = fakeRecord(31, { issuedAt: T0 - 100, expiresAt: T0 })
    assert.equal((await store.put(dead, ep('10.3.0.2'))).status, 'table-full')
  })
}

describe('memory store', () => {
  semantics((_t, l) => Promise.resolve(memoryStore(l)))
})

/** Stores over one farm per suite, started at the first test that needs it. */
function redisSuite(start: (cleanup: Cleanup) => Promise<RedisFarm>): void {
  let farm: Promise<RedisFarm> | null = null
  const doomed: (() => void)[] = []
  after(() => {
    for (const f of doomed) f()
  })
  semantics(async (t, l) => {
    if (!redisAvailable(t)) return null
    farm ??= start(fn => doomed.push(fn))
    const s = await redisStore((await farm).url, l)
    t.after(() => s.store.close())
    return s
  })
}

describe('redis store, one node', () => {
  redisSuite(cleanup => RedisFarm.single(cleanup))
})

describe('redis store, cluster of three masters', () => {
  redisSuite(cleanup => RedisFarm.cluster(cleanup, 3))
})
