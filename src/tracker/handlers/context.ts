import type { Clock } from '../../clock.js'
import { ip16From } from '../../crypto/cookie.js'
import { endpointFrom, parseIp } from '../../wire/endpoint.js'
import type { Logger } from '../../log.js'
import type { ClientTable } from '../../table/client-table.js'
import type { DenyPolicy } from '../policy.js'
import type { CookieGate, FloodGate, Priority } from '../../throttle/types.js'
import type { AddressMatcher } from './allow-list.js'
import type { DaemonOptions } from '../options.js'
import type { Stats } from '../stats.js'
import type { Prover } from '../prover.js'
import { encodeMessage } from '../../wire/messages.js'
import type { WireErrorNumber } from '../../wire/constants.js'
import type { VerifyGate } from './verify-gate.js'
import type { TableStore } from '../../store/types.js'

/** Everything the transport-free handlers read or change. */
export interface HandlerContext {
  readonly options: DaemonOptions
  readonly table: ClientTable
  readonly stats: Stats
  readonly clock: Clock
  readonly logger: Logger
  /** Per-source buckets, charged only for validated sources (src/tracker/handlers/admission.ts). */
  readonly flood: FloodGate
  /** The global budget of cookie replies to unvalidated UDP sources. */
  readonly cookies: CookieGate
  /** Addresses whose stats requests skip the per-source flood bucket (`operatorAllow`). */
  readonly operators: AddressMatcher
  readonly deny: DenyPolicy
  readonly cookieSecret: Uint8Array
  /**
   * A shared store's previous cookie secret (docs/scale-out.md §4): a cookie the current secret
   * refuses is checked with it, so one issued just before a rotation stays valid. Absent or null:
   * only `cookieSecret` (a tracker alone).
   */
  readonly previousCookieSecret?: Uint8Array | null
  /** Key for per-asker sample seeds, derived from the cookie secret. */
  readonly sampleKey: Uint8Array
  /** Memos that spare HMACs on repeated requests (bounded). */
  readonly memo: HandlerMemo
  /** Proof of address (docs/protocol.md §9): challenges after announces, replies. */
  readonly prover: Prover
  /**
   * The verify pool's gate (src/tracker/handlers/verify-gate.ts): fresh announces and
   * withdrawals taken by `serveRequest` are verified there. Absent: verified in this thread.
   */
  readonly verify?: VerifyGate | null
  /**
   * A shared store (docs/scale-out.md): verified writes go through it (asynchronous, coded
   * refusals when it is unreachable or busy), `table` is its replica. Absent: the table alone.
   */
  readonly store?: TableStore | null
}

/**
 * Bounded memos, one set per daemon: for the two HMACs of the hot path (node:crypto's createHmac
 * costs several µs, more than the rest of a refresh) and for parsed source addresses. Each map
 * is cleared when it reaches MEMO_MAX entries: O(1) per request, bounded memory, and a flood of
 * distinct sources only costs the HMACs again.
 */
export interface HandlerMemo {
  /** cookie bytes + source → the cookie's time, for cookies already verified once. */
  readonly cookies: Map<string, number>
  /** asker + window + question → sample seed. */
  readonly seeds: Map<string, Uint8Array>
  /** Addresses as sockets report them → their normalised forms (parsing costs µs per packet). */
  readonly sources: Map<string, Omit<Source, 'port'>>
}

export const MEMO_MAX = 16_384

export function createMemo(): HandlerMemo {
  return { cookies: new Map(), seeds: new Map(), sources: new Map() }
}

/** Set in a bounded memo map (cleared when full). */
export function memoSet<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MEMO_MAX) map.clear()
  map.set(key, value)
}

export type Transport = 'udp' | 'tcp'

/** Where a request came from, normalised (IPv4-mapped IPv6 already turned into IPv4). */
export interface Source {
  family: 4 | 6
  address: string
  port: number
  /** The address as 16 bytes (IPv4 as IPv4-mapped IPv6), for cookies and sample seeds. */
  ip16: Uint8Array
}

/** One reply to send, with its egress priority class. */
export interface Reply {
  bytes: Uint8Array
  priority: Priority
}

export function errorReply(
  txid: number,
  code: WireErrorNumber,
  priority: Priority,
  retryAfter = 0,
): Reply {
  return { bytes: encodeMessage({ type: 'error', txid, code, retryAfter }), priority }
}

export function nowSeconds(ctx: HandlerContext): number {
  return Math.floor(ctx.clock.now() / 1000)
}

/**
 * A Source from what a socket reports; null when the address is not a literal IP or the port is
 * not 1..65535 (a reply could not be sent there). Parsed forms are kept in `memo.sources`, the
 * daemon's own (without a memo every call parses).
 */
export function sourceFrom(
  address: string | undefined,
  port: number | undefined,
  memo?: Pick<HandlerMemo, 'sources'>,
): Source | null {
  if (address === undefined || port === undefined || port < 1 || port > 0xffff) return null
  let base = memo?.sources.get(address)
  if (base === undefined) {
    const ep = endpointFrom(address, port)
    const raw = ep === null ? null : parseIp(ep.address)
    if (ep === null || raw === null) return null
    base = { family: ep.family, address: ep.address, ip16: ip16From(raw) }
    if (memo !== undefined) memoSet(memo.sources, address, base)
  }
  return { family: base.family, address: base.address, port, ip16: base.ip16 }
}
