// TCP exhaustion / slowloris against a tracker with its default TCP limits (docs/operations.md
// "TCP connection limits"), on loopback. An attacker process holds `--conns` connections (from
// one address, or spread over 8-connection groups of 127.0.1.x addresses with --spread), each
// trickling one byte of a never-finished frame every `--every` ms and reconnecting at once when
// closed. Meanwhile a legitimate client on 127.0.0.1 alternates `stats` and a TCP `list` query,
// one after another. Prints the legitimate success rate and what the attack holds on the
// tracker (TCP connections, file descriptors, memory).
// Usage: npx tsx scripts/bench-tcp-slowloris.ts [--seconds 20] [--conns 512] [--every 5000] [--spread]
// Not a test: figures depend on the machine.
import { fork } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requestStats } from '../src/client/stats.js'
import { TcpTransport } from '../src/client/transport/tcp.js'
import { Daemon } from '../src/tracker/daemon.js'

const argv = process.argv
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(name)
  return i > 0 ? Number(argv[i + 1]) : dflt
}

interface AttackPlan {
  port: number
  sources: string[]
  perSource: number
  everyMs: number
}

if (argv.includes('--attacker')) {
  // The attacker: keep every slot connected, trickling; report how many are open.
  process.once('message', (plan: AttackPlan) => {
    const HEADER = [0, 0, 8, 0] // a valid 2,048-byte frame length, then body bytes forever
    const slots: { s: Socket | null; k: number }[] = []
    let opened = 0
    let stopped = false
    const open = (slot: { s: Socket | null; k: number }, from: string): void => {
      const s = connect({ host: '127.0.0.1', port: plan.port, localAddress: from })
      slot.s = s
      slot.k = 0
      opened++
      s.on('error', () => undefined)
      s.on('connect', () => {
        s.write(Uint8Array.of(HEADER[slot.k++] ?? 0x14))
      })
      s.on('close', () => {
        slot.s = null
        if (!stopped)
          setTimeout(() => {
            open(slot, from)
          }, 20)
      })
    }
    for (const from of plan.sources) {
      for (let i = 0; i < plan.perSource; i++) {
        const slot = { s: null, k: 0 }
        slots.push(slot)
        open(slot, from)
      }
    }
    const trickle = setInterval(() => {
      for (const slot of slots) {
        if (slot.s !== null && !slot.s.destroyed && slot.s.readyState === 'open')
          slot.s.write(Uint8Array.of(HEADER[slot.k++] ?? 0x14))
      }
    }, plan.everyMs)
    const report = setInterval(() => {
      const open = slots.filter(x => x.s !== null && x.s.readyState === 'open').length
      process.send?.({ open, opened })
    }, 1000)
    process.once('message', () => {
      stopped = true
      clearInterval(trickle)
      clearInterval(report)
      for (const slot of slots) slot.s?.destroy()
      setTimeout(() => process.exit(0), 100)
    })
  })
} else {
  await main()
}

async function main(): Promise<void> {
  const seconds = opt('--seconds', 20)
  const conns = opt('--conns', 512)
  const everyMs = opt('--every', 5000)
  const spread = argv.includes('--spread')
  const dataDir = await mkdtemp(join(tmpdir(), 'mt-slowloris-'))
  const daemon = new Daemon({ host: ['127.0.0.1'], udp: 0, tcp: 0, data: dataDir })
  await daemon.start()
  const port = daemon.addresses().tcp ?? 0
  const fds = (): number => readdirSync('/proc/self/fd').length
  const mem = () => process.memoryUsage()
  global.gc?.()
  const base = { fds: fds(), rss: mem().rss, heap: mem().heapUsed }

  const sources = spread
    ? Array.from(
        { length: Math.ceil(conns / 8) },
        (_, i) => `127.0.${1 + (i >> 8)}.${(i % 254) + 1}`,
      )
    : ['127.0.0.2']
  const perSource = spread ? 8 : conns
  const attacker = fork(argv[1] as string, ['--attacker'], { execArgv: ['--import', 'tsx'] })
  let attackerOpen = 0
  attacker.on('message', (m: { open: number }) => {
    attackerOpen = m.open
  })
  attacker.send({ port, sources, perSource, everyMs } satisfies AttackPlan)
  await new Promise(r => setTimeout(r, 3000)) // ramp-up

  const tcp = new TcpTransport()
  const peak = { tcpOpen: 0, fds: 0, rss: 0, heap: 0 }
  const sample = setInterval(() => {
    const m = mem()
    peak.tcpOpen = Math.max(peak.tcpOpen, daemon.stats.get('tcp_open'))
    peak.fds = Math.max(peak.fds, fds())
    peak.rss = Math.max(peak.rss, m.rss)
    peak.heap = Math.max(peak.heap, m.heapUsed)
  }, 250)
  let ok = 0
  let tries = 0
  const codes = new Map<string, number>()
  const latencies: number[] = []
  const end = Date.now() + seconds * 1000
  while (Date.now() < end) {
    tries++
    const t0 = performance.now()
    try {
      if (tries % 2 === 0) await requestStats({ host: '127.0.0.1', port }, { timeoutMs: 5000 })
      else
        await tcp.exchange(
          { host: '127.0.0.1', udp: null, tcp: port },
          txids =>
            txids.map(txid => ({
              type: 'query' as const,
              txid,
              cookie: new Uint8Array(12),
              network: 'testnet',
              kind: 'peer' as const,
              mode: 'list' as const,
              count: 100,
              offset: 0,
              sort: 'players' as const,
              notFull: false,
              world: '',
              version: '',
              tags: [],
              exclude: null,
            })),
          1,
          { timeout: 5000 },
        )
      ok++
      latencies.push(performance.now() - t0)
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'other'
      codes.set(code, (codes.get(code) ?? 0) + 1)
    }
    await new Promise(r => setTimeout(r, 50))
  }
  clearInterval(sample)
  const during = daemon.stats
  const counters = Object.fromEntries(
    [
      'tcp_connections',
      'tcp_refused',
      'tcp_refused_source',
      'tcp_evicted',
      'tcp_frame_timeouts',
      'tcp_idle_closed',
    ].map(n => [n, during.get(n)]),
  )
  attacker.send('stop')
  await new Promise(r => attacker.once('exit', r))
  await tcp.close()
  await daemon.close()
  await rm(dataDir, { recursive: true, force: true })
  latencies.sort((a, b) => a - b)
  const pct = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? NaN).toFixed(1)
  const MiB = (n: number) => (n / 1024 / 1024).toFixed(1)
  console.log(
    `attack: ${conns} connections from ${spread ? `${sources.length} addresses (8 each)` : 'one address'}, one byte every ${everyMs} ms, reconnecting; ${seconds} s measured`,
  )
  console.log(`attacker connections open at the end: ${attackerOpen}`)
  console.log(
    `legitimate exchanges: ${ok}/${tries} ok (${((100 * ok) / Math.max(1, tries)).toFixed(1)} %), p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms; failures ${JSON.stringify(Object.fromEntries(codes))}`,
  )
  console.log(
    `tracker: peak tcp_open ${peak.tcpOpen}; fds ${base.fds} -> peak ${peak.fds}; rss ${MiB(base.rss)} -> peak ${MiB(peak.rss)} MiB; heap ${MiB(base.heap)} -> peak ${MiB(peak.heap)} MiB`,
  )
  console.log(`counters: ${JSON.stringify(counters)}`)
}
