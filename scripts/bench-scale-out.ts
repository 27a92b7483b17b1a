// The shared store's costs, measured on loopback with our own redis-server processes.
// Usage: npm run bench:scale-out [-- --entries 20000 --concurrency 64 --buckets 64]
//
// For one Redis node and a Redis Cluster of three masters (test/helpers/redis.ts starts them in
// a temp dir, on free ports, and kills them at the end): store writes (put, refresh) from one
// front-end process with `concurrency` in flight, Redis's own CPU per script call (INFO
// commandstats usec_per_call: the per-shard ceiling is 1e6 / that), the Redis commands one
// announce costs, memory per entry (MEMORY USAGE of the table keys, and of the streams apart),
// and how fast a second front-end loads the whole table (resync) and follows the streams. Then
// redis-benchmark's plain SET for scale. Figures go to stdout as a Markdown table; the capacity
// model in docs/scale-out.md is built from them. Not a test: wall-clock figures depend on load.
import { execFileSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { ManualClock } from '../src/clock.js'
import { ClientTable } from '../src/table/client-table.js'
import { rawPublicKey } from '../src/crypto/ed25519.js'
import { signRecord } from '../src/crypto/record-sign.js'
import { keyOf } from '../src/store/memory-store.js'
import { openStore } from '../src/store/open.js'
import type { SignedRecord } from '../src/wire/record.js'
import { TcpTrackerClient, startTracker } from '../test/helpers/tracker.js'
import { RedisStore } from '../src/store/redis-store.js'
import { parseStoreUrl } from '../src/store/url.js'
import { RedisFarm } from '../test/helpers/redis.js'
import { T0, fakeRecord } from '../test/helpers/records.js'

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    buckets: { type: 'string', default: '64' },
  },
})
const N = Number(values.entries)
const C = Number(values.concurrency)
const B = Number(values.buckets)

const cleanup: (() => void)[] = []
const onExit = (): void => {
  for (const f of cleanup.splice(0)) f()
}
process.on('exit', onExit)

function table(clock: ManualClock): ClientTable {
  return new ClientTable({
    maxEntries: 4 * N,
    maxBytes: 4 * N * 2000,
    maxTtl: 3600,
    perBlockMax: 1e9,
    perWideBlockMax: 1e9,
    replayMemory: N,
    clock,
  })
}

async function open(url: string, prefix: string, clock: ManualClock): Promise<RedisStore> {
  const spec = parseStoreUrl(`${url}?prefix=${prefix}&buckets=${B}`)
  if (spec.kind === 'memory') throw new Error('memory')
  return RedisStore.open(spec, {
    table: table(clock),
    clock,
    maxEntries: 2 * N,
    maxBytes: 2 * N * 2000,
    perBlock: 1e6,
    perWideBlock: 1e6,
    maxTtl: 3600,
    serverTtl: 3600,
    replayMemory: N,
    maxPending: 4 * C,
  })
}

/** Run `total` tasks with `C` in flight; returns per second. */
async function pump(total: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < total) await task(next++)
    }),
  )
  return total / (Number(process.hrtime.bigint() - t0) / 1e9)
}

async function masters(farm: RedisFarm): Promise<Redis[]> {
  const out: Redis[] = []
  for (const n of farm.nodes) {
    const c = new Redis({ host: '127.0.0.1', port: n.port })
    cleanup.push(() => {
      c.disconnect()
    })
    const role = await c.role()
    if (role[0] === 'master') out.push(c)
  }
  return out
}

async function evalStats(nodes: Redis[]): Promise<{ calls: number; usec: number }> {
  let calls = 0
  let usec = 0
  for (const c of nodes) {
    const info = await c.info('commandstats')
    for (const cmd of ['evalsha', 'eval']) {
      const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+)`).exec(info)
      if (m !== null) {
        calls += Number(m[1])
        usec += Number(m[2])
      }
    }
  }
  return { calls, usec }
}

async function reset(nodes: Redis[]): Promise<void> {
  for (const c of nodes) await c.config('RESETSTAT')
}

/** MEMORY USAGE summed over the keys of `prefix`: [table keys, streams]. */
async function memory(nodes: Redis[], prefix: string): Promise<[number, number]> {
  let tableBytes = 0
  let streamBytes = 0
  for (const c of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `{${prefix}:*`, 'COUNT', 1000)
      cursor = next
      for (const k of keys) {
        const bytes = Number(await c.memory('USAGE', k, 'SAMPLES', '0'))
        if (k.endsWith('x')) streamBytes += bytes
        else tableBytes += bytes
      }
    } while (cursor !== '0')
  }
  return [tableBytes, streamBytes]
}

interface Row {
  target: string
  puts: number
  refreshes: number
  usecPut: number
  usecRefresh: number
  tableBytes: number
  streamBytes: number
  resync: number
  follow: number
}

async function measure(target: string, farm: RedisFarm): Promise<Row> {
  const nodes = await masters(farm)
  const clock = new ManualClock(T0 * 1000)
  const prefix = `bench${Date.now() % 100000}`
  const a = await open(farm.url, prefix, clock)
  cleanup.push(() => void a.close())
  const records = Array.from({ length: N }, (_, i) =>
    fakeRecord(i + 1, { endpoints: [{ family: 4, address: '192.0.2.1', port: 4000 }] }),
  )
  const ep = (i: number) => ({
    family: 4 as const,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 4000,
  })
  await reset(nodes)
  const puts = await pump(N, i => a.put(records[i] as (typeof records)[number], ep(i)))
  const p = await evalStats(nodes)
  const [tableBytes, streamBytes] = await memory(nodes, prefix)
  await reset(nodes)
  const refreshes = await pump(N, async i => {
    const e = a.table.peek(keyOf((records[i] as (typeof records)[number]).bytes))
    if (e !== undefined) a.refresh(e)
    while (a.pending > C) await new Promise(r => setImmediate(r))
  })
  while (a.pending > 0) await new Promise(r => setTimeout(r, 5))
  const r = await evalStats(nodes)
  // A second front-end: load everything (resync), then follow N more writes.
  let t0 = process.hrtime.bigint()
  const b = await open(farm.url, prefix, clock)
  cleanup.push(() => void b.close())
  const resync = b.table.size / (Number(process.hrtime.bigint() - t0) / 1e9)
  const more = records.map(rec => fakeRecord(0, { publicKey: rec.record.publicKey, seq: 2 }))
  await pump(N, i => a.put(more[i] as (typeof more)[number], ep(i)))
  t0 = process.hrtime.bigint()
  const lastKey = keyOf((more[N - 1] as (typeof more)[number]).bytes)
  const deadline = Date.now() + 120_000
  while (b.table.peek(lastKey)?.seq !== 2 && Date.now() < deadline) {
    await new Promise(res => setTimeout(res, 5))
  }
  const followMs = Number(process.hrtime.bigint() - t0) / 1e6
  await a.close()
  await b.close()
  return {
    target,
    puts,
    refreshes,
    usecPut: p.usec / Math.max(1, p.calls),
    usecRefresh: r.usec / Math.max(1, r.calls),
    tableBytes: tableBytes / N,
    streamBytes: streamBytes / N,
    resync,
    follow: followMs,
  }
}

/**
 * Whole trackers (Daemon, in this process) taking fresh signed announces over TCP: the
 * in-memory default, then 1 and 2 front-ends over the cluster (the load split between them).
 * Signing happens before the clock starts; the daemons verify in this thread (no pool).
 */
async function trackers(cluster: RedisFarm): Promise<string[]> {
  const count = Math.min(N, 6000)
  const at = Math.floor(Date.now() / 1000)
  const records = Array.from({ length: count }, () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    return signRecord(
      {
        network: 'bench',
        publicKey: rawPublicKey(privateKey),
        seq: 1,
        issuedAt: at,
        expiresAt: at + 3600,
        kind: 'peer',
        endpoints: [{ family: 4, address: '0.0.0.0', port: 5000 }],
        server: null,
      },
      privateKey,
    )
  })
  const options = {
    perBlock: 1_000_000,
    perWideBlock: 1_000_000,
    tcpMaxPerSource: 64,
    verifyWorkers: 0,
  }
  const storeDeps = (prefix: string) => ({
    openStore: (t: ClientTable) =>
      openStore(`${cluster.url}?prefix=${prefix}&buckets=${B}`, {
        table: t,
        clock: { now: () => Date.now() },
        maxEntries: 100_000,
        maxBytes: 64 * 1024 * 1024,
        perBlock: 1_000_000,
        perWideBlock: 1_000_000,
        maxTtl: 3600,
        serverTtl: 3600,
        replayMemory: 100_000,
      }),
  })
  const out: string[] = []
  const runs: [string, number, boolean][] = [
    ['in-memory tracker', 1, false],
    ['1 front-end over the cluster', 1, true],
    ['2 front-ends over the cluster', 2, true],
  ]
  for (const [label, fronts, shared] of runs) {
    const prefix = `tb${Date.now() % 100000}`
    const ts = await Promise.all(
      Array.from({ length: fronts }, () =>
        startTracker(null, options, shared ? storeDeps(prefix) : {}),
      ),
    )
    const clients = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        TcpTrackerClient.open('127.0.0.1', (ts[i % fronts] as (typeof ts)[number]).tcp),
      ),
    )
    let next = 0
    let ok = 0
    const t0 = process.hrtime.bigint()
    await Promise.all(
      clients.map(async c => {
        while (next < count) {
          const i = next++
          const r = await c.request({
            type: 'announce',
            txid: i & 0xffff,
            cookie: new Uint8Array(12),
            record: records[i] as SignedRecord,
          })
          if (r?.type === 'announce-reply') ok++
        }
      }),
    )
    const rate = ok / (Number(process.hrtime.bigint() - t0) / 1e9)
    for (const c of clients) c.close()
    await Promise.all(ts.map(t => t.close()))
    out.push(`| ${label} | ${rate.toFixed(0)} | ${ok} of ${count} |`)
  }
  return out
}

function redisBenchmark(port: number): string {
  const out = execFileSync(
    'redis-benchmark',
    ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-n', '200000', '-P', '16', '-q'],
    { encoding: 'utf8' },
  )
  return (
    out
      .replace(/\r/g, '\n')
      .split('\n')
      .filter(l => l.startsWith('SET'))
      .pop() ?? out
  )
}

async function main(): Promise<void> {
  const single = await RedisFarm.single(fn => cleanup.push(fn))
  const cluster = await RedisFarm.cluster(fn => cleanup.push(fn), 3)
  const rows = [await measure('1 node', single), await measure('cluster, 3 masters', cluster)]
  const raw = redisBenchmark(single.nodes[0]?.port ?? 0)
  const whole = await trackers(cluster)
  const f = (n: number, d = 0): string => n.toFixed(d)
  console.log(`entries ${N}, concurrency ${C}, buckets ${B}; node ${process.version}`)
  console.log(
    '| target | puts/s (1 front-end) | refreshes/s | Redis µs per put | per refresh | ' +
      'table B/entry | stream B/entry | resync entries/s | follow lag for N writes (ms) |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.target} | ${f(r.puts)} | ${f(r.refreshes)} | ${f(r.usecPut, 1)} | ` +
        `${f(r.usecRefresh, 1)} | ${f(r.tableBytes)} | ${f(r.streamBytes)} | ${f(r.resync)} | ` +
        `${f(r.follow)} |`,
    )
  }
  console.log(`redis-benchmark, 1 node: ${raw}`)
  console.log(
    '\n| trackers (TCP, fresh signed announces, 32 connections) | announces/s | answered |',
  )
  console.log('|---|---|---|')
  for (const line of whole) console.log(line)
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => {
    onExit()
    setTimeout(() => process.exit(), 200).unref()
  })
