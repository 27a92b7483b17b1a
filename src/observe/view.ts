import type { Clock } from '../clock.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { WireErrorCode } from '../wire/constants.js'
import type { AnnounceStatus, QueryMode, QuerySort, Stat } from '../wire/messages.js'
import type { NodeKind, NodeRecord } from '../wire/record.js'

/**
 * What the observers (status page, JSON API, metrics, listing ports) may see of a running
 * tracker. Read-only but for one optional capability (`announce`, HTTP registration) and
 * transport-free: the Daemon adapts itself to it in one place (`daemon-view.ts`), tests pass a
 * plain object.
 */
export interface TrackerView {
  readonly clock: Clock
  /** When the tracker started, Unix ms (uptime = now - startedAt). */
  readonly startedAt: number
  readonly operator: OperatorInfo
  /** The tracker's named counters (snake_case), as the stats-reply carries them. */
  stats(): readonly Stat[]
  /** Table occupancy against its budget. */
  table(): TableUsage
  /** Networks holding at least one entry of this kind. */
  networks(kind: NodeKind): string[]
  /**
   * Entries of one network and kind chosen as a wire query would choose them (protocol §8.5:
   * `sample`, `list` or `best`, with the same filters). Only the returned entries are decoded.
   */
  select(q: ViewQuery): ViewSelection
  /**
   * Registration over HTTP (`POST /v1/announce`, docs/protocol.md §12): `record` (the signed
   * record bytes) handled by the same rules as a TCP announce (§8.3), from `source` (the client
   * address, the connection's port). Null: no answer (a denied source address, a tracker that is
   * stopping); the HTTP listener closes the connection. Absent: the route is off (404).
   */
  announce?(
    record: Uint8Array,
    source: AnnounceSource,
  ): AnnounceOutcome | null | Promise<AnnounceOutcome | null>
}

/** Who sent an HTTP announce: the client's address and the connection's source port. */
export interface AnnounceSource {
  address: string
  port: number
}

/** The name of a protocol §6 error code (`STALE_SEQUENCE`, ...). */
export type WireErrorName = keyof typeof WireErrorCode

/** What an announce came to: stored (as an announce-reply says, §8.4) or refused (§6). */
export type AnnounceOutcome =
  | { ok: true; status: AnnounceStatus; observed: Endpoint; interval: number }
  | { ok: false; error: WireErrorName; retryAfter: number }

/** Filters of a server query; '' / false / [] mean any. */
export interface ServerFilter {
  world: string
  version: string
  notFull: boolean
  tags: readonly string[]
}

export const ANY_SERVER: ServerFilter = { world: '', version: '', notFull: false, tags: [] }

export interface ViewQuery extends ServerFilter {
  network: string
  kind: NodeKind
  mode: QueryMode
  /** Entries wanted (list: after `offset`). */
  count: number
  offset: number
  sort: QuerySort
  /** `sample`: the same seed gets the same sample while the table holds still. */
  seed: Uint8Array
  /** Include entries none of whose endpoints is proven (protocol §8.5 flag); absent = false. */
  unproven?: boolean
}

export interface ViewSelection {
  /** How many live entries matched in all. */
  total: number
  entries: ViewEntry[]
}

export interface OperatorInfo {
  name: string
  location: string
  contact: string
}

export interface TableUsage {
  entries: number
  bytes: number
  maxEntries: number
  maxBytes: number
}

export interface ViewEntry {
  /** The decoded fields of the record. */
  record: NodeRecord
  /** The exact signed bytes, as announced. */
  bytes: Uint8Array
  /** The source endpoint the tracker saw the announce come from. */
  observed: Endpoint
  /** When the tracker last received the record, Unix ms. */
  lastSeen: number
  /** At least one endpoint is proven reachable (protocol §9). */
  verified: boolean
  /** Which: bit i = connectEndpoints(e)[i] (absent: none known). */
  proven?: number
  /** When the last proof arrived, Unix ms (0 = never). */
  provenAt?: number
  /** Times this tracker handed the entry out to a query (usage statistics). */
  served?: number
}

export const EMPTY_OPERATOR: OperatorInfo = { name: '', location: '', contact: '' }

/**
 * The endpoints a client should connect to: announced endpoints with an unspecified address
 * take the observed address (protocol §4); no announced endpoint means the observed one.
 */
export function connectEndpoints(e: ViewEntry): Endpoint[] {
  if (e.record.endpoints.length === 0) return [e.observed]
  return e.record.endpoints.map(ep =>
    isUnspecified(ep)
      ? { family: e.observed.family, address: e.observed.address, port: ep.port }
      : ep,
  )
}

function isUnspecified(ep: Endpoint): boolean {
  return ep.address === '0.0.0.0' || ep.address === '::'
}

/** Seconds since the tracker last received the record, never negative. */
export function ageSeconds(e: ViewEntry, now: number): number {
  return Math.max(0, Math.floor((now - e.lastSeen) / 1000))
}

/** True while the record has not expired at `now` (Unix ms). */
export function isLive(e: ViewEntry, now: number): boolean {
  return e.record.expiresAt * 1000 > now
}
