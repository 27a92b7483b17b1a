// Tracker throughput on loopback, side by side with the runtime's own ceilings, in one run.
// Usage: npm run bench:tracker [-- --rounds 3 --seconds 2]
// The tracker (a Daemon) and a plain node:dgram echo server run in this process; the load
// generator is a separate process (scripts/bench-tracker-load.ts, node:dgram, many requests in
// flight). Phases are interleaved round by round (verify, echo, refresh, fresh, sample) so the
// load of other processes on the machine hits every phase alike. Rates are given per second of
// wall time and per CPU-second of this process (process.cpuUsage), which other load barely moves.
// Not a test: figures depend on the machine.
import { fork } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { rawPublicKey, verifyBytes } from '../src/crypto/ed25519.js'
import { signRecord } from '../src/crypto/record-sign.js'
import { Daemon } from '../src/tracker/daemon.js'
import { decodeRecord, encodeSignedRecord, recordSigningInput } from '../src/wire/record.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const rounds = Number(arg('--rounds', '3'))
const seconds = Number(arg('--seconds', '2'))
const window = arg('--window', '128')
const loadScript = new URL('./bench-tracker-load.ts', import.meta.url).pathname
const now = Math.floor(Date.now() / 1000)

// --- the two servers -------------------------------------------------------------------------
let echoed = 0
const echo = createSocket('udp4')
echo.on('message', (msg, rinfo) => {
  echoed++
  echo.send(msg, rinfo.port, rinfo.address)
})
await new Promise<void>(resolve => echo.bind(0, '127.0.0.1', resolve))
const dir = await mkdtemp(join(tmpdir(), 'mt-bench-'))
const daemon = await Daemon.start({
  udp: 0,
  tcp: null,
  data: dir,
  maxEntries: 1_000_000,
  maxBytes: 1024 ** 3,
  perBlock: 10_000_000,
})
// 10,000 held peers for the sample queries (filled directly: their signatures are not measured).
for (let i = 0; i < 10_000; i++) {
  const pk = new Uint8Array(32)
  new DataView(pk.buffer).setUint32(0, i + 1)
  const rec = decodeRecord(
    encodeSignedRecord(
      {
        network: 'bench.example',
        publicKey: pk,
        seq: 1,
        issuedAt: now,
        expiresAt: now + 3600,
        kind: 'peer',
        endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
        server: null,
      },
      new Uint8Array(64),
    ),
  )
  daemon.table.insert(rec, { family: 4, address: `10.1.${i >> 8}.${i & 255}`, port: 4000 })
}

// --- signatures for the verify peer: cached keys, and keys seen once ------------------------
interface Sig {
  pk: Uint8Array
  input: Uint8Array
  sig: Uint8Array
}
function sigItem(): Sig {
  const { privateKey } = generateKeyPairSync('ed25519')
  const s = signRecord(
    {
      network: 'bench.example',
      publicKey: rawPublicKey(privateKey),
      seq: 1,
      issuedAt: now,
      expiresAt: now + 3600,
      kind: 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: null,
    },
    privateKey,
  )
  return {
    pk: s.record.publicKey,
    input: recordSigningInput(s.bytes.subarray(0, s.bytes.byteLength - 64)),
    sig: s.signature,
  }
}
const cached = Array.from({ length: 1000 }, sigItem)
for (const it of cached) verifyBytes(it.pk, it.input, it.sig)
const once = Array.from({ length: Math.ceil(rounds * seconds * 7000) }, sigItem)
let onceAt = 0

// --- the generator ---------------------------------------------------------------------------
const child = fork(
  loadScript,
  [
    '--echo',
    String(echo.address().port),
    '--tracker',
    String(daemon.addresses().udp),
    '--window',
    window,
    '--fresh',
    String(Math.ceil(rounds * (seconds + 0.5) * 9000)),
  ],
  { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
)
interface FromLoad {
  ready?: number
  stopped?: boolean
  freshLeft?: number
}
const inbox: FromLoad[] = []
let wake: (() => void) | null = null
child.on('message', (m: FromLoad) => {
  inbox.push(m)
  wake?.()
})
child.on('exit', () => {
  wake?.()
})
async function receive(): Promise<FromLoad> {
  while (inbox.length === 0) {
    if (child.exitCode !== null) throw new Error('generator exited')
    await new Promise<void>(resolve => {
      wake = resolve
    })
    wake = null
  }
  return inbox.shift() as FromLoad
}
if ((await receive()).ready === undefined) throw new Error('generator not ready')

interface Sample {
  count: number
  wall: number
  cpu: number
}
const totals = new Map<string, Sample>()
function add(name: string, s: Sample): void {
  const t = totals.get(name) ?? { count: 0, wall: 0, cpu: 0 }
  totals.set(name, { count: t.count + s.count, wall: t.wall + s.wall, cpu: t.cpu + s.cpu })
}
const cpuNow = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

async function measure(count: () => number): Promise<Sample> {
  await sleep(300) // warm up
  const c0 = count()
  const t0 = performance.now()
  const u0 = cpuNow()
  await sleep(seconds * 1000)
  return { count: count() - c0, wall: (performance.now() - t0) / 1000, cpu: cpuNow() - u0 }
}

async function drive(mode: string, count: () => number): Promise<Sample> {
  child.send({ start: mode })
  const s = await measure(count)
  child.send({ stop: true })
  const reply = await receive()
  if (mode === 'fresh' && (reply.freshLeft ?? 0) <= 0) {
    console.error('warning: fresh records ran out; raise --fresh in bench-tracker.ts')
  }
  return s
}

function verifyLoop(items: Sig[], cyclic: boolean): Sample {
  const t0 = performance.now()
  const u0 = cpuNow()
  let n = 0
  while (performance.now() - t0 < seconds * 1000) {
    for (let i = 0; i < 50; i++) {
      const it = cyclic ? items[n % items.length] : items[onceAt++]
      if (it === undefined) break
      if (!verifyBytes(it.pk, it.input, it.sig)) throw new Error('verify failed')
      n++
    }
    if (!cyclic && onceAt >= items.length) break
  }
  return { count: n, wall: (performance.now() - t0) / 1000, cpu: cpuNow() - u0 }
}

const served = (): number => daemon.stats.get('replies_udp')
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const load0 = loadavg()
console.log(`node ${process.version}, ${rounds} rounds x ${seconds} s per phase, window ${window}`)
const perRound: string[] = []
for (let r = 1; r <= rounds; r++) {
  const v = verifyLoop(cached, true)
  const v1 = verifyLoop(once, false)
  const e = await drive('echo', () => echoed)
  const rf = await drive('refresh', served)
  const f = await drive('fresh', served)
  const s = await drive('sample', served)
  add('verify', v)
  add('verifyOnce', v1)
  add('echo', e)
  add('refresh', rf)
  add('fresh', f)
  add('sample', s)
  const w = (x: Sample): number => x.count / x.wall
  perRound.push(
    `| ${r} | ${fmt(w(e))} | ${fmt(w(rf))} | ${fmt(w(f))} | ${fmt(w(s))} | ${fmt(w(v))} | ${fmt(w(v1))} | ${((100 * w(rf)) / w(e)).toFixed(0)}% | ${((100 * w(f)) / w(v)).toFixed(0)}% |`,
  )
}
child.send({ exit: true })
await daemon.close()
echo.close()
await rm(dir, { recursive: true, force: true })

console.log(
  `load average before ${load0.map(l => l.toFixed(1)).join(' ')}, after ${loadavg()
    .map(l => l.toFixed(1))
    .join(' ')}\n`,
)
console.log('Per round, per second of wall time:\n')
console.log(
  '| round | echo | refresh | fresh | sample | verify (cached key) | verify (new key) | refresh/echo | fresh/verify |',
)
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const l of perRound) console.log(l)
const T = (name: string): Sample => totals.get(name) ?? { count: 0, wall: 1, cpu: 1 }
const row = (label: string, name: string): string => {
  const t = T(name)
  return `| ${label} | ${fmt(t.count / t.wall)} | ${fmt(t.count / t.cpu)} |`
}
console.log('\nAll rounds:\n')
console.log('| operation | per wall second | per CPU-second of the server |')
console.log('|---|---:|---:|')
console.log(row('node:dgram echo (ceiling)', 'echo'))
console.log(row('tracker: refresh announces', 'refresh'))
console.log(row('tracker: fresh signed announces (distinct keys)', 'fresh'))
console.log(row('tracker: sample queries (8 of 10,000 peers)', 'sample'))
console.log(row('node:crypto verify, cached KeyObject', 'verify'))
console.log(row('node:crypto verify, key imported first (new key)', 'verifyOnce'))
const ratio = (a: string, b: string, by: 'wall' | 'cpu'): string =>
  `${((100 * (T(a).count / T(a)[by])) / (T(b).count / T(b)[by])).toFixed(0)}%`
console.log(
  `\nrefresh / echo:            ${ratio('refresh', 'echo', 'wall')} (wall), ${ratio('refresh', 'echo', 'cpu')} (CPU)`,
)
console.log(
  `fresh / verify (cached):   ${ratio('fresh', 'verify', 'wall')} (wall), ${ratio('fresh', 'verify', 'cpu')} (CPU)`,
)
console.log(
  `fresh / verify (new key):  ${ratio('fresh', 'verifyOnce', 'wall')} (wall), ${ratio('fresh', 'verifyOnce', 'cpu')} (CPU)`,
)
