import type { Clock } from '../../clock.js'
import { ip16From } from '../../crypto/cookie.js'
import { endpointFrom, parseIp } from '../../wire/endpoint.js'
import type { Logger } from '../../log.js'
import type { ClientTable } from '../../table/client-table.js'
import type { DenyPolicy } from '../policy.js'
import type { FloodGate, Priority } from '../../throttle/types.js'
import type { DaemonOptions } from '../options.js'
import type { Stats } from '../stats.js'
import { encodeMessage } from '../../wire/messages.js'
import type { WireErrorNumber } from '../../wire/constants.js'

/** Everything the transport-free handlers read or change. */
export interface HandlerContext {
  readonly options: DaemonOptions
  readonly table: ClientTable
  readonly stats: Stats
  readonly clock: Clock
  readonly logger: Logger
  readonly flood: FloodGate
  readonly deny: DenyPolicy
  readonly cookieSecret: Uint8Array
  /** Key for per-asker sample seeds, derived from the cookie secret. */
  readonly sampleKey: Uint8Array
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
 * not 1..65535 (a reply could not be sent there).
 */
export function sourceFrom(address: string | undefined, port: number | undefined): Source | null {
  if (address === undefined || port === undefined || port < 1 || port > 0xffff) return null
  const ep = endpointFrom(address, port)
  if (ep === null) return null
  const raw = parseIp(ep.address)
  if (raw === null) return null
  return { family: ep.family, address: ep.address, port: ep.port, ip16: ip16From(raw) }
}
