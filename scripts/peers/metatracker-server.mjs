// metatracker as it ships (the tsc build of src/, made by scripts/bench-peers.ts: no tsx in
// the path) for scripts/bench-peers.ts, in its own process on 127.0.0.1 port 0. A Daemon: the
// protocol engine without the operator layer's flood gate.
// Usage: node scripts/peers/metatracker-server.mjs --dist DIR [--sample 10000] [--memory N]
//          [--verify-workers N]
//   DIR is the build's output directory (it holds tracker/daemon.js).
//   Serving: fills --sample peer entries of network bench.example (directly: their signatures
//   are not what is measured), prints {"port":N} and serves until stdin closes.
//   --memory N (run with --expose-gc): no socket traffic; builds a Daemon with maxEntries N and
//   inserts N peer entries into its table (135-byte records with their 64-byte signature,
//   distinct keys and addresses) and prints
//   {"entries","recordBytes","rssBefore","rssAfter","heapBefore","heapAfter"}.
//   --verify-workers N: the Daemon's `verifyWorkers` (0 = verify on the main thread); absent,
//   its default.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout } from 'node:timers'
import { pathToFileURL } from 'node:url'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const sample = Number(arg('--sample', '10000'))
const memory = Number(arg('--memory', '0'))
const verifyWorkers = arg('--verify-workers', '')
const now = Math.floor(Date.now() / 1000)
const dist = arg('--dist', '')
if (dist === '') throw new Error('--dist DIR is required')
const { Daemon } = await import(pathToFileURL(join(dist, 'tracker/daemon.js')).href)
const { decodeRecord, encodeSignedRecord } = await import(
  pathToFileURL(join(dist, 'wire/record.js')).href
)

const gc = globalThis.gc ?? (() => {})
const measure = () => {
  gc()
  gc()
  return process.memoryUsage()
}
// Measured before the Daemon is built, so what it reserves for `maxEntries` at start counts.
const before = measure()
const dir = await mkdtemp(join(tmpdir(), 'mt-peers-'))
const daemon = await Daemon.start({
  udp: 0,
  tcp: null,
  data: dir,
  maxEntries: memory > 0 ? memory : 1_000_000,
  maxBytes: 4 * 1024 ** 3,
  perBlock: 100_000_000,
  perWideBlock: 100_000_000,
  // The sampled entries are inserted directly and carry no proof of address (docs/protocol.md
  // §9): hand them out anyway, or a sample would answer with no entry. (A tree without the
  // option leaves the key out.)
  listUnproven: true,
  ...(verifyWorkers === '' ? {} : { verifyWorkers: Number(verifyWorkers) }),
})

function fill(count, network, first) {
  const signature = new Uint8Array(64).fill(7)
  const publicKey = new Uint8Array(32)
  const view = new DataView(publicKey.buffer)
  let bytes = 0
  for (let i = first; i < first + count; i++) {
    view.setUint32(0, i + 1)
    view.setUint32(28, Math.imul(i, 2654435761) >>> 0)
    const rec = decodeRecord(
      encodeSignedRecord(
        {
          network,
          publicKey,
          seq: 1,
          issuedAt: now,
          expiresAt: now + 3600,
          kind: 'peer',
          endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
          server: null,
        },
        signature,
      ),
    )
    bytes += rec.bytes.byteLength
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    daemon.table.insert(rec, { family: 4, address, port: 1024 + (i % 60000) })
  }
  return bytes
}

if (memory > 0) {
  const recordBytes = fill(memory, 'memory.example', 0)
  await new Promise(resolve => setTimeout(resolve, 2000)) // let the heap settle, as bittorrent-tracker's
  const after = measure()
  console.log(
    JSON.stringify({
      entries: daemon.table.size,
      recordBytes,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
    }),
  )
  await daemon.close()
  await rm(dir, { recursive: true, force: true })
} else {
  fill(sample, 'bench.example', 0)
  console.log(JSON.stringify({ port: daemon.addresses().udp }))
  process.stdin.on('end', () => {
    void daemon.close().then(() => rm(dir, { recursive: true, force: true }))
  })
  // Exit on SIGTERM through process.exit, so that `node --cpu-prof` writes its profile.
  process.once('SIGTERM', () => {
    void daemon
      .close()
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(0))
  })
  process.stdin.resume()
}
