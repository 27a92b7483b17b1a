// Cost of the observers (JSON API, listing ports, status page, metrics) at table scale, side by
// side in one run with the tracker's own wire answer to the same question (a `list` query of
// 100 servers, encoded as an introductions message): the peer every figure is a ratio to.
// Usage: npm run bench:observe [-- --seconds 1 --servers 20000 --peers 100000]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { ManualClock } from '../src/clock.js'
import { Daemon } from '../src/tracker/daemon.js'
import { daemonView } from '../src/ops/daemon-view.js'
import { HttpApi } from '../src/observe/http-api.js'
import { HttpListener } from '../src/observe/http-listener.js'
import { ListingSource } from '../src/observe/listing-listener.js'
import { createMetrics } from '../src/observe/metrics.js'
import { standaloneWebPages } from '../src/observe/web-pages.js'
import { DEFAULT_LISTING_OPTIONS } from '../src/observe/listing-listener.js'
import { list } from '../src/table/select.js'
import { encodeMessage } from '../src/wire/messages.js'
import { type NodeRecord, decodeRecord, encodeSignedRecord } from '../src/wire/record.js'

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const seconds = arg('seconds', 1)
const SERVERS = arg('servers', 20_000)
const PEERS = arg('peers', 100_000)

async function rate(name: string, fn: () => unknown): Promise<{ name: string; perSecond: number }> {
  for (let i = 0; i < 5; i++) await fn() // warm up
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

const clock = new ManualClock(Date.now())
const daemon = new Daemon(
  {
    host: ['127.0.0.1'],
    udp: 0,
    tcp: 0,
    data: '/nonexistent',
    maxEntries: SERVERS + PEERS + 10,
    maxBytes: 1024 * 1024 * 1024,
    perBlock: 1_000_000,
  },
  { clock },
)
const now = Math.floor(clock.now() / 1000)
// The table stores verified records; it does not check signatures itself, so a zero signature
// keeps setup fast. Names and players vary so sorting does real work.
function fill(kind: 'peer' | 'server', i: number): void {
  const fields: NodeRecord = {
    network: 'quake.example',
    publicKey: randomBytes(32),
    seq: 1,
    issuedAt: now,
    expiresAt: now + 3600,
    kind,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 27_960 }],
    server:
      kind === 'server'
        ? {
            name: `Server ${i} ${'x'.repeat(i % 40)}`,
            players: i % 17,
            maxPlayers: 16,
            world: `map${i % 30}`,
            version: '1.2',
            tags: ['ffa'],
          }
        : null,
  }
  const signed = decodeRecord(encodeSignedRecord(fields, new Uint8Array(64)))
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
  daemon.table.insert(signed, { family: 4, address: ip, port: 40_000 }, clock.now())
}
for (let i = 0; i < SERVERS; i++) fill('server', i)
for (let i = 0; i < PEERS; i++) fill('peer', i)

const view = daemonView(daemon, { name: 'bench', location: 'here', contact: 'ops@example.org' })
const metrics = createMetrics(view, 'bench')
// Every call must do the whole work: /v1/servers answers are cached per query (for longer when
// costly, see reuse.ts), so each call asks for another page (`offset`); listings get a fresh
// source per call.
// cacheMs 0: every status page is built afresh (an open page's /status.json is reused for 2 s).
const api = new HttpApi(view, standaloneWebPages(view, 'bench', { cacheMs: 0 }), metrics)
let page = 0
const paged = (url: string): string => `${url}&offset=${page++ % 1000}`
const get = async (url: string): Promise<void> => {
  const { reply } = await api.handle({ method: 'GET', url, remoteAddress: '127.0.0.1' })
  if (reply?.status !== 200) throw new Error(`${url}: ${reply?.status} ${reply?.body}`)
}
const listing = (kind: 'text' | 'verbose' | 'json') => async () => {
  const src = new ListingSource(
    view,
    { port: 0, kind, network: 'quake.example' },
    DEFAULT_LISTING_OPTIONS,
  )
  await src.output()
}

const rows: { name: string; perSecond: number }[] = []
rows.push(
  await rate('wire `list` query, 100 servers (encoded introductions)', () => {
    const sel = list(daemon.table, {
      network: 'quake.example',
      kind: 'server',
      count: 100,
      offset: 0,
      sort: 'players',
      notFull: false,
      world: '',
      version: '',
      tags: [],
      exclude: null,
    })
    return encodeMessage({
      type: 'introductions',
      txid: 1,
      total: Math.min(0xffff, sel.total),
      entries: sel.entries.map(e => ({
        observed: e.observed,
        verified: false,
        age: 0,
        record: e.recordBytes,
      })),
    })
  }),
)
rows.push(
  await rate('GET /v1/servers?network=N (100 servers, JSON)', () =>
    get(paged('/v1/servers?network=quake.example')),
  ),
)
rows.push(
  await rate('GET /v1/servers?...&best=1&world=map7', () =>
    get(paged('/v1/servers?network=quake.example&best=1&world=map7')),
  ),
)
rows.push(
  await rate('GET /v1/peers?network=N (sample of 20)', () =>
    get('/v1/peers?network=quake.example'),
  ),
)
rows.push(await rate('GET / (status page)', () => get('/')))
rows.push(await rate('GET /metrics', () => get('/metrics')))
rows.push(await rate('listing text (1 MiB cap)', listing('text')))
rows.push(await rate('listing verbose (1 MiB cap)', listing('verbose')))
rows.push(await rate('listing json (1 MiB cap)', listing('json')))

// Over a real socket: sequential keep-alive requests from this process (client cost included).
const http = await HttpListener.start(api, { hosts: ['127.0.0.1'], port: 0 })
const base = `http://127.0.0.1:${http.port}`
rows.push(
  await rate('loopback HTTP GET /healthz (fetch, one at a time)', async () => {
    await (await fetch(`${base}/healthz`)).arrayBuffer()
  }),
)
rows.push(
  await rate('loopback HTTP GET /v1/servers (fetch, one at a time, cached)', async () => {
    await (await fetch(`${base}/v1/servers?network=quake.example`)).arrayBuffer()
  }),
)
await http.close()

const peer = rows[0]?.perSecond ?? 1
console.log(
  `node ${process.version}, ${seconds} s per row, ${SERVERS.toLocaleString('en-US')} servers + ${PEERS.toLocaleString('en-US')} peers in one network\n`,
)
console.log('| operation | per second | ms each | vs wire list |')
console.log('|---|---:|---:|---:|')
for (const r of rows) {
  console.log(
    `| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${(1000 / r.perSecond).toFixed(2)} | ${(r.perSecond / peer).toFixed(2)}x |`,
  )
}
