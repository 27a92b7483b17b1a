// The shared store's costs, measured on loopback with our own redis-server processes.
// Usage: npm run bench:scale-out [-- --entries 20000 --concurrency 64 --buckets 64
//          --fresh 100000 --seconds 5]
//
// For one Redis node and a Redis Cluster of three masters (test/helpers/redis.ts starts them in
// a temp dir, on free ports, and kills them at the end): store writes (put, refresh) from one
// front-end process with `concurrency` in flight, Redis's own CPU per script call (INFO
// commandstats usec_per_call: the per-shard ceiling is 1e6 / that), the Redis commands one
// announce costs, memory per entry (MEMORY USAGE of the table keys, and of the streams apart),
// and how fast a second front-end loads the whole table (resync) and follows the streams. Then
// redis-benchmark's plain SET for scale. Then whole trackers, each its own process (the tsc
// build), driven by the C generator with --fresh pre-signed announces for --seconds: the
// in-memory tracker, 1 and 2 front-ends over the cluster. Figures go to stdout as a Markdown table; the capacity
// model in docs/scale-out.md is built from them. Not a test: wall-clock figures depend on load.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { ManualClock } from '../src/clock.js'
import { ClientTable } from '../src/table/client-table.js'
import { keyOf } from '../src/store/memory-store.js'
import { RedisStore } from '../src/store/redis-store.js'
import { parseStoreUrl } from '../src/store/url.js'
import { RedisFarm } from '../test/helpers/redis.js'
import { T0, fakeRecord } from '../test/helpers/records.js'
import { runLoad, signFresh } from './peers/measure.js'
import { type Server, buildMetatracker, compile, cpuSeconds, startChild } from './peers/servers.js'

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    buckets: { type: 'string', default: '64' },
    fresh: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '5' },
  },
})
const N = Number(values.entries)
const C = Number(values.concurrency)
const B = Number(values.buckets)
const FRESH = Number(values.fresh)
const SECONDS = Number(values.seconds)

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

/** The payload file's announces split in `parts` files of about equal counts. */
async function splitPayloads(file: string, parts: number): Promise<string[]> {
  const buf = await readFile(file)
  const items: Buffer[] = []
  for (let at = 0; at + 2 <= buf.byteLength; at += 2 + buf.readUInt16BE(at)) {
    items.push(buf.subarray(at, at + 2 + buf.readUInt16BE(at)))
  }
  const per = Math.ceil(items.length / parts)
  return Promise.all(
    Array.from({ length: parts }, async (_, p) => {
      const out = `${file}.part${p}`
      await writeFile(out, Buffer.concat(items.slice(p * per, (p + 1) * per)))
      return out
    }),
  )
}

interface FrontRow {
  label: string
  /** Per front-end: announces/s answered `new`, its process's share of a core. */
  fronts: { rate: number; cpu: number | null; bad: number }[]
  /** Redis: script µs per put (commandstats), process CPU µs per put (all masters). */
  usecPut: number | null
  cpuPut: number | null
}

/**
 * Whole trackers, each in its own process (the tsc build, scripts/peers/front-end-server.mjs),
 * taking fresh pre-signed announces over UDP from the C generator (scripts/loadgen/loadgen.c, one
 * per front-end, each over its own share of the announces): the in-memory default, then 1 and 2
 * front-ends over the cluster. Signing happens before; the front-ends verify on their main
 * thread (verifyWorkers 0: one core each).
 */
async function frontEnds(cluster: RedisFarm, nodes: Redis[]): Promise<FrontRow[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'mt-scale-out-'))
  cleanup.push(() => {
    rmSync(tmp, { recursive: true, force: true })
  })
  const at = Math.floor(Date.now() / 1000)
  const [tools, dist, files] = await Promise.all([
    compile(tmp),
    buildMetatracker(),
    signFresh(join(tmp, 'fresh'), FRESH, 1, at, 2),
  ])
  const fresh = join(tmp, 'fresh.bin')
  await writeFile(fresh, Buffer.concat(await Promise.all(files.map(f => readFile(f)))))
  const halves = await splitPayloads(fresh, 2)
  const shape = { sockets: 4, window: 16, seconds: SECONDS, warmup: 1 }
  const redisPids = cluster.nodes.map(n => n.proc?.pid ?? 0)
  const redisCpu = async (): Promise<number> => {
    let sum = 0
    for (const pid of redisPids) sum += (await cpuSeconds(pid)) ?? 0
    return sum
  }
  const rows: FrontRow[] = []
  const runs: [string, number, boolean][] = [
    ['in-memory tracker', 1, false],
    ['1 front-end over the cluster', 1, true],
    ['2 front-ends over the cluster', 2, true],
  ]
  for (const [label, count, shared] of runs) {
    const store = shared ? `${cluster.url}?prefix=fe${Date.now() % 100000}&buckets=${B}` : 'memory'
    const servers: Server[] = []
    for (let i = 0; i < count; i++) {
      servers.push(
        await startChild(
          label,
          process.execPath,
          [
            join(import.meta.dirname, 'peers', 'front-end-server.mjs'),
            ...['--dist', dist, '--store', store, '--verify-workers', '0'],
          ],
          'this tree built with tsc',
        ),
      )
    }
    await reset(nodes)
    const cpu0 = await redisCpu()
    const results = await Promise.all(
      servers.map((s, i) =>
        runLoad(
          tools.loadgen,
          {
            port: s.port,
            proto: 'mt',
            file: count === 1 ? fresh : (halves[i] ?? fresh),
            expect: ['0=13', '5=00'], // announce-reply, status new
            once: true,
          },
          shape,
          s.pid,
        ),
      ),
    )
    const cpu1 = await redisCpu()
    const st = await evalStats(nodes)
    const puts = results.reduce((n, r) => n + r.ok, 0)
    await Promise.all(servers.map(s => s.stop()))
    const exhausted = results.some(r => r.exhausted)
    if (exhausted) console.error(`${label}: the fresh announces ran out: raise --fresh`)
    rows.push({
      label,
      fronts: results.map(r => ({ rate: r.rate, cpu: r.serverCpu, bad: r.bad })),
      usecPut: shared ? st.usec / Math.max(1, st.calls) : null,
      cpuPut: shared ? ((cpu1 - cpu0) * 1e6) / Math.max(1, puts) : null,
    })
  }
  return rows
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
  const whole = await frontEnds(cluster, await masters(cluster))
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
    `\nfront-end processes, UDP fresh announces (${FRESH} pre-signed, loadgen 4 sockets × 16 in ` +
      `flight per front-end, ${SECONDS} s), verifyWorkers 0:`,
  )
  console.log(
    '| trackers | announces/s per front-end (CPU share) | total announces/s | ' +
      'Redis µs per put (script) | Redis CPU µs per put (process) |',
  )
  console.log('|---|---|---|---|---|')
  for (const r of whole) {
    const per = r.fronts
      .map(x => `${f(x.rate)} (${x.cpu === null ? '?' : f(x.cpu * 100)}%)`)
      .join(', ')
    const total = r.fronts.reduce((n, x) => n + x.rate, 0)
    const bad = r.fronts.reduce((n, x) => n + x.bad, 0)
    console.log(
      `| ${r.label} | ${per} | ${f(total)}${bad > 0 ? ` (${bad} other replies)` : ''} | ` +
        `${r.usecPut === null ? '-' : f(r.usecPut, 1)} | ${r.cpuPut === null ? '-' : f(r.cpuPut, 1)} |`,
    )
  }
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
