// One metatracker front-end as it ships (the tsc build of src/, see scripts/peers/servers.ts) in
// its own process on 127.0.0.1 port 0, for scripts/bench-scale-out.ts: a Daemon with the
// in-memory table, or over a shared store (`--store redis-cluster://...`, docs/scale-out.md).
// Usage: node scripts/peers/front-end-server.mjs --dist DIR [--store URL] [--verify-workers N]
//   DIR is the build's output directory (it holds tracker/daemon.js and store/open.js).
//   Prints {"port":N} once listening (UDP) and serves until stdin closes or SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const dist = arg('--dist', '')
if (dist === '') throw new Error('--dist DIR is required')
const store = arg('--store', 'memory')
const verifyWorkers = Number(arg('--verify-workers', '0'))
const { Daemon } = await import(pathToFileURL(join(dist, 'tracker/daemon.js')).href)
const { openStore } = await import(pathToFileURL(join(dist, 'store/open.js')).href)

const MAX_ENTRIES = 1_000_000
const MAX_BYTES = 4 * 1024 ** 3
const dir = await mkdtemp(join(tmpdir(), 'mt-front-'))
const deps =
  store === 'memory'
    ? {}
    : {
        openStore: table =>
          openStore(store, {
            table,
            clock: { now: () => Date.now() },
            maxEntries: MAX_ENTRIES,
            maxBytes: MAX_BYTES,
            perBlock: 100_000_000,
            perWideBlock: 100_000_000,
            maxTtl: 3600,
            serverTtl: 3600,
            replayMemory: MAX_ENTRIES,
          }),
      }
const daemon = await Daemon.start(
  {
    udp: 0,
    tcp: null,
    data: dir,
    maxEntries: MAX_ENTRIES,
    maxBytes: MAX_BYTES,
    perBlock: 100_000_000,
    perWideBlock: 100_000_000,
    listUnproven: true,
    verifyWorkers,
  },
  deps,
)
console.log(JSON.stringify({ port: daemon.addresses().udp }))

let closing = null
const stop = () => {
  closing ??= daemon
    .close()
    .then(() => rm(dir, { recursive: true, force: true }))
    .finally(() => process.exit(0))
  return closing
}
process.stdin.on('end', stop)
process.once('SIGTERM', stop)
process.stdin.resume()
