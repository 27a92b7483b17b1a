// Restart at scale: a real tracker restarted on a checkpoint of N entries (default 1,000,000).
// Queries ask for 8 of the 10,000 peers and servers of one network (net0.example).
// Measures, in one run: time to listening, time to fully restored, RSS during load and save,
// the longest event-loop stall while restoring, verifying and saving, the one-pass collection of
// entry references a save takes at once (table.refs()), and the latency of sample
// queries (one in flight from a worker thread, its own event loop) inside the restore window,
// during the re-verification and once all is done (normal).
// Usage: npx tsx scripts/bench-checkpoint.ts [--entries 1000000] [--verify-seconds 30]
//        [--restore-slice-ms MS]
// The checkpoint (N signed records, distinct keys: minutes to sign) is cached in the temp
// directory and reused while its records live. Not a test: figures depend on the machine.
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { privateKeyFromSeed, rawPublicKey } from '../src/crypto/ed25519.js'
import { signRecord } from '../src/crypto/record-sign.js'
import {
  CHECKPOINT_FILE,
  type CheckpointEntry,
  CheckpointFile,
  writeCheckpointStream,
} from '../src/ops/checkpoint/index.js'
import type { Logger } from '../src/log.js'
import { startTracker } from '../src/ops/start.js'
import { decodeMessage, encodeMessage } from '../src/wire/messages.js'

const argOf = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const count = argOf('--entries', 1_000_000)
const verifySeconds = argOf('--verify-seconds', 30)
// The restore's slice budget (src/ops/checkpoint/restorer.ts; its default when not given).
const sliceArg = process.argv.includes('--restore-slice-ms') ? argOf('--restore-slice-ms', 1) : null
const LIFE = 86_400
const KEYS = 10_000
const networkOf = (n: number): string => `net${n}.example`

// --- the checkpoint (cached) ---
const cached = join(tmpdir(), `mt-bench-checkpoint-v2c-${count}.bin`)
const fresh = existsSync(cached) && Date.now() - statSync(cached).mtimeMs < (LIFE / 2) * 1000
if (!fresh) {
  console.error(`signing ${count} records (cached in ${cached})...`)
  const now = Math.floor(Date.now() / 1000)
  function* entries(): Generator<CheckpointEntry> {
    // Distinct table keys (network, public key): 10,000 keys in each of count / 10,000
    // networks, so that setting up signs N records but derives only 10,000 keys.
    const keys = Array.from({ length: Math.min(count, KEYS) }, (_, i) => {
      const seed = new Uint8Array(32)
      new DataView(seed.buffer).setUint32(0, i + 1)
      const key = privateKeyFromSeed(seed)
      return { key, publicKey: rawPublicKey(key) }
    })
    for (let i = 0; i < count; i++) {
      const k = keys[i % KEYS]
      if (k === undefined) throw new Error('no key')
      const { key, publicKey } = k
      const server = i % 10 === 0
      const signed = signRecord(
        {
          network: networkOf(Math.floor(i / KEYS)),
          publicKey,
          seq: 1,
          issuedAt: now,
          expiresAt: now + LIFE,
          kind: server ? 'server' : 'peer',
          endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
          server: server
            ? {
                name: `server ${i}`,
                players: 3,
                maxPlayers: 16,
                world: 'q3dm17',
                version: '1.32c',
                tags: [],
              }
            : null,
        },
        key,
      )
      // Addresses in the file only: nothing is sent to them.
      const address = `${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.1`
      yield {
        record: signed.bytes,
        observed: { family: 4, address, port: 40000 },
        lastSeen: Date.now(),
      }
      if (i % 100_000 === 99_999) console.error(`  ${i + 1}`)
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'mt-bench-gen-'))
  await writeCheckpointStream(dir, {
    savedAt: Date.now(),
    cookieSecret: new Uint8Array(32),
    entries: entries(),
  })
  renameSync(join(dir, CHECKPOINT_FILE), cached)
  rmSync(dir, { recursive: true, force: true })
}
// The data directory's copy, last-seen times made now (a server entry outlives its last
// announce by minutes only, and the cached file may be hours old).
const data = mkdtempSync(join(tmpdir(), 'mt-bench-restart-'))
const source = await CheckpointFile.open(cached)
async function* refreshed(): AsyncGenerator<CheckpointEntry> {
  const seen = Date.now()
  for (let i = 0; i < source.chunks; i++) {
    for (const e of await source.chunk(i)) yield { ...e, lastSeen: seen }
  }
}
await writeCheckpointStream(data, {
  savedAt: Date.now(),
  cookieSecret: source.cookieSecret,
  entries: [],
  rest: refreshed(),
})
await source.close()
const fileBytes = statSync(cached).size

// --- probes: RSS, event-loop stalls, phases ---
const now = (): number => performance.timeOrigin + performance.now()
// Event-loop stalls: how late a 5 ms timer fires (monitorEventLoopDelay missed the longest
// single stalls in trial runs).
let stallMax = 0
let tick = performance.now()
const stallTimer = setInterval(() => {
  const t = performance.now()
  stallMax = Math.max(stallMax, t - tick - 5)
  tick = t
}, 5)
let rssMax = 0
const rssTimer = setInterval(() => {
  rssMax = Math.max(rssMax, process.memoryUsage.rss())
}, 20)
interface Phase {
  name: string
  from: number
  to: number
  ms: number
  stallMs: number
  rssBefore: number
  rssMax: number
  rssAfter: number
}
const phases: Phase[] = []
const byName = new Map<string, Phase>()
async function phase<T>(name: string, run: () => Promise<T>): Promise<T> {
  stallMax = 0
  const rssBefore = process.memoryUsage.rss()
  rssMax = rssBefore
  const from = now()
  const value = await run()
  const to = now()
  const rssAfter = process.memoryUsage.rss()
  const p: Phase = {
    name,
    from,
    to,
    ms: to - from,
    stallMs: stallMax,
    rssBefore,
    rssMax: Math.max(rssMax, rssAfter),
    rssAfter,
  }
  phases.push(p)
  byName.set(name.split(' ')[0] ?? name, p)
  return value
}
const rss0 = process.memoryUsage.rss()

// --- the restart ---
// The checkpoint log lines: how long each save held the event loop to read the table.
const saves: Record<string, unknown>[] = []
const quiet = (): void => undefined
const logger: Logger = {
  debug: quiet,
  info: (fields: Record<string, unknown>) => {
    if (fields.event === 'checkpoint' || fields.event === 'restored') saves.push(fields)
  },
  warn: quiet,
  error: (fields: Record<string, unknown>, msg: string) => {
    console.error(msg, fields)
  },
}
const config = {
  udp: 0,
  tcp: 0,
  http: null,
  host: ['127.0.0.1'],
  data,
  maxEntries: count + 1000,
  maxTtl: 86_400, // the cached file's last-seen times may be hours old
  maxBytes: 4 * 1024 ** 3,
  perBlock: 1_000_000,
  perWideBlock: 1_000_000,
  checkpoint: { interval: 0 },
  flood: { rate: 0 },
}
// The query client: its own thread and event loop, one sample query in flight at a time.
const worker = new Worker(
  `
  const { parentPort } = require('node:worker_threads')
  const dgram = require('node:dgram')
  const s = dgram.createSocket('udp4')
  const samples = []
  let query = null, port = 0, sentAt = 0, running = false
  const now = () => performance.timeOrigin + performance.now()
  const send = () => { if (!running) return; sentAt = now(); s.send(query, port, '127.0.0.1') }
  s.on('message', m => {
    if (query === null) { parentPort.postMessage({ cookieReply: m }); return }
    samples.push(sentAt, now() - sentAt)
    setTimeout(send, 2)
  })
  parentPort.on('message', m => {
    if (m.target) { port = m.target; query = null; running = false; s.send(Buffer.from(m.cookieRequest), port, '127.0.0.1') }
    if (m.query) { query = Buffer.from(m.query); running = true; send() }
    if (m.pause) running = false
    if (m.collect) parentPort.postMessage({ samples })
  })
  s.bind(0, '127.0.0.1', () => parentPort.postMessage({ ready: true }))
  `,
  { eval: true },
)
await new Promise(resolve => worker.once('message', resolve))

/** Point the query client at a tracker and start querying. */
async function target(port: number): Promise<void> {
  const cookie = await new Promise<Uint8Array>(resolve => {
    worker.once('message', (m: { cookieReply: Uint8Array }) => {
      const reply = decodeMessage(new Uint8Array(m.cookieReply))
      if (reply.type !== 'cookie-reply') throw new Error(`got ${reply.type}`)
      resolve(reply.cookie)
    })
    worker.postMessage({
      target: port,
      cookieRequest: encodeMessage({ type: 'cookie-request', txid: 1 }),
    })
  })
  const query = encodeMessage({
    type: 'query',
    txid: 9,
    cookie,
    network: networkOf(0),
    kind: 'peer',
    mode: 'sample',
    count: 8,
    offset: 0,
    sort: 'players',
    notFull: false,
    world: '',
    version: '',
    tags: [],
    exclude: null,
    unproven: true,
  })
  worker.postMessage({ query })
}
const sleep = (ms: number): Promise<unknown> => new Promise(resolve => setTimeout(resolve, ms))

// 1. The measured restart: listening, the restore window, the re-verification (capped), stop.
const tracker = await phase('open + bind (to listening)', () =>
  startTracker(config, {
    logger,
    ...(sliceArg === null ? {} : { restore: { sliceMs: sliceArg } }),
  }),
)
await target(tracker.listening.udp ?? 0)
const restored = await phase('restore (in the background, serving)', () => tracker.restored)
const state = { verifyDone: false }
await phase(`re-verification (first ${verifySeconds} s at most)`, () =>
  Promise.race([
    tracker.verified.then(() => {
      state.verifyDone = true
    }),
    sleep(verifySeconds * 1000),
  ]),
)
const verifiedSoFar = tracker.daemon.stats.get('restore_verified')
const verifiedAll = state.verifyDone
worker.postMessage({ pause: true })
await phase('stop (final save, not serving)', () => tracker.stop())

// 2. Normal service, then a save while serving: a second restart on the saved checkpoint,
// without re-verification (so that nothing runs in the background once restored).
const second = await startTracker(
  { ...config, checkpoint: { interval: 0, verify: false } },
  { logger },
)
await second.restored
await sleep(500)
await target(second.listening.udp ?? 0)
await sleep(200)
const normalFrom = now()
await sleep(5000)
const normalTo = now()
// What a save takes at once before it writes in slices: the entry references (ClientTable#refs).
const refsMs: number[] = []
for (let i = 0; i < 5; i++) {
  const t0 = performance.now()
  const refs = second.daemon.table.refs()
  refsMs.push(performance.now() - t0)
  if (refs.length === 0) throw new Error('no entries')
}
// Let the stall probe tick after those (they hold the loop, and are not the save's).
await sleep(100)
await phase('save (serving)', () => second.checkpoint('bench'))
await sleep(200)
const samples = await new Promise<number[]>(resolve => {
  worker.once('message', (m: { samples: number[] }) => {
    resolve(m.samples)
  })
  worker.postMessage({ collect: true })
})
await second.stop()
clearInterval(rssTimer)
clearInterval(stallTimer)
await worker.terminate()
rmSync(data, { recursive: true, force: true })

// --- report ---
const latencies = (from: number, to: number): number[] => {
  const out: number[] = []
  for (let i = 0; i + 1 < samples.length; i += 2) {
    const at = samples[i] ?? 0
    if (at >= from && at < to) out.push(samples[i + 1] ?? 0)
  }
  return out.sort((a, b) => a - b)
}
const pct = (xs: number[], p: number): number =>
  xs.length === 0 ? NaN : (xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN)
const mb = (n: number): string => (n / 2 ** 20).toFixed(0)
const get = (name: string): Phase => {
  const p = byName.get(name)
  if (p === undefined) throw new Error(`no phase ${name}`)
  return p
}
const restore = get('restore')
const verify = get('re-verification')
const save = get('save')
const verifyWindowS = (verify.to - restore.from) / 1000
console.log(
  `node ${process.version}, ${count.toLocaleString('en')} entries, checkpoint ` +
    `${(fileBytes / 1e6).toFixed(1)} MB, ${restored?.restored ?? 0} restored, ${verifiedSoFar} ` +
    `verified ${verifiedAll ? '(all)' : `in ${verifyWindowS.toFixed(0)} s (stopped there)`}, ` +
    `RSS at start ${mb(rss0)} MiB, restore slices ${sliceArg ?? 'default'} ms\n`,
)
console.log('| phase | ms | longest event-loop stall, ms | RSS before / max / after, MiB |')
console.log('|---|---:|---:|---|')
for (const p of phases) {
  const rss = `${mb(p.rssBefore)} / ${mb(p.rssMax)} / ${mb(p.rssAfter)}`
  console.log(`| ${p.name} | ${p.ms.toFixed(0)} | ${p.stallMs.toFixed(1)} | ${rss} |`)
}
console.log('')
console.log('| sample queries (8, one in flight) | n | p50 ms | p99 ms | max ms |')
console.log('|---|---:|---:|---:|---:|')
const row = (name: string, xs: number[]): void => {
  const f = (p: number): string => pct(xs, p).toFixed(2)
  console.log(`| ${name} | ${xs.length} | ${f(0.5)} | ${f(0.99)} | ${f(1)} |`)
}
const during = latencies(restore.from, restore.to)
const verifying = latencies(verify.from, verify.to)
const saving = latencies(save.from, save.to)
const normal = latencies(normalFrom, normalTo)
row('restore window', during)
row('re-verification', verifying)
row('save (serving)', saving)
row('normal', normal)
console.log('')
const ratio = (xs: number[], p: number): string => (pct(xs, p) / pct(normal, p)).toFixed(1)
console.log(
  `p50 vs normal: restore ${ratio(during, 0.5)}x, re-verification ${ratio(verifying, 0.5)}x, ` +
    `save ${ratio(saving, 0.5)}x; p99: ${ratio(during, 0.99)}x, ${ratio(verifying, 0.99)}x, ` +
    `${ratio(saving, 0.99)}x`,
)
console.log(
  `re-verification: ${(verifiedSoFar / verifyWindowS).toFixed(0)} records/s ` +
    '(daemon.verifier: the worker pool when the daemon runs one)',
)
console.log(
  `table.refs() (taken at once by each save): ${refsMs.map(ms => ms.toFixed(0)).join(', ')} ms`,
)
console.log(
  `load average at the end: ${loadavg()
    .map(l => l.toFixed(2))
    .join(' ')}`,
)
for (const f of saves) console.log(JSON.stringify(f))
