import { WireError } from '../../errors.js'
import { Limits, MessageType, PROTOCOL_VERSION, WireErrorCode } from '../../wire/constants.js'
import { COOKIE_REPLY_BYTES, HEADER_BYTES } from '../../wire/layout.js'
import { decodeMessage } from '../../wire/messages.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  errorReply,
} from './context.js'
import { cookieReply, hasRecentCookie, hasValidCookie } from './cookie.js'

/** The request types a tracker serves once admitted. */
export type RequestType =
  | typeof MessageType.COOKIE_REQUEST
  | typeof MessageType.ANNOUNCE
  | typeof MessageType.QUERY
  | typeof MessageType.STATS_REQUEST
  | typeof MessageType.CHALLENGE_REPLY

export type Admission =
  /** Admission decided: this reply (a cookie reply or an error), or silence (null). */
  | { admitted: false; reply: Reply | null }
  /** Serve it: the source is validated and within its budget. */
  | { admitted: true; type: RequestType; txid: number }

/** Message types a client sends that carry a cookie at bytes 5..17. */
function carriesCookie(type: number): boolean {
  return (
    type === MessageType.ANNOUNCE ||
    type === MessageType.QUERY ||
    type === MessageType.STATS_REQUEST
  )
}

/** Admission's two constant outcomes without a reply, shared (no allocation per request). */
const silence: Admission = { admitted: false, reply: null }

function answer(reply: Reply): Admission {
  return { admitted: false, reply }
}

/** The txid of a header already known to be 5 bytes long (as peekTxid, without a DataView). */
function headerTxid(data: Uint8Array): number {
  return (
    (((data[1] ?? 0) << 24) | ((data[2] ?? 0) << 16) | ((data[3] ?? 0) << 8) | (data[4] ?? 0)) >>> 0
  )
}

/**
 * Admission of one request, in one fixed order (docs/protocol.md §8.2):
 *
 * 1. size: fewer than 5 bytes is not a request;
 * 2. version and type: another version, or a type a client does not send, is refused;
 * 3. deny list: a denied source address is ignored;
 * 4. cookie (UDP only): a source without a valid cookie is unvalidated. Its only possible answer
 *    is a cookie reply no larger than its request, drawn from the global cookie budget
 *    (`ctx.cookies`); nothing per source is created or charged for it. A request whose cookie
 *    this tracker issued to the same source and that expired recently is a renewal: the source
 *    proved its address, so its fresh cookie is charged to its own flood bucket instead;
 * 5. flood: the per-source bucket, charged only for validated sources (a valid cookie on UDP;
 *    on TCP the handshake validated the source). Stats requests from `operatorAllow` skip it;
 * 6. the per-type handler (the caller routes).
 *
 * Spoofed datagrams thus never reach per-source state: they cannot silence the address they
 * claim, and they cannot churn the flood table into forgetting real offenders.
 */
export function admit(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): Admission {
  const udp = transport === 'udp'

  // 1. Size.
  if (data.byteLength < HEADER_BYTES) {
    ctx.stats.inc('dropped_short')
    return udp ? silence : answer(errorReply(0, WireErrorCode.MALFORMED, 'signed'))
  }
  // 2. Version and type.
  const first = data[0] ?? 0
  const txid = headerTxid(data)
  if (first >> 4 !== PROTOCOL_VERSION) {
    // §11: other versions are refused, never answered on UDP.
    ctx.stats.inc('dropped_bad_version')
    return udp ? silence : answer(errorReply(txid, WireErrorCode.MALFORMED, 'signed'))
  }
  const type = first & 0x0f
  const isCookieRequest = type === MessageType.COOKIE_REQUEST
  // §9: a challenge reply (UDP only) carries the tracker's token instead of a cookie.
  const challengeReply = udp && type === MessageType.CHALLENGE_REPLY
  if (!isCookieRequest && !challengeReply && !carriesCookie(type)) {
    // Replies, challenges and unknown types are never answered on UDP (no loops, no reflection).
    ctx.stats.inc('dropped_unsolicited')
    if (udp) return silence
    const known = type <= MessageType.STATS_REPLY
    if (known) ctx.stats.inc('unsupported')
    return answer(
      errorReply(txid, known ? WireErrorCode.UNSUPPORTED : WireErrorCode.MALFORMED, 'signed'),
    )
  }
  // 3. Deny list.
  if (ctx.deny.deniesAddress(src.address)) {
    ctx.stats.inc('dropped_denied_source')
    return silence
  }
  // A challenge reply is never answered and touches no per-source state: the prover checks it
  // against the entry it names and its token, within its own budget (src/tracker/prover.ts).
  if (challengeReply) return { admitted: true, type: MessageType.CHALLENGE_REPLY, txid }
  // 4. Cookie (UDP).
  if (udp) {
    if (isCookieRequest) {
      if (!isCookieRequestShape(data)) {
        ctx.stats.inc('malformed')
        return silence
      }
      return unvalidatedCookieReply(ctx, txid, src)
    }
    if (!hasValidCookie(ctx, data, src)) {
      ctx.stats.inc('cookies_invalid')
      // A reply never exceeds its request: a shorter one cannot get a cookie reply.
      if (data.byteLength < COOKIE_REPLY_BYTES) {
        ctx.stats.inc('dropped_unvalidated')
        return silence
      }
      if (hasRecentCookie(ctx, data, src)) {
        if (ctx.flood.check(src.address).action !== 'pass') {
          ctx.stats.inc('dropped_flood')
          return silence
        }
        ctx.stats.inc('cookies_renewed')
        return answer(cookieReply(ctx, txid, src))
      }
      return unvalidatedCookieReply(ctx, txid, src)
    }
  }
  // 5. Per-source flood bucket, validated sources only.
  const operator = type === MessageType.STATS_REQUEST && ctx.operators.matches(src.address)
  if (!operator) {
    const verdict = ctx.flood.check(src.address)
    if (verdict.action === 'drop') {
      ctx.stats.inc('dropped_flood')
      return silence
    }
    if (verdict.action === 'warn') {
      ctx.stats.inc('rate_limited')
      const priority = isCookieRequest ? 'cookie' : 'signed'
      return answer(errorReply(txid, WireErrorCode.RATE_LIMITED, priority, verdict.retryAfter))
    }
  }
  // 6. Admitted.
  return { admitted: true, type: type as RequestType, txid }
}

/** §8.1: a well-formed cookie request (24 bytes, zero padding). */
function isCookieRequestShape(data: Uint8Array): boolean {
  if (data.byteLength !== Limits.COOKIE_REQUEST_BYTES) return false
  try {
    return decodeMessage(data).type === 'cookie-request'
  } catch (err) {
    if (err instanceof WireError) return false
    throw err
  }
}

function unvalidatedCookieReply(ctx: HandlerContext, txid: number, src: Source): Admission {
  if (!ctx.cookies.admit(src.ip16)) {
    ctx.stats.inc('dropped_cookie_budget')
    return silence
  }
  return answer(cookieReply(ctx, txid, src))
}
