// Client failover with a memory (src/client/health.ts, docs/benchmarks.md "Client failover"):
//   1. a Querier (timeout 1000 ms) over three trackers, two black-holed (UDP sockets that never
//      answer, on loopback): per-call latency with tracker health, and without it (a fresh
//      memory per call, no hedged request: what the client did before);
//   2. two trackers, one stops answering mid-run (a relay in front of it starts dropping), then
//      comes back: per-call latency around the failure, and when it is used again (the back-off
//      is passed by moving the Querier's clock, not by waiting);
//   3. the `peers` command (run in this process, a fresh program per run) over the three
//      trackers of 1, with the health cache and with --no-health-cache.
// Usage: npx tsx scripts/bench-failover.ts [--calls 12 --runs 10]
// Prints Markdown for docs/benchmarks.md. Not a test: figures depend on the machine.
import { type Socket, createSocket } from 'node:dgram'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { CliIo } from '../src/cli/io.js'
import { buildProgram } from '../src/cli/program.js'
import { Announcer } from '../src/client/announcer.js'
import { Querier } from '../src/client/querier.js'
import type { TrackerAddress } from '../src/client/trackers.js'
import { generateKeyPair } from '../src/crypto/keys.js'
import { Daemon } from '../src/tracker/daemon.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const calls = arg('--calls', 12)
const runs = arg('--runs', 10)
const network = 'bench'

async function bind(): Promise<Socket> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  return s
}

/** A UDP port that receives and never answers. */
async function blackHole(): Promise<{ address: TrackerAddress; close(): void }> {
  const s = await bind()
  const port = s.address().port
  return { address: { host: '127.0.0.1', udp: port, tcp: null }, close: () => s.close() }
}

/** A UDP relay in front of a tracker that can be told to drop everything (a black hole). */
async function relay(
  target: number,
): Promise<{ address: TrackerAddress; drop: boolean; close(): void }> {
  const front = await bind()
  const back = await bind()
  const state = { drop: false, client: null as { port: number; address: string } | null }
  front.on('message', (m, r) => {
    if (state.drop) return
    state.client = { port: r.port, address: r.address }
    back.send(m, target, '127.0.0.1')
  })
  back.on('message', m => {
    if (!state.drop && state.client) front.send(m, state.client.port, state.client.address)
  })
  const out = {
    address: { host: '127.0.0.1', udp: front.address().port, tcp: null },
    get drop() {
      return state.drop
    },
    set drop(v: boolean) {
      state.drop = v
    },
    close: () => {
      front.close()
      back.close()
    },
  }
  return out
}

const dirs: string[] = []
async function tracker(): Promise<{ daemon: Daemon; address: TrackerAddress }> {
  const data = await mkdtemp(join(tmpdir(), 'mt-bench-failover-'))
  dirs.push(data)
  const daemon = await Daemon.start({ host: ['127.0.0.1'], udp: 0, tcp: 0, data })
  const a = daemon.addresses()
  return { daemon, address: { host: '127.0.0.1', udp: a.udp, tcp: a.tcp } }
}

async function seed(trackers: TrackerAddress[]): Promise<void> {
  const announcers = Array.from(
    { length: 4 },
    (_, i) =>
      new Announcer({
        trackers,
        privateKey: generateKeyPair().privateKey,
        network,
        endpoints: [{ family: 4, address: '0.0.0.0', port: 5000 + i }],
      }),
  )
  await Promise.all(announcers.map(x => x.announceAll()))
  await Promise.all(announcers.map(x => x.close()))
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

const fmt = (ms: number[]): string => ms.map(m => Math.round(m)).join(', ')
const summary = (ms: number[]): string => {
  const s = ms.slice().sort((a, b) => a - b)
  return `median ${Math.round(s[Math.floor(s.length / 2)] ?? 0)}, max ${Math.round(s[s.length - 1] ?? 0)}`
}

// 1. Two of three black-holed.
const alive = await tracker()
await seed([alive.address])
const holes = [await blackHole(), await blackHole()]
const three = [...holes.map(h => h.address), alive.address]
console.log(`### Two of three trackers black-holed, timeout 1000 ms, ${calls} calls\n`)
console.log('| client | first call, ms | later calls, ms | later calls |')
console.log('|---|---:|---|---|')
const withHealth = new Querier({ trackers: three, timeout: 1000 })
const kept: number[] = []
for (let i = 0; i < calls; i++) kept.push(await time(() => withHealth.peers({ network })))
await withHealth.close()
// Before: every call drew a fresh random order and remembered nothing.
const forgetful: number[] = []
for (let i = 0; i < calls; i++) {
  const once = new Querier({ trackers: three, timeout: 1000, hedge: false })
  forgetful.push(await time(() => once.peers({ network })))
  await once.close()
}
for (const [name, ms] of [
  ['tracker health + hedge (default)', kept],
  ['no memory, no hedge (before)', forgetful],
] as const) {
  console.log(
    `| ${name} | ${Math.round(ms[0] ?? 0)} | ${fmt(ms.slice(1))} | ${summary(ms.slice(1))} |`,
  )
}

// 2. One of two stops answering mid-run, then comes back.
const second = await tracker()
await seed([second.address])
const r = await relay(second.address.udp ?? 0)
let skew = 0
const q2 = new Querier({
  trackers: [alive.address, r.address],
  timeout: 1000,
  clock: { now: () => Date.now() + skew },
})
const phase = async (n: number): Promise<number[]> => {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await time(() => q2.peers({ network })))
  return out
}
const before = await phase(calls)
r.drop = true
const during = await phase(calls)
r.drop = false
skew += 60_000
let usedAgainAfter = 0
const after: number[] = []
for (let i = 0; i < calls; i++) {
  const t0 = performance.now()
  const res = await q2.peers({ network })
  after.push(performance.now() - t0)
  if (usedAgainAfter === 0 && res.answeredBy.includes(`127.0.0.1:${r.address.udp}`))
    usedAgainAfter = i + 1
}
await q2.close()
console.log(`\n### One of two trackers stops answering mid-run, timeout 1000 ms\n`)
console.log('| phase | per call, ms | |')
console.log('|---|---|---|')
console.log(`| both answer | ${fmt(before)} | ${summary(before)} |`)
console.log(`| one black-holed | ${fmt(during)} | ${summary(during)} |`)
console.log(
  `| back, back-off passed | ${fmt(after)} | used again from call ${usedAgainAfter || 'never'} |`,
)

// 3. The CLI: the `peers` command run in this process (its own start-up left out: node and tsx
// take seconds on a loaded machine), each run a fresh program reading and writing the cache.
const cache = await mkdtemp(join(tmpdir(), 'mt-bench-failover-cli-'))
dirs.push(cache)
const spec = (t: TrackerAddress): string => `127.0.0.1:${t.udp}`
const quiet: CliIo = { out: () => undefined, err: () => undefined, interactive: false }
const cli = (extra: string[]): Promise<number> =>
  time(() =>
    buildProgram(quiet).parseAsync([
      'node',
      'metatracker',
      'peers',
      '--network',
      network,
      ...three.flatMap(t => ['--tracker', spec(t)]),
      '--timeout',
      '1000',
      '--bootpage-cache',
      cache,
      ...extra,
    ]),
  )
const cached: number[] = []
for (let i = 0; i < runs; i++) cached.push(await cli([]))
const uncached: number[] = []
for (let i = 0; i < runs; i++) uncached.push(await cli(['--no-health-cache']))
console.log(
  `\n### \`metatracker peers\`, ${runs} runs, two of three black-holed, timeout 1000 ms\n`,
)
console.log('| runs | per run, ms | |')
console.log('|---|---|---|')
console.log(
  `| health cache (default) | ${fmt(cached)} | ${summary(cached.slice(1))} after the first |`,
)
console.log(`| --no-health-cache | ${fmt(uncached)} | ${summary(uncached)} |`)

for (const h of holes) h.close()
r.close()
await alive.daemon.close()
await second.daemon.close()
for (const d of dirs) await rm(d, { recursive: true, force: true })
