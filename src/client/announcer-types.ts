import type { KeyObject } from 'node:crypto'
import type { Clock } from '../clock.js'
import type { ErrorCode } from '../errors.js'
import type { Logger } from '../log.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { AnnounceStatus } from '../wire/messages.js'
import type { ServerInfo, SignedRecord } from '../wire/record.js'
import type { Resolver } from './resolve.js'
import type { Timers } from './timing.js'
import type { TrackerAddress } from './trackers.js'
import type { TrackerHealth } from './health.js'
import type { UdpTransport } from './transport/udp.js'

/* The Announcer's options, per-tracker status and events (src/client/announcer.ts). */

export interface AnnouncerOptions {
  trackers: readonly TrackerAddress[]
  /** The node's Ed25519 private key: its identity. */
  privateKey: KeyObject
  network: string
  /** Endpoints to announce; empty (default) means "the address the tracker sees" (§4). */
  endpoints?: readonly Endpoint[]
  /** Game server info; when given the record's kind is `server`, otherwise `peer`. */
  server?: ServerInfo | null
  /** Seconds a signed record is valid (default 3600, at most 86400). */
  lifetime?: number
  /** Milliseconds one announce may take, cookie fetch included (default 3000). */
  timeout?: number
  /** Fraction of each delay added or removed at random (default 0.1). */
  jitter?: number
  /** First retry delay after a failure, ms (default 5000); doubles per failure… */
  retryBase?: number
  /** …up to this cap, ms (default 300000). Reset by the next success. */
  retryCap?: number
  /** Bounds on the tracker's interval hint, ms (defaults 15000 and 3600000). */
  minInterval?: number
  maxInterval?: number
  /** Interval when a tracker gives no hint (0), ms (default 300000). */
  defaultInterval?: number
  /** Least time between two announces to one tracker after update(), ms (default 1000). */
  minUpdateGap?: number
  /**
   * Milliseconds close() waits for the trackers to answer its withdrawal (default 1000); 0 sends
   * none. The withdrawal goes to every tracker at once, so close() takes at most about this long.
   */
  withdrawTimeout?: number
  clock?: Clock
  timers?: Timers
  random?: () => number
  resolve?: Resolver
  logger?: Logger
  /** Share a transport; otherwise the Announcer opens (and closes) its own socket. */
  udp?: UdpTransport
  /** Where tracker health is recorded (default: the transport's, shared with a Querier). */
  health?: TrackerHealth
}

/**
 * Per-tracker state. `up`: the last announce was accepted. `down`: the tracker did not answer
 * (timeout, unreachable, unreadable reply). `backoff`: it answered but refused (rate limited,
 * table full, …). `pending`: not asked yet. `down` and `backoff` share one failure counter.
 */
export type TrackerState = 'pending' | 'up' | 'down' | 'backoff'

export interface TrackerStatus {
  tracker: string
  address: TrackerAddress
  state: TrackerState
  /** Consecutive failures (0 when up). */
  failures: number
  /** Milliseconds until the next announce to this tracker; null when none is scheduled. */
  nextIn: number | null
  /** The seq of the record last sent. */
  seq: number
  /** From the last accepted announce; `withdrawn` once this tracker acknowledged close()'s withdrawal. */
  status?: AnnounceStatus
  /** The tracker's interval hint, seconds. */
  interval?: number
  /** The source endpoint the tracker saw. */
  observed?: Endpoint
  /** Why the last attempt failed. */
  error?: { code: ErrorCode; message: string; wireCode?: number; retryAfter?: number }
}

export interface AnnouncerEvents {
  /** After every attempt to a tracker: its new state. */
  state: [TrackerStatus]
  /** A new record was signed (start, update(), or before the old one expires). */
  signed: [SignedRecord]
}

/** Options of Announcer.close(). */
export interface CloseOptions {
  /**
   * Send a signed withdrawal (docs/protocol.md §5, §8.3) to every tracker announced to, so each
   * drops the record at once (default true; `announce --once` passes false to leave it listed).
   */
  withdraw?: boolean
}

/** Changes to the announced record: any server-info field, and the endpoints. */
export type RecordUpdate = Partial<ServerInfo> & { endpoints?: readonly Endpoint[] }
