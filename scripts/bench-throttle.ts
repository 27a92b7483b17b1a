// Per-packet cost of the throttles, with the rejected design measured in the same run as the
// peer: one bottleneck job per packet (what EgressBudget avoids by drawing budget in chunks).
// Usage: npx tsx scripts/bench-throttle.ts [--seconds 1]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import Bottleneck from 'bottleneck'
import { performance } from 'node:perf_hooks'
import { EgressBudget } from '../src/throttle/egress.js'
import { FloodControl } from '../src/throttle/flood.js'

const arg = process.argv.indexOf('--seconds')
const seconds = arg > 0 ? Number(process.argv[arg + 1]) : 1

function rate(fn: (i: number) => void): number {
  for (let i = 0; i < 1000; i++) fn(i)
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    for (let i = 0; i < 200; i++) fn(n + i)
    n += 200
    now = performance.now()
  }
  return n / ((now - start) / 1000)
}

const v4 = Array.from({ length: 4096 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.7`)
const v6 = Array.from(
  { length: 4096 },
  (_, i) => `2001:db8:${i.toString(16)}::${(i * 7).toString(16)}`,
)
const flood = new FloodControl({ rate: 1e9, burst: 1e9, sources: 10_000 })
const floodV4 = rate(i => flood.check(v4[i & 4095] ?? ''))
const floodV6 = rate(i => flood.check(v6[i & 4095] ?? ''))

// An egress budget that never runs dry over the run (1 TB/s), so every admit() takes the
// whole path: window roll, class cap, local balance, background draws.
const egress = new EgressBudget({ bytesPerSecond: 1e12, tcpQueueBytes: 0 })
await egress.ready()
let admitted = 0
const classes = ['server', 'signed', 'cookie'] as const
const admit = rate(i => {
  if (egress.admit(300, classes[i % 3] ?? 'signed')) admitted++
})
await egress.close()

// The peer: one bottleneck job per packet, weighted by its bytes, on the same kind of
// reservoir; jobs completed per second while they are offered as fast as they complete.
const limiter = new Bottleneck({
  reservoir: 1e12,
  reservoirIncreaseInterval: 250,
  reservoirIncreaseAmount: 1e12,
})
let done = 0
const start = performance.now()
const inFlight = new Set<Promise<void>>()
while (performance.now() - start < seconds * 1000) {
  while (inFlight.size < 64) {
    const p: Promise<void> = limiter
      .schedule({ weight: 300 }, () => Promise.resolve())
      .then(() => {
        done++
        inFlight.delete(p)
      })
    inFlight.add(p)
  }
  await Promise.race(inFlight)
}
const perJob = done / ((performance.now() - start) / 1000)
await limiter.stop({ dropWaitingJobs: true })

const f = (n: number): string => Math.round(n).toLocaleString('en')
console.log(`node ${process.version}, ${seconds} s per row\n`)
console.log('| operation | per second |')
console.log('|---|---:|')
console.log(`| flood check, IPv4 source (4,096 sources) | ${f(floodV4)} |`)
console.log(`| flood check, IPv6 source (/64 key) | ${f(floodV6)} |`)
console.log(`| egress admit() (chunks drawn in the background) | ${f(admit)} |`)
console.log(`| peer: one bottleneck job per packet | ${f(perJob)} |`)
console.log('')
console.log(`admit() / one job per packet = ${(admit / perJob).toFixed(0)}x (${admitted} admitted)`)
