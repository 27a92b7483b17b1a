import type { Stat } from '../wire/messages.js'
import { endpointToString } from '../wire/endpoint.js'
import type { ProcessFigures } from './process-health.js'
import type { RateHistory, RateWindow } from './rates.js'
import {
  ANNOUNCE_COUNTERS,
  DROP_PREFIX,
  type Drop,
  QUERY_COUNTERS,
  dropsByReason,
} from './summary.js'
import {
  ANY_SERVER,
  type OperatorInfo,
  type TableUsage,
  type TrackerView,
  type ViewEntry,
  ageSeconds,
  connectEndpoints,
} from './view.js'

/*
 * What the status page shows, as plain JSON (`GET /status.json`): the page's first rendering
 * on the server (status-page.ts) and its live updates in the browser (web/status.js) read the
 * same object. Bounded: at most MAX_NETWORKS networks and MAX_SERVERS_PER_NETWORK servers each
 * (the most players first), MAX_SERVER_ROWS in all; the rest is counted, not listed.
 */

export const MAX_NETWORKS = 64
export const MAX_SERVERS_PER_NETWORK = 100
export const MAX_SERVER_ROWS = 1_000

/** The counter the tracker keeps of reply bytes sent (present when an egress budget is set). */
export const EGRESS_BYTES_STAT = 'egress_bytes'
/** The history series of CPU seconds (the process sampler's running total). */
export const CPU_SECONDS_STAT = 'process_cpu_seconds'

/** Which counters the hour of history keeps: the charts' series and nothing else. */
export function historyKeeps(name: string): boolean {
  return (
    ANNOUNCE_COUNTERS.includes(name) ||
    QUERY_COUNTERS.includes(name) ||
    name === EGRESS_BYTES_STAT ||
    name === CPU_SECONDS_STAT ||
    name.startsWith(DROP_PREFIX)
  )
}

export interface ServerRow {
  /** Public key, hex. */
  key: string
  name: string
  players: number
  maxPlayers: number
  world: string
  version: string
  tags: string[]
  /** The announced endpoint was proven reachable (protocol §9). */
  verified: boolean
  /** Seconds since the tracker last received the record. */
  age: number
  /** Times this tracker handed the server out to a query (usage statistics). */
  served: number
  /** Where to connect (the first endpoint). */
  connect: string
}

export interface NetworkStatus {
  network: string
  /** Live server entries held (all of them, listed or not). */
  servers: number
  peers: number
  /** Servers listed here (the most players first, at most MAX_SERVERS_PER_NETWORK). */
  list: ServerRow[]
}

export interface SeriesJson {
  /** Unix ms at the end of each step, oldest first. */
  t: number[]
  announces: number[]
  queries: number[]
  /** Reply bytes per second; empty when the tracker does not count them. */
  egressBytes: number[]
  /** Drops per second by reason, each aligned with `t` (reasons with none left out). */
  drops: { reason: string; values: number[] }[]
  /** CPU share of one core. */
  cpu: number[]
}

export interface StatusJson {
  version: string
  /** Unix ms. */
  now: number
  uptime: number
  operator: OperatorInfo
  table: TableUsage
  process: ProcessFigures
  /** Per second over the last minute. */
  lastMinute: { announces: number; queries: number }
  /** Per-step rates over the last hour. */
  history: SeriesJson & { stepSeconds: number }
  drops: Drop[]
  networks: NetworkStatus[]
  /** Networks held but not listed (beyond MAX_NETWORKS). */
  networksNotListed: number
}

const NO_SEED = new Uint8Array(32)

function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 1000) / 1000 : 0
}

function sumSeries(series: Map<string, number[]>, names: readonly string[], length: number) {
  const out = new Array<number>(length).fill(0)
  for (const n of names) {
    series.get(n)?.forEach((v, i) => (out[i] = (out[i] ?? 0) + v))
  }
  return out.map(round)
}

/**
 * The networks, the most servers first, each with its servers listed. Counts come from a
 * `sample` of one (the size of the network's index, without a scan); only the listed networks
 * are scanned, by one `list` each (what a wire `list` query costs).
 */
function networkList(view: TrackerView, now: number): [NetworkStatus[], number] {
  const names = new Set([...view.networks('server'), ...view.networks('peer')])
  const select = (network: string, kind: 'server' | 'peer', mode: 'list' | 'sample', n: number) => {
    // Every entry, proven or not (the page marks which): `unproven` where the view has the flag.
    const query = {
      ...ANY_SERVER,
      network,
      kind,
      mode,
      count: n,
      offset: 0,
      sort: 'players' as const,
      seed: NO_SEED,
      unproven: true,
    }
    return view.select(query)
  }
  const all = [...names].map(network => ({
    network,
    servers: select(network, 'server', 'sample', 1).total,
    peers: select(network, 'peer', 'sample', 1).total,
  }))
  all.sort((a, b) => b.servers - a.servers || b.peers - a.peers || (a.network < b.network ? -1 : 1))
  const shown = all.slice(0, MAX_NETWORKS)
  let budget = MAX_SERVER_ROWS
  const out = shown.map(n => {
    const want = Math.min(MAX_SERVERS_PER_NETWORK, budget)
    if (n.servers === 0 || want <= 0) return { ...n, list: [] }
    const sel = select(n.network, 'server', 'list', want)
    const list = sel.entries.map(e => serverRow(e, now))
    budget -= list.length
    return { ...n, servers: sel.total, list }
  })
  return [out, all.length - shown.length]
}

function serverRow(e: ViewEntry, now: number): ServerRow {
  const s = e.record.server
  const k = e.record.publicKey
  return {
    key: Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex'),
    name: s?.name ?? '',
    players: s?.players ?? 0,
    maxPlayers: s?.maxPlayers ?? 0,
    world: s?.world ?? '',
    version: s?.version ?? '',
    tags: [...(s?.tags ?? [])],
    verified: e.verified,
    age: ageSeconds(e, now),
    served: e.served ?? 0,
    connect: connectEndpoints(e).map(endpointToString)[0] ?? '',
  }
}

export interface StatusSources {
  view: TrackerView
  version: string
  /** The last minute, for the headline rates. */
  minute: RateWindow
  /** The last hour, for the charts. */
  hour: RateHistory
  process: ProcessFigures
}

export function statusJson(src: StatusSources): StatusJson {
  const { view } = src
  const now = view.clock.now()
  const stats: readonly Stat[] = view.stats()
  const r = src.minute.rates(now, stats)
  const sum = (names: readonly string[]) => round(names.reduce((a, n) => a + (r.get(n) ?? 0), 0))
  const h = src.hour.series()
  const len = h.t.length
  const drops = [...h.series]
    .filter(([name, v]) => name.startsWith(DROP_PREFIX) && v.some(x => x > 0))
    .map(([name, v]) => ({ reason: name.slice(DROP_PREFIX.length), values: v.map(round) }))
  const [networks, networksNotListed] = networkList(view, now)
  return {
    version: src.version,
    now,
    uptime: Math.max(0, Math.floor((now - view.startedAt) / 1000)),
    operator: { ...view.operator },
    table: { ...view.table() },
    process: { ...src.process },
    lastMinute: { announces: sum(ANNOUNCE_COUNTERS), queries: sum(QUERY_COUNTERS) },
    history: {
      stepSeconds: src.hour.stepMs / 1000,
      t: h.t,
      announces: sumSeries(h.series, ANNOUNCE_COUNTERS, len),
      queries: sumSeries(h.series, QUERY_COUNTERS, len),
      egressBytes: h.series.has(EGRESS_BYTES_STAT)
        ? sumSeries(h.series, [EGRESS_BYTES_STAT], len)
        : [],
      drops,
      cpu: sumSeries(h.series, [CPU_SECONDS_STAT], len),
    },
    drops: dropsByReason(stats),
    networks,
    networksNotListed,
  }
}
