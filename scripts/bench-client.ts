// Client query cost, side by side in one run against one local tracker (Daemon on 127.0.0.1):
//   - Querier.peers(): cookie cache, txid matching, decode and verification of every record;
//   - the same query through a bare UdpTransport with decodeMessage only (no verification);
//   - Querier over TCP (one connection per call).
// Usage: npm run bench:client [-- --seconds 2 --peers 8]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Announcer } from '../src/client/announcer.js'
import { Querier } from '../src/client/querier.js'
import type { TrackerAddress } from '../src/client/trackers.js'
import { UdpTransport } from '../src/client/transport/udp.js'
import { generateKeyPair } from '../src/crypto/keys.js'
import { Daemon } from '../src/tracker/daemon.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const seconds = arg('--seconds', 2)
const peers = arg('--peers', 8)

async function rate(
  name: string,
  fn: () => Promise<unknown>,
): Promise<{ name: string; perSecond: number }> {
  for (let i = 0; i < 50; i++) await fn() // warm up
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    await fn()
    n++
    now = performance.now()
  }
  return { name, perSecond: n / ((now - start) / 1000) }
}

const dataDir = await mkdtemp(join(tmpdir(), 'mt-bench-client-'))
const daemon = await Daemon.start({ host: ['127.0.0.1'], udp: 0, tcp: 0, data: dataDir })
const a = daemon.addresses()
const tracker: TrackerAddress = { host: '127.0.0.1', udp: a.udp, tcp: a.tcp }
const announcers = Array.from(
  { length: peers },
  (_, i) =>
    new Announcer({
      trackers: [tracker],
      privateKey: generateKeyPair().privateKey,
      network: 'bench',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 5000 + i }],
    }),
)
await Promise.all(announcers.map(x => x.announceAll()))
await Promise.all(announcers.map(x => x.close()))

const q = new Querier({ trackers: [tracker] })
const udp = new UdpTransport()
let entries = 0
const rows = [
  await rate('Querier.peers (UDP, decode + verify every record)', async () => {
    const r = await q.peers({ network: 'bench', count: peers }, { transport: 'udp' })
    entries = r.entries.length
  }),
  await rate('bare UdpTransport (decode only, no verification)', () =>
    udp.request(
      tracker,
      (cookie, txid) => ({
        type: 'query',
        txid,
        cookie,
        network: 'bench',
        kind: 'peer',
        mode: 'sample',
        count: peers,
        offset: 0,
        sort: 'players',
        notFull: false,
        world: '',
        version: '',
        tags: [],
        exclude: null,
      }),
      { timeout: 2000 },
    ),
  ),
  await rate('Querier.peers (TCP, connection per call, verify)', () =>
    q.peers({ network: 'bench', count: peers }, { transport: 'tcp' }),
  ),
]
await q.close()
await udp.close()
await daemon.close()
await rm(dataDir, { recursive: true, force: true })

console.log(
  `node ${process.version}, ${seconds} s per row, ${entries} peer records per answer, one tracker on loopback\n`,
)
console.log('| operation | calls per second |')
console.log('|---|---:|')
for (const r of rows)
  console.log(`| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en-US')} |`)
const [verified, bare, tcp] = rows.map(r => r.perSecond)
console.log(
  `\nverification overhead: bare / Querier = ${((bare ?? 0) / (verified ?? 1)).toFixed(2)}x`,
)
console.log(`UDP / TCP (Querier) = ${((verified ?? 0) / (tcp ?? 1)).toFixed(2)}x`)
