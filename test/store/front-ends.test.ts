import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import type { DaemonDeps } from '../../src/tracker/daemon.js'
import { bucketOf, bucketKeys, metaKey } from '../../src/store/layout.js'
import { keyOf } from '../../src/store/memory-store.js'
import { openStore } from '../../src/store/open.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Message } from '../../src/wire/messages.js'
import type { SignedRecord } from '../../src/wire/record.js'
import { testKey } from '../helpers/keys.js'
import { RedisFarm, redisAvailable } from '../helpers/redis.js'
import { ServeProcess } from '../helpers/serve-process.js'
import { until } from '../helpers/signed-records.js'
import { TcpTrackerClient, makeRecord, queryMessage, startTracker } from '../helpers/tracker.js'

/*
 * Real trackers (Daemon, TCP) over a shared store: what one front-end accepts the other serves;
 * a front-end that stops and starts again over the same store loses nothing Redis acknowledged;
 * with Redis gone, queries are answered from the replica and announces get OVERLOADED.
 */

function storeDeps(url: string, prefix: string): Partial<DaemonDeps> {
  return {
    openStore: table =>
      openStore(`${url}?prefix=${prefix}&buckets=8`, {
        table,
        clock: { now: () => Date.now() },
        maxEntries: 1000,
        maxBytes: 10_000_000,
        perBlock: 64,
        perWideBlock: 2048,
        maxTtl: 3600,
        serverTtl: 3600,
        replayMemory: 1000,
        followIntervalMs: 20,
        commandTimeoutMs: 500,
      }),
  }
}

async function client(t: TestContext, port: number): Promise<TcpTrackerClient> {
  const c = await TcpTrackerClient.open('127.0.0.1', port)
  t.after(() => {
    c.close()
  })
  return c
}

const record = (n: number, seq = 1): SignedRecord => {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000), {
    seq,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 5000 + n }],
  })
}

const announce = (r: SignedRecord, txid = 1): Message => ({
  type: 'announce',
  txid,
  cookie: new Uint8Array(12),
  record: r,
})

async function listed(c: TcpTrackerClient): Promise<number> {
  const r = await c.request(queryMessage({ mode: 'sample', count: 100 }))
  if (r?.type !== 'introductions') throw new Error(JSON.stringify(r))
  return r.entries.length
}

test('two front-ends over a 3-master cluster: what one accepts, the other serves', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.cluster(fn => {
    t.after(fn)
  }, 3)
  const deps = storeDeps(farm.url, 'fe')
  const a = await startTracker(t, {}, deps)
  const b = await startTracker(t, {}, deps)
  const ca = await client(t, a.tcp)
  const cb = await client(t, b.tcp)
  for (let n = 1; n <= 10; n++) {
    const r = await ca.request(announce(record(n), n))
    assert.ok(r?.type === 'announce-reply' && r.status === 'new', JSON.stringify(r))
  }
  await until(() => b.daemon.table.size === 10, 5000, 'B holds all ten')
  assert.equal(await listed(cb), 10)
  // A stale replay sent to the other front-end is refused there.
  const again = await cb.request(announce(record(3), 99))
  assert.ok(again?.type !== 'announce-reply' || again.status === 'refreshed')
  // A front-end stopped and started again over the same store loses nothing acknowledged.
  await a.close()
  const a2 = await startTracker(t, {}, deps)
  assert.equal(a2.daemon.table.size, 10)
  assert.equal(await listed(await client(t, a2.tcp)), 10)
})

/**
 * Announce `r` until a reply says the tracker holds it (new, replaced, or refreshed when an
 * earlier try was stored but its reply lost); false past the deadline.
 */
async function announceUntilStored(
  c: TcpTrackerClient,
  r: SignedRecord,
  deadline: number,
): Promise<boolean> {
  while (Date.now() < deadline) {
    const reply = await c.request(announce(r, r.record.seq), 5000).catch(() => null)
    if (reply?.type === 'announce-reply') return true
    await new Promise(res => setTimeout(res, 200))
  }
  return false
}

test('two front-ends over a cluster with replicas: a master killed -9, both recover without a restart', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.cluster(
    fn => {
      t.after(fn)
    },
    3,
    1,
  )
  const deps = storeDeps(farm.url, 'fo')
  const a = await startTracker(t, {}, deps)
  const b = await startTracker(t, {}, deps)
  const ca = await client(t, a.tcp)
  const cb = await client(t, b.tcp)
  for (let n = 1; n <= 20; n++) {
    const r = await (n <= 10 ? ca : cb).request(announce(record(n), n))
    assert.ok(r?.type === 'announce-reply' && r.status === 'new', JSON.stringify(r))
  }
  await until(() => a.daemon.table.size === 20 && b.daemon.table.size === 20, 5000, 'both hold 20')
  // Replication is asynchronous (docs/security.md): the kill comes once the replicas caught up.
  await farm.waitReplicated()
  // Kill the master of record 1's bucket; the records of its buckets are written again below.
  const salt = await farm.hget(metaKey('fo'), 'salt')
  assert.ok(salt !== null)
  const slotOfRecord = async (n: number): Promise<number> =>
    farm.slotOf(bucketKeys('fo', bucketOf(salt, keyOf(record(n).bytes), 8))[0] ?? '')
  const slot = await slotOfRecord(1)
  const master = await farm.masterOf(slot)
  const onDead: number[] = []
  for (let n = 1; n <= 20; n++) {
    if ((await farm.masterOf(await slotOfRecord(n))) === master) onDead.push(n)
  }
  farm.kill(master)
  // Both front-ends write again to the dead master's buckets (after the replica's promotion),
  // without a restart; a generous deadline for a loaded machine, polled.
  const deadline = Date.now() + 60_000
  for (const [i, n] of onDead.entries()) {
    const c = i % 2 === 0 ? ca : cb
    assert.ok(await announceUntilStored(c, record(n, 2), deadline), `record ${n} stored again`)
  }
  assert.ok(await announceUntilStored(ca, record(21), deadline), 'A takes a new key')
  assert.ok(await announceUntilStored(cb, record(22), deadline), 'B takes a new key')
  await until(() => a.daemon.table.size === 22 && b.daemon.table.size === 22, 10_000, 'both 22')
  assert.equal(await listed(ca), 22)
  assert.equal(await listed(cb), 22)
  // Everything acknowledged before the kill is in the cluster: a new front-end loads it all.
  const c = await startTracker(t, {}, deps)
  for (let n = 1; n <= 22; n++) {
    assert.ok(c.daemon.table.peek(keyOf(record(n).bytes)) !== undefined, `entry ${n}`)
  }
})

test('redis gone: queries answered from the replica, announces OVERLOADED; recovery by itself', async t => {
  if (!redisAvailable(t)) return
  const aof = ['--appendonly', 'yes']
  const farm = await RedisFarm.single(fn => {
    t.after(fn)
  }, aof)
  const a = await startTracker(t, {}, storeDeps(farm.url, 'down'))
  const c = await client(t, a.tcp)
  const ok = await c.request(announce(record(1)))
  assert.ok(ok?.type === 'announce-reply' && ok.status === 'new')
  const node = farm.nodes[0]
  assert.ok(node !== undefined)
  farm.kill(node)
  await new Promise(r => setTimeout(r, 300))
  assert.equal(await listed(c), 1)
  const refused = await c.request(announce(record(2), 2), 5000)
  assert.ok(refused?.type === 'error', JSON.stringify(refused))
  assert.equal(refused.code, WireErrorCode.OVERLOADED)
  assert.equal(a.daemon.stats.get('store_unavailable'), 1)
  // Redis back (on its port, with its AOF): the same front-end takes announces again.
  await farm.restart(node, aof)
  assert.ok(await announceUntilStored(c, record(2), Date.now() + 60_000), 'announces accepted')
  assert.equal(await listed(c), 2)
})

test('serve --store: killed with -9 and started again (empty data dir), nothing acknowledged lost', async t => {
  if (!redisAvailable(t)) return
  const farm = await RedisFarm.cluster(fn => {
    t.after(fn)
  }, 3)
  const dirs = [await mkdtemp(join(tmpdir(), 'mt-fe-')), await mkdtemp(join(tmpdir(), 'mt-fe-'))]
  t.after(() => Promise.all(dirs.map(d => rm(d, { recursive: true, force: true }))))
  const args = (data: string): string[] => [
    ...['--host', '127.0.0.1', '--udp', '0', '--tcp', '0', '--http', 'off'],
    ...['--data', data, '--checkpoint-interval', '0', '--list-unproven', 'true'],
    ...['--store', `${farm.url}?prefix=k9&buckets=8`],
  ]
  const first = await ServeProcess.start(t, args(dirs[0] ?? ''))
  const c = await client(t, first.info.tcp)
  for (let n = 1; n <= 20; n++) {
    const r = await c.request(announce(record(n), n))
    assert.ok(r?.type === 'announce-reply' && r.status === 'new', JSON.stringify(r))
  }
  first.p.kill('SIGKILL')
  await first.p.exited()
  const second = await ServeProcess.start(t, args(dirs[1] ?? ''))
  assert.equal(await listed(await client(t, second.info.tcp)), 20)
  second.p.kill('SIGTERM')
  assert.equal(await second.p.exited(), 0, second.p.stderr)
})
