import { createHmac } from 'node:crypto'
import { WireError } from '../../errors.js'
import { MessageType, PROTOCOL_VERSION, WireErrorCode } from '../../wire/constants.js'
import { type Message, decodeMessage, peekTxid } from '../../wire/messages.js'
import { handleAnnounce, tryRefresh } from './announce.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  errorReply,
} from './context.js'
import { cookieReply, hasValidCookie } from './cookie.js'
import { handleQuery } from './query.js'
import { handleStats } from './stats.js'

export type { HandlerContext, Reply, Source, Transport } from './context.js'

/** Derive the per-asker sample key from the cookie secret (a separate use, a separate key). */
export function deriveSampleKey(cookieSecret: Uint8Array): Uint8Array {
  return createHmac('sha256', cookieSecret).update('metatracker/v1/sample-seed').digest()
}

/** Message types a client sends that carry a cookie at bytes 5..17. */
const COOKIE_CARRYING: ReadonlySet<number> = new Set([
  MessageType.ANNOUNCE,
  MessageType.QUERY,
  MessageType.STATS_REQUEST,
])

/**
 * The transport-free request handler: bytes and a source in, at most one reply out. It never
 * throws: a bug met while handling one message is counted (`internal_errors`), logged, and
 * answered with INTERNAL where a reply is allowed.
 *
 * UDP rules (§8.2): a request without a valid cookie gets only a cookie reply, and only when
 * that reply is no larger than the request; anything else unvalidated is dropped and counted.
 */
export function handleRequest(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): Reply | null {
  ctx.stats.inc(transport === 'udp' ? 'requests_udp' : 'requests_tcp')
  try {
    return dispatch(ctx, data, src, transport)
  } catch (err) {
    ctx.stats.inc('internal_errors')
    // Logged the first times and then every 1000th, so a request that trips a bug cannot flood
    // the log; the counter has the exact number.
    const n = ctx.stats.get('internal_errors')
    if (n <= 10 || n % 1000 === 0) {
      ctx.logger.error(
        {
          err: err instanceof Error ? err.message : String(err),
          transport,
          bytes: data.byteLength,
          count: n,
        },
        'request handler failed',
      )
    }
    if (transport === 'udp' && !hasValidCookieSafe(ctx, data, src)) return null
    return errorReply(peekTxid(data), WireErrorCode.INTERNAL, 'signed')
  }
}

function hasValidCookieSafe(ctx: HandlerContext, data: Uint8Array, src: Source): boolean {
  try {
    return hasValidCookie(ctx, data, src)
  } catch {
    return false
  }
}

function dispatch(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): Reply | null {
  const udp = transport === 'udp'
  if (data.byteLength < 5) {
    ctx.stats.inc('dropped_short')
    return udp ? null : errorReply(0, WireErrorCode.MALFORMED, 'signed')
  }
  const first = data[0] ?? 0
  const txid = peekTxid(data)
  if (first >> 4 !== PROTOCOL_VERSION) {
    // §11: other versions are refused, never answered on UDP.
    ctx.stats.inc('dropped_bad_version')
    return udp ? null : errorReply(txid, WireErrorCode.MALFORMED, 'signed')
  }
  if (ctx.deny.deniesAddress(src.address)) {
    ctx.stats.inc('dropped_denied_source')
    return null
  }
  const verdict = ctx.flood.check(src.address)
  if (verdict.action === 'drop') {
    ctx.stats.inc('dropped_flood')
    return null
  }
  const type = first & 0x0f
  if (type === MessageType.COOKIE_REQUEST) {
    if (verdict.action === 'warn') {
      // Unvalidated on UDP: only a cookie reply is allowed, so a warning is silence there.
      ctx.stats.inc(udp ? 'dropped_flood' : 'rate_limited')
      return udp ? null : errorReply(txid, WireErrorCode.RATE_LIMITED, 'cookie', verdict.retryAfter)
    }
    const m = decodeOrNull(ctx, data)
    if (m === null) {
      return udp ? null : errorReply(txid, WireErrorCode.MALFORMED, 'cookie')
    }
    return cookieReply(ctx, txid, src)
  }
  if (!COOKIE_CARRYING.has(type)) {
    // Replies, challenges and unknown types are never answered on UDP (no loops, no reflection).
    ctx.stats.inc('dropped_unsolicited')
    if (udp) return null
    const known = type <= MessageType.STATS_REPLY
    if (known) ctx.stats.inc('unsupported')
    return errorReply(txid, known ? WireErrorCode.UNSUPPORTED : WireErrorCode.MALFORMED, 'signed')
  }
  if (udp && !hasValidCookie(ctx, data, src)) {
    ctx.stats.inc('cookies_invalid')
    if (data.byteLength < 17) {
      ctx.stats.inc('dropped_unvalidated')
      return null
    }
    return cookieReply(ctx, txid, src)
  }
  if (verdict.action === 'warn') {
    ctx.stats.inc('rate_limited')
    return errorReply(txid, WireErrorCode.RATE_LIMITED, 'signed', verdict.retryAfter)
  }
  if (type === MessageType.ANNOUNCE) {
    const refreshed = tryRefresh(ctx, data, txid, src)
    if (refreshed !== null) return refreshed
  }
  const m = decodeOrNull(ctx, data)
  if (m === null) return errorReply(txid, WireErrorCode.MALFORMED, 'signed')
  switch (m.type) {
    case 'announce':
      return handleAnnounce(ctx, m, src)
    case 'query':
      return handleQuery(ctx, m, src, transport)
    case 'stats-request':
      return handleStats(ctx, m.txid, transport)
    default:
      // Unreachable: the type byte was checked above.
      return errorReply(txid, WireErrorCode.MALFORMED, 'signed')
  }
}

function decodeOrNull(ctx: HandlerContext, data: Uint8Array): Message | null {
  try {
    return decodeMessage(data)
  } catch (err) {
    if (!(err instanceof WireError)) throw err
    ctx.stats.inc('malformed')
    return null
  }
}
