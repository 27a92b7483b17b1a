// Bytes of memory per held entry at 1,000,000 entries, beyond the record bytes themselves.
// Usage: node --expose-gc --import tsx scripts/bench-tracker-memory.ts [--entries N] [--kind peer|server] [--spread]
// Fills a ClientTable directly (records with zero signatures: the table never verifies) and
// compares heapUsed + arrayBuffers before and after, both after full GCs. Not a test.
import { ManualClock } from '../src/clock.js'
import { ClientTable } from '../src/table/client-table.js'
import { encodeSignedRecord, decodeRecord, type NodeRecord } from '../src/wire/record.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const entries = Number(arg('--entries', '1000000'))
const kind = arg('--kind', 'peer') === 'server' ? 'server' : 'peer'
// --spread: every entry from its own /24 (an attacker's spread), not 256 per /24.
const spread = process.argv.includes('--spread')

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error('run with node --expose-gc')
  process.exit(2)
}

function used(): number {
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}
const rss = (): number => process.memoryUsage().rss

const T0 = 1_800_000_000
const clock = new ManualClock(T0 * 1000)
const before = used()
const rssBefore = rss()
const table = new ClientTable({
  maxEntries: entries,
  maxBytes: 8 * 1024 ** 3,
  maxTtl: 3600,
  perBlockMax: entries,
  clock,
})
const signature = new Uint8Array(64)
const publicKey = new Uint8Array(32)
const view = new DataView(publicKey.buffer)
let recordBytes = 0
const start = performance.now()
for (let i = 0; i < entries; i++) {
  view.setUint32(0, i)
  view.setUint32(28, i * 2654435761)
  const rec: NodeRecord = {
    network: 'quake.example',
    publicKey,
    seq: 1 + (i % 1000),
    issuedAt: T0,
    expiresAt: T0 + 3600,
    kind,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
    server:
      kind === 'server'
        ? {
            name: `server ${i}`,
            players: i % 16,
            maxPlayers: 16,
            world: 'q3dm17',
            version: '1.32c',
            tags: ['ctf'],
          }
        : null,
  }
  const signed = decodeRecord(encodeSignedRecord(rec, signature))
  recordBytes += signed.bytes.byteLength
  const address = spread
    ? `${11 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}.1`
    : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
  table.insert(signed, { family: 4, address, port: 1024 + (i % 60000) })
}
const fillSeconds = (performance.now() - start) / 1000
const after = used()
const perEntry = (after - before - recordBytes) / table.size
const rssAfter = rss()
console.log(
  JSON.stringify({
    node: process.version,
    kind,
    spread,
    entries: table.size,
    recordBytesAvg: Math.round(recordBytes / entries),
    heapDeltaBytes: after - before,
    bytesPerEntryBeyondRecord: Math.round(perEntry),
    rssPerEntry: Math.round((rssAfter - rssBefore) / table.size),
    tableChargedBytes: table.bytes,
    fillSeconds: Number(fillSeconds.toFixed(1)),
  }),
)
