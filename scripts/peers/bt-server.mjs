// bittorrent-tracker (webtorrent's, installed on demand by scripts/bench-peers.ts into a
// temporary directory, never a dependency) as a BEP 15 UDP tracker on 127.0.0.1 port 0.
// Usage: node bt-server.mjs DIR [--memory N]
//   DIR holds node_modules/bittorrent-tracker. Prints {"port":N} and serves until stdin closes.
//   --memory N: no socket; announces N distinct peers (100 per torrent) through the server's
//   own request path and prints {"entries","rssBefore","rssAfter","heapBefore","heapAfter"}.
import { join } from 'node:path'
import { setImmediate, setTimeout } from 'node:timers'
import { pathToFileURL } from 'node:url'

const dir = process.argv[2]
const memIdx = process.argv.indexOf('--memory')
const memory = memIdx > 0 ? Number(process.argv[memIdx + 1]) : 0
const { default: Server } = await import(
  pathToFileURL(join(dir, 'node_modules/bittorrent-tracker/server.js')).href
)

if (memory > 0) {
  const gc = globalThis.gc ?? (() => {})
  const server = new Server({ udp: false, http: false, ws: false, stats: false })
  server.on('error', () => {})
  server.on('warning', () => {})
  const per = 100
  const measure = () => {
    gc()
    gc()
    return process.memoryUsage()
  }
  const hex = (n, width) => n.toString(16).padStart(width, '0')
  const before = measure()
  // Swarms first: createSwarm is asynchronous, and announces racing for a torrent that does not
  // exist yet would each create (and replace) its swarm.
  for (let t = 0; t * per < memory; t++) {
    await new Promise(resolve => server.createSwarm(hex(t, 40), resolve))
  }
  let done = 0
  await new Promise((resolve, reject) => {
    const one = i => {
      const params = {
        type: 'udp',
        action: 1,
        info_hash: hex(Math.floor(i / per), 40),
        peer_id: hex(i, 40),
        downloaded: 0,
        left: 1,
        uploaded: 0,
        event: 'started',
        ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        port: 6881,
        numwant: 0,
        compact: 1,
      }
      params.addr = `${params.ip}:${params.port}`
      server._onRequest(params, err => {
        if (err) return reject(err)
        done++
        if (done === memory) resolve()
      })
    }
    let i = 0
    const batch = () => {
      for (let k = 0; k < 10_000 && i < memory; k++) one(i++)
      if (i < memory) setImmediate(batch)
    }
    batch()
  })
  await new Promise(resolve => setTimeout(resolve, 2000)) // let the heap settle, as metatracker's
  const after = measure()
  const held = Object.values(server.torrents).reduce((n, s) => n + s.peers.length, 0)
  if (held !== memory) throw new Error(`bittorrent-tracker holds ${held} peers, not ${memory}`)
  console.log(
    JSON.stringify({
      entries: memory,
      rssBefore: before.rss,
      rssAfter: after.rss,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
    }),
  )
  server.close()
} else {
  const server = new Server({ udp: true, http: false, ws: false, stats: false })
  server.on('error', err => {
    console.error(`bittorrent-tracker: ${err.message}`)
  })
  server.on('warning', () => {})
  server.on('listening', () => {
    console.log(JSON.stringify({ port: server.udp4.address().port }))
  })
  // Both sockets bind loopback only (udp6 to ::1; nothing is sent there).
  server.listen(0, { udp: '127.0.0.1', udp6: '::1' })
  process.stdin.on('end', () => {
    server.close()
  })
  process.stdin.resume()
}
