import type { Clock } from '../clock.js'
import type { ErrorCode } from '../errors.js'
import type { Logger } from '../log.js'
import type { TrackerHealth } from './health.js'
import type { QueryMode, QuerySort } from '../wire/messages.js'
import type { NodeKind } from '../wire/record.js'
import type { Resolver } from './resolve.js'
import type { Timers } from './timing.js'
import type { TrackerAddress } from './trackers.js'
import type { TcpTransport } from './transport/tcp.js'
import type { UdpTransport } from './transport/udp.js'
import type { DropCounts, ServerFilter, VerifiedEntry } from './verify.js'

/* The Querier's options, queries, results and events (src/client/querier.ts). */

export interface QuerierOptions {
  trackers: readonly TrackerAddress[]
  /** Milliseconds one tracker gets to answer before the next is asked (default 2000). */
  timeout?: number
  /** Milliseconds one call may take in all, failover included (default 10000). */
  deadline?: number
  /**
   * How many trackers must answer before a call returns (default 1: ask one, fail over on
   * error). With more, answers are merged (highest seq per key wins).
   */
  answers?: number
  /** 'random' (default) asks trackers in a fresh random order per call; 'given' in list order. */
  order?: 'random' | 'given'
  clock?: Clock
  timers?: Timers
  random?: () => number
  resolve?: Resolver
  /** Where a throwing event listener is reported (it never changes an attempt's outcome). */
  logger?: Logger
  /**
   * Ask the next tracker in parallel when the first has not answered within its usual latency
   * (p95 of its recent answers, at least `hedgeMin`, at most a quarter of `timeout`); the first
   * good answer wins and the other request is cancelled. At most one extra request per call
   * (default true).
   */
  hedge?: boolean
  /** Shortest wait before a hedged request, ms (default 50). */
  hedgeMin?: number
  /**
   * What is remembered of each tracker (failures, back-off, latency): by default the memory of
   * the UDP transport, shared with every client that shares it (see health.ts).
   */
  health?: TrackerHealth
  /** Share a transport with other clients; otherwise the Querier opens (and closes) its own. */
  udp?: UdpTransport
  tcp?: TcpTransport
}

export type TransportChoice = 'auto' | 'udp' | 'tcp'

export interface CallOptions {
  signal?: AbortSignal
  /**
   * 'auto' (default): UDP, then TCP from the same tracker when the reply says more matched than
   * fit in the datagram and more were asked for. 'udp': never TCP. 'tcp': TCP only.
   */
  transport?: TransportChoice
}

export interface PeerQuery {
  network: string
  /** 1–100 (default 20). */
  count?: number
  /** The asker's own public key, left out of the answer. */
  exclude?: Uint8Array | null
  /** Include entries no endpoint of which is proven reachable (protocol §8.5); default false. */
  unproven?: boolean
}

export interface ServerQuery extends ServerFilter {
  network: string
  /** 1–1000 (default 100); above what one UDP reply holds, TCP pages are used. */
  count?: number
  sort?: QuerySort
  exclude?: Uint8Array | null
  /** Include servers no endpoint of which is proven reachable (protocol §8.5); default false. */
  unproven?: boolean
}

export interface BestQuery {
  network: string
  /** The world the asker wants to join. */
  world: string
  version?: string
  tags?: readonly string[]
  exclude?: Uint8Array | null
}

export type AttemptOutcome =
  | 'ok'
  | 'timeout'
  | 'refused'
  | 'rate-limited'
  | 'unreachable'
  | 'bad-reply'
  | 'aborted'
  /** Asked, then cancelled because another tracker answered first (a hedged request). */
  | 'cancelled'

/** What asking one tracker came to. */
export interface Attempt {
  tracker: string
  outcome: AttemptOutcome
  transport: 'udp' | 'tcp' | 'udp+tcp'
  /** Entries received and kept after verification (ok only). */
  entries?: number
  /** Error code when the attempt failed. */
  code?: ErrorCode
  message?: string
  /** Wire error code (§6) when the tracker refused. */
  wireCode?: number
  /** Seconds the tracker asked us to wait (rate-limited). */
  retryAfter?: number
  /** True when the tracker was not asked because its retryAfter had not passed (§8.7). */
  skipped?: boolean
  /** ok only: more matched than arrived and the rest could not be fetched (why). */
  partial?: string
  /** Milliseconds from the request to the answer or failure. */
  ms?: number
  /** True when this tracker was asked in parallel because the one before was slow (hedge). */
  hedge?: boolean
}

export interface QueryResult {
  entries: VerifiedEntry[]
  /** How many entries the answering tracker(s) said matched in all. */
  total: number
  /** Labels of the trackers whose answers were used. */
  answeredBy: string[]
  /** Every tracker asked, in order. */
  attempts: Attempt[]
  /** Entries dropped by the client's own checks. */
  dropped: DropCounts
  /**
   * True when a tracker said more entries matched than it sent and the rest could not be
   * fetched (the TCP follow-up failed, or was not allowed): `entries` is not all there is.
   * The attempt that answered says why (`partial`).
   */
  partial: boolean
}

export interface BestResult extends QueryResult {
  best: VerifiedEntry | null
}

export interface QuerierEvents {
  /** About to ask a tracker. */
  ask: [{ tracker: string; transport: 'udp' | 'tcp' }]
  /** A tracker answered or failed. */
  attempt: [Attempt]
}

export interface Spec {
  network: string
  kind: NodeKind
  mode: QueryMode
  count: number
  sort: QuerySort
  filter: ServerFilter | undefined
  world: string
  version: string
  tags: readonly string[]
  notFull: boolean
  exclude: Uint8Array | null
  unproven?: boolean
}

export interface OneAnswer {
  entries: VerifiedEntry[]
  total: number
  transport: 'udp' | 'tcp' | 'udp+tcp'
  /** Set when more matched than arrived and the rest could not be fetched: why. */
  partial?: string
}
