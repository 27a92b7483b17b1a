import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isTrackerError } from '../../src/errors.js'
import { keyOf } from '../../src/store/memory-store.js'
import { bucketKeys } from '../../src/store/layout.js'
import { RedisFarm, redisAvailable } from '../helpers/redis.js'
import { fakeRecord } from '../helpers/records.js'
import { until } from '../helpers/signed-records.js'
import { LIMITS, ep, redisStore } from './helpers.js'

/*
 * Failure behaviour of the Redis store (docs/scale-out.md §7): Redis gone → writes refused with
 * STORE_UNAVAILABLE at once, reads from the replica go on, and the store recovers by itself; too
 * many pending writes → STORE_BUSY; a master killed in a cluster with replicas → writes resume
 * once its replica is promoted, and nothing acknowledged is lost.
 */

const key = (i: number): string => keyOf(fakeRecord(i).bytes)

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (err) {
    return isTrackerError(err) ? err.code : `uncoded: ${(err as Error).message}`
  }
}

test('redis down: writes refused (STORE_UNAVAILABLE), reads go on, recovery by itself', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.single(
    fn => {
      t.after(fn)
    },
    ['--appendonly', 'yes'],
  )
  const { store } = await redisStore(farm.url, LIMITS, { commandTimeoutMs: 500 })
  t.after(() => store.close())
  assert.equal((await store.put(fakeRecord(1), ep('10.6.0.1'))).status, 'new')
  const node = farm.nodes[0]
  assert.ok(node !== undefined)
  farm.kill(node)
  const started = Date.now()
  await until(() => !store.available, 10_000, 'store seen down')
  assert.equal(await code(store.put(fakeRecord(2), ep('10.6.0.2'))), 'STORE_UNAVAILABLE')
  assert.equal(await code(store.withdraw(fakeRecord(1, { seq: 5 }))), 'STORE_UNAVAILABLE')
  assert.ok(Date.now() - started < 10_000, 'refused quickly, never hanging')
  // Reads are the replica's: still there.
  assert.ok(store.table.peek(key(1)) !== undefined)
  const held = store.table.peek(key(1))
  if (held !== undefined) store.refresh(held)
  assert.ok(store.counts.refreshDropped >= 1, 'a refresh while down is dropped, not queued')
  await farm.restart(node, ['--appendonly', 'yes'])
  await until(() => store.available, 20_000, 'store reconnected')
  let status = ''
  const deadline = Date.now() + 20_000
  while (status !== 'new' && Date.now() < deadline) {
    status = await store.put(fakeRecord(2), ep('10.6.0.2')).then(
      r => r.status,
      () => '',
    )
    if (status !== 'new') await new Promise(r => setTimeout(r, 100))
  }
  assert.equal(status, 'new')
  assert.equal((await store.put(fakeRecord(1), ep('10.6.0.1'))).status, 'stale', 'kept by AOF')
})

test('too many pending writes: refused with STORE_BUSY', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.single(fn => {
    t.after(fn)
  })
  const { store } = await redisStore(farm.url, LIMITS, { maxPending: 2 })
  t.after(() => store.close())
  const results = await Promise.all(
    Array.from({ length: 12 }, (_, i) => code(store.put(fakeRecord(200 + i), ep(`10.5.${i}.1`)))),
  )
  assert.ok(results.includes('STORE_BUSY'), results.join(','))
  assert.ok(results.includes('ok'))
  assert.equal(store.pending, 0)
})

test('a master killed: its replica takes over, writes resume, nothing acknowledged lost', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.cluster(
    fn => {
      t.after(fn)
    },
    3,
    1,
  )
  const url = farm.url
  const { store: a, clock } = await redisStore(url, LIMITS, { buckets: 8, prefix: 'fo' })
  t.after(() => a.close())
  for (let i = 1; i <= 60; i++) {
    assert.equal((await a.put(fakeRecord(i), ep(`10.4.${i}.1`))).status, 'new')
  }
  // WAIT for the replicas is not part of a write: give replication a moment before the kill.
  await new Promise(r => setTimeout(r, 300))
  const slot = await farm.slotOf(bucketKeys('fo', 0)[0] ?? '')
  const master = await farm.masterOf(slot)
  farm.kill(master)
  await farm.waitFailover(master, slot)
  // Writes to every bucket resume without a restart of the front-end.
  let next = 61
  const deadline = Date.now() + 30_000
  let ok = 0
  while (ok < 20 && Date.now() < deadline) {
    const r = await code(a.put(fakeRecord(next), ep(`10.4.${next % 250}.2`)))
    if (r === 'ok') {
      ok++
      next++
    } else await new Promise(r2 => setTimeout(r2, 100))
  }
  assert.equal(ok, 20, 'writes resumed')
  // A new front-end loads everything from the cluster: all 60 acknowledged entries are there.
  const { store: c } = await redisStore(url, LIMITS, { buckets: 8, prefix: 'fo', clock })
  t.after(() => c.close())
  for (let i = 1; i < next; i++) assert.ok(c.table.peek(key(i)) !== undefined, `entry ${i}`)
})
