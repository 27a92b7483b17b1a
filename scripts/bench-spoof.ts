/*
 * Spoofed-source measurements (docs/operations.md, flood control; docs/protocol.md §8.2).
 *
 *   npx tsx scripts/bench-spoof.ts [forged=50000] [clients=200]
 *
 * Part 1, socket-free: forged datagrams from `forged` random source addresses (cookie requests,
 * requests with junk or missing cookies) go through the handler at 50,000 a simulated second,
 * interleaved with validated clients' queries. Nothing is sent anywhere. Reports the validated
 * success rate, bytes in and out for the unvalidated traffic (amplification), and the flood
 * table before and after.
 *
 * Part 2, loopback (127.0.0.1 only): a real tracker, 20 validated UDP clients querying while one
 * socket floods it with 40,000 cookie requests and junk-cookie queries. Reports the clients'
 * success rate and the bytes the flooder sent and got back.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSocket } from 'node:dgram'
import { ManualClock } from '../src/clock.js'
import { DEFAULT_FLOOD, FloodControl } from '../src/throttle/flood.js'
import { Daemon } from '../src/tracker/daemon.js'
import type { Source } from '../src/tracker/handlers/index.js'
import { encodeMessage } from '../src/wire/messages.js'
import { harness } from '../test/helpers/handler.js'
import { UdpTrackerClient, queryMessage } from '../test/helpers/tracker.js'
import { prng } from '../test/helpers/prng.js'

const forged = Number(process.argv[2] ?? 50_000)
const clientCount = Number(process.argv[3] ?? 200)

function socketFree(): Record<string, unknown> {
  const clock = new ManualClock()
  const flood = new FloodControl(DEFAULT_FLOOD, { clock })
  const h = harness({}, { flood, clock })
  const rand = prng(1)
  const clients = Array.from({ length: clientCount }, (_, i) =>
    h.source(`10.${1 + (i >> 8)}.${i & 0xff}.1`, 20_000 + i),
  )
  for (const c of clients) h.send(queryMessage(), c)
  const before = { sources: flood.sources, evicted: flood.counts.evicted }
  let asked = 0
  let served = 0
  let bytesIn = 0
  let bytesOut = 0
  for (let i = 0; i < forged; i++) {
    const o = (): number => Math.floor(rand() * 256)
    const src: Source =
      rand() < 0.8
        ? h.source(`${1 + Math.floor(rand() * 222)}.${o()}.${o()}.${o()}`, 1 + (i % 65535))
        : h.source(
            `2001:${o().toString(16)}:${i.toString(16)}::${o().toString(16)}`,
            1 + (i % 65535),
          )
    const junk = new Uint8Array(12).map(() => o())
    const bytes =
      i % 3 === 0
        ? encodeMessage({ type: 'cookie-request', txid: i })
        : encodeMessage({
            ...queryMessage({ txid: i }),
            cookie: i % 3 === 1 ? junk : new Uint8Array(12),
          })
    bytesIn += bytes.byteLength
    const r = h.raw(bytes, src)
    if (r !== null) bytesOut += r.bytes.byteLength
    if (i % 50 === 49) clock.advance(1)
    if (i % 25 === 24) {
      const c = clients[asked % clients.length] as Source
      asked++
      if (h.send(queryMessage({ txid: i }), c)?.type === 'introductions') served++
    }
  }
  return {
    forged,
    forgedPerSimulatedSecond: 50_000,
    validatedAsked: asked,
    validatedServed: served,
    successRate: served / asked,
    unvalidatedBytesIn: bytesIn,
    unvalidatedBytesOut: bytesOut,
    amplification: Number((bytesOut / bytesIn).toFixed(3)),
    cookiesIssued: h.stats.get('cookies_issued'),
    droppedCookieBudget: h.stats.get('dropped_cookie_budget'),
    floodTableBefore: before,
    floodTableAfter: { sources: flood.sources, evicted: flood.counts.evicted },
  }
}

async function loopback(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mt-bench-spoof-'))
  // Clients and flooder share 127.0.0.1, so the bucket must hold the clients' own rate.
  const flood = new FloodControl({ rate: 1000, burst: 2000, sources: 10_000 })
  const daemon = await Daemon.start(
    { host: ['127.0.0.1'], udp: 0, tcp: null, data: dataDir },
    { flood },
  )
  const port = daemon.addresses().udp ?? 0
  const clients = await Promise.all(
    Array.from({ length: 20 }, () => UdpTrackerClient.open('127.0.0.1', port)),
  )
  const flooder = createSocket('udp4')
  await new Promise<void>(resolve => flooder.bind(0, '127.0.0.1', resolve))
  let floodIn = 0
  let floodOut = 0
  flooder.on('message', m => {
    floodIn += m.byteLength
  })
  const req = encodeMessage({ type: 'cookie-request', txid: 1 })
  const junk = encodeMessage({ ...queryMessage(), cookie: new Uint8Array(12).fill(9) })
  const TOTAL = 40_000
  let flooding = true
  const done = (async () => {
    for (let sent = 0; sent < TOTAL;) {
      for (let j = 0; j < 200; j++, sent++) {
        const b = sent % 2 ? req : junk
        floodOut += b.byteLength
        flooder.send(b, port, '127.0.0.1')
      }
      await new Promise(resolve => setTimeout(resolve, 2))
    }
    flooding = false
  })()
  let asked = 0
  let served = 0
  const t0 = Date.now()
  await Promise.all(
    clients.map(async c => {
      while (flooding) {
        asked++
        const r = await c.request(queryMessage(), 3000)
        if (r?.type === 'introductions') served++
      }
    }),
  )
  await done
  const elapsed = (Date.now() - t0) / 1000
  await new Promise(resolve => setTimeout(resolve, 200))
  const s = daemon.stats
  const out = {
    floodDatagrams: TOTAL,
    floodSeconds: Number(elapsed.toFixed(2)),
    floodBytesSent: floodOut,
    floodBytesReturned: floodIn,
    amplification: Number((floodIn / floodOut).toFixed(3)),
    validatedAsked: asked,
    validatedServed: served,
    successRate: served / asked,
    cookiesIssued: s.get('cookies_issued'),
    droppedCookieBudget: s.get('dropped_cookie_budget'),
    droppedFlood: s.get('dropped_flood'),
    udpReceived: s.get('udp_received'),
    udpQueueOverflow: s.get('udp_queue_overflow'),
    floodSources: flood.sources,
    recvBuffer: daemon.addresses().listeners[0]?.recvBuffer,
  }
  await Promise.all(clients.map(c => c.close()))
  flooder.close()
  await daemon.close()
  await rm(dataDir, { recursive: true, force: true })
  return out
}

console.log(JSON.stringify({ socketFree: socketFree() }, null, 2))
console.log(JSON.stringify({ loopback: await loopback() }, null, 2))
