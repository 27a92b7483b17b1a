// Does the byte budget bound the process? A Daemon with `maxBytes` B is overfilled FACTOR times
// (records inserted until their byte charge adds up to FACTOR × B, so each insert past the
// budget evicts), and its resident memory is compared with its own idle RSS: the bound
// (docs/operations.md, sizing) is idle + 1.25 × maxBytes + a fixed allowance.
// Usage: npm run bench:overfill [-- --budgets 8,64 --factor 10 --spread]
// Each budget runs in a fresh process (node --expose-gc --import tsx this file --child BYTES).
// The fill decodes every record from its wire bytes (as the announce path does) and inserts it
// into the daemon's table; one in four is a server record. RSS is sampled every 500 inserts with
// no forced GC (the peak is what an operator sees); the heap is also read after full GCs at the
// end. Not a test.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { Daemon } from '../src/tracker/daemon.js'
import { entryCharge } from '../src/table/entry.js'
import { type NodeRecord, decodeRecord, encodeSignedRecord } from '../src/wire/record.js'

const MiB = 1024 ** 2
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

interface Result {
  maxBytes: number
  inserted: number
  held: number
  tableBytes: number
  idleRss: number
  peakRss: number
  endRss: number
  idleHeap: number
  endHeap: number
}

async function child(maxBytes: number, factor: number): Promise<Result> {
  if (process.env.HGP)
    (await import('node:v8')).setFlagsFromString('--heap-growing-percent=' + process.env.HGP)
  const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {})
  const dir = await mkdtemp(join(tmpdir(), 'mt-overfill-'))
  const daemon = await Daemon.start({
    udp: 0,
    tcp: null,
    data: dir,
    maxEntries: 10_000_000,
    maxBytes,
    perBlock: 100_000_000,
    perWideBlock: 100_000_000,
  })
  await sleep(1000)
  gc()
  gc()
  await sleep(500)
  const idleRss = process.memoryUsage().rss
  const idleHeap = process.memoryUsage().heapUsed
  const now = Math.floor(Date.now() / 1000)
  const signature = new Uint8Array(64).fill(7)
  const publicKey = new Uint8Array(32)
  const view = new DataView(publicKey.buffer)
  let charged = 0
  let inserted = 0
  let peakRss = idleRss
  for (let i = 0; charged < factor * maxBytes; i++) {
    view.setUint32(0, i + 1)
    view.setUint32(28, Math.imul(i, 2654435761) >>> 0)
    const server = i % 4 === 3
    const rec: NodeRecord = {
      network: 'overfill.example',
      publicKey,
      seq: 1,
      issuedAt: now,
      expiresAt: now + 3600,
      kind: server ? 'server' : 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: server
        ? {
            name: `server number ${i}`,
            players: i % 16,
            maxPlayers: 16,
            world: 'q3dm17',
            version: '1.32c',
            tags: ['ctf', 'instagib'],
          }
        : null,
    }
    const signed = decodeRecord(encodeSignedRecord(rec, signature))
    const address = spread
      ? `${11 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}.1`
      : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    const e = daemon.table.insert(signed, { family: 4, address, port: 1024 + (i % 60000) })
    if (e !== undefined) {
      charged += entryCharge(e)
      inserted++
    }
    if (i % 500 === 0) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
      // Let the daemon's own timers run, as they would between datagrams.
      if (i % 10_000 === 0) await new Promise(r => setImmediate(r))
    }
  }
  await sleep(2000)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  const endRss = process.memoryUsage().rss
  gc()
  gc()
  const endHeap = process.memoryUsage().heapUsed
  const res: Result = {
    maxBytes,
    inserted,
    held: daemon.table.size,
    tableBytes: daemon.table.bytes,
    idleRss,
    peakRss,
    endRss,
    idleHeap,
    endHeap,
  }
  await daemon.close()
  await rm(dir, { recursive: true, force: true })
  return res
}

const childBytes = Number(arg('--child', '0'))
// --spread: every record from a /24 of its own (an attacker's spread), not 256 to a /24.
const spread = process.argv.includes('--spread')
const factor = Number(arg('--factor', '10'))
if (childBytes > 0) {
  console.log(JSON.stringify(await child(childBytes, factor)))
} else {
  const budgets = arg('--budgets', '8,64').split(',').map(Number)
  const v8Flags = arg('--v8', '')
    .split(' ')
    .filter(f => f !== '')
  const run = promisify(execFile)
  const self = new URL(import.meta.url).pathname
  const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`
  console.log(
    `Overfill ×${factor}${spread ? ', one /24 per record' : ''}, node ${process.version}; RSS above the daemon's idle RSS (peak: sampled during the fill, no forced GC)\n`,
  )
  console.log(
    '| maxBytes | inserted | held | table bytes | heap above idle (after GC) | peak RSS above idle | 1.25 × maxBytes | allowance used |',
  )
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const b of budgets) {
    const { stdout } = await run(
      process.execPath,
      [
        '--expose-gc',
        ...v8Flags,
        '--import',
        'tsx',
        self,
        '--child',
        String(b * MiB),
        '--factor',
        String(factor),
        ...(spread ? ['--spread'] : []),
      ],
      { timeout: 600_000, maxBuffer: 1 << 20 },
    )
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Result
    const above = r.peakRss - r.idleRss
    console.log(
      `| ${b} MiB | ${r.inserted.toLocaleString('en-US')} | ${r.held.toLocaleString('en-US')} | ${mib(r.tableBytes)} | ${mib(r.endHeap - r.idleHeap)} | ${mib(above)} | ${mib(1.25 * r.maxBytes)} | ${mib(above - 1.25 * r.maxBytes)} |`,
    )
  }
}
