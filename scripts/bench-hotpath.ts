// Per-packet server CPU of the UDP hot path: metatracker refresh and sample beside node:dgram
// echo, driven by the C generator of scripts/bench-peers.ts, in the same run.
// Usage: npx tsx scripts/bench-hotpath.ts [--rounds 5 --seconds 2 --sockets 4 --window 32
//          --only refresh|sample --prof DIR]
// The figure is CPU time of the server process (utime + stime, from /proc) / replies it sent,
// in microseconds: unlike ops/s, it moves little with the load of other work on the machine.
// With --base DIR, a second metatracker built elsewhere (DIR holds its tracker/daemon.js, e.g.
// an older tree built with tsc) is measured beside, as refresh@base and sample@base.
// With --prof DIR the metatracker server runs under `node --cpu-prof --cpu-prof-dir DIR`
// (open the .cpuprofile in Chrome's DevTools). Not a test; nothing leaves 127.0.0.1.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LoadSpec, runLoad } from './peers/measure.js'
import { echoPayload, payloadFile, sampleQuery, signedAnnounces } from './peers/payloads.js'
import { type Server, buildMetatracker, compile, metatracker, nodeEcho } from './peers/servers.js'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(name)
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback
}
const rounds = Number(arg('--rounds', '5'))
const seconds = Number(arg('--seconds', '2'))
const shape = {
  sockets: Number(arg('--sockets', '4')),
  window: Number(arg('--window', '32')),
  seconds,
  warmup: 0,
}
const prof = arg('--prof', '')
const base = arg('--base', '')
const only = arg('--only', '')

/** [user, system] CPU seconds of a process (/proc/PID/stat, USER_HZ = 100). */
async function cpuSplit(pid: number): Promise<[number, number]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return [Number(f[11]) / 100, Number(f[12]) / 100]
}

const tmp = await mkdtemp(join(tmpdir(), 'mt-hotpath-'))
const servers: Server[] = []
try {
  const [tools, dist] = await Promise.all([compile(tmp), buildMetatracker()])
  const at = Math.floor(Date.now() / 1000)
  const file = async (name: string, packets: Uint8Array[]): Promise<string> => {
    const path = join(tmp, name)
    await writeFile(path, payloadFile(packets))
    return path
  }
  const echoFile = await file('echo.bin', [echoPayload()])
  const refreshFile = await file('refresh.bin', signedAnnounces(256, at))
  const sampleFile = await file('sample.bin', [sampleQuery()])
  const ne = await nodeEcho()
  servers.push(ne)
  const flags = prof === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]
  const start = async (d: string, f: string[]): Promise<Server> => {
    const server = await metatracker(d, 10_000, undefined, f)
    servers.push(server)
    // Store the refresh records (each answered `new`): every later send is a refresh.
    const primed = await runLoad(
      tools.loadgen,
      { port: server.port, proto: 'mt', file: refreshFile, expect: ['0=13'], once: true },
      { sockets: 1, window: 1, seconds: 30, warmup: 0 },
      server.pid,
    )
    if (primed.ok !== 256) throw new Error(`primed ${primed.ok} of 256`)
    return server
  }
  const mt = await start(dist, flags)
  const bt = base === '' ? null : await start(base, [])
  const mtSpec = (f: string, expect: string[], server = mt): LoadSpec => ({
    port: server.port,
    proto: 'mt',
    file: f,
    expect,
  })
  const rawSpec: LoadSpec = { port: ne.port, proto: 'raw', file: echoFile, expect: [] }
  interface Target {
    key: string
    server: Server
    spec: LoadSpec
    us: number[]
    sys: number[]
    ok: number[]
  }
  const targets: Target[] = [
    { key: 'echo', server: ne, spec: rawSpec },
    { key: 'refresh', server: mt, spec: mtSpec(refreshFile, ['0=13', '5=01']) },
    { key: 'sample', server: mt, spec: mtSpec(sampleFile, ['0=15', '7=08']) },
    ...(bt === null
      ? []
      : [
          { key: 'refresh@base', server: bt, spec: mtSpec(refreshFile, ['0=13', '5=01'], bt) },
          { key: 'sample@base', server: bt, spec: mtSpec(sampleFile, ['0=15', '7=08'], bt) },
        ]),
  ]
    .filter(t => only === '' || t.key === 'echo' || t.key.startsWith(only))
    .map(t => ({ ...t, us: [] as number[], sys: [] as number[], ok: [] as number[] }))
  // Round 0 warms the JIT up and is not counted.
  for (let r = 0; r <= rounds; r++) {
    for (const t of targets) {
      const c0 = await cpuSplit(t.server.pid)
      const res = await runLoad(tools.loadgen, t.spec, shape, t.server.pid)
      const c1 = await cpuSplit(t.server.pid)
      // received counts every reply in the window (warmup 0); bad ones are errors worth seeing.
      if (res.bad > 0) console.error(`${t.key}: ${res.bad} unexpected replies`)
      if (r === 0) continue
      t.us.push(((c1[0] + c1[1] - c0[0] - c0[1]) / res.received) * 1e6)
      t.sys.push(((c1[1] - c0[1]) / res.received) * 1e6)
      t.ok.push(res.rate)
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    return s[Math.floor(s.length / 2)] ?? NaN
  }
  const echo = median(targets[0]?.us ?? [])
  for (const t of targets) {
    const us = median(t.us)
    console.log(
      `${t.key.padEnd(12)} ${us.toFixed(2).padStart(6)} µs CPU/packet (${median(t.sys).toFixed(2)} system)  ${(echo / us).toFixed(2)} of echo per CPU-s  (rounds: ${t.us.map(x => x.toFixed(2)).join(' ')}; ops/s median ${median(t.ok).toFixed(0)})`,
    )
  }
} finally {
  for (const s of servers) await s.stop()
  await rm(tmp, { recursive: true, force: true })
}
