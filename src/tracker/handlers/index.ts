import { WireError } from '../../errors.js'
import { MessageType, WireErrorCode } from '../../wire/constants.js'
import { type Message, decodeMessage, peekTxid } from '../../wire/messages.js'
import { admit } from './admission.js'
import { type LaterReply, handleAnnounce, tryRefresh } from './announce.js'
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
export type { LaterReply } from './announce.js'
export { VerifyGate, perSourceVerifyCap } from './verify-gate.js'
export { type Admission, type RequestType, admit } from './admission.js'
export { type AddressMatcher, DEFAULT_OPERATOR_ALLOW, createAddressMatcher } from './allow-list.js'

export { deriveSampleKey } from '../../crypto/sample-seed.js'

/**
 * The transport-free request handler: bytes and a source in, at most one reply out. It never
 * throws: a bug met while handling one message is counted (`internal_errors`), logged, and
 * answered with INTERNAL where a reply is allowed.
 *
 * Admission (size, version, deny list, cookie, flood) comes first, in the one order of
 * src/tracker/handlers/admission.ts; UDP rules of §8.2: a request without a valid cookie gets
 * only a cookie reply, and only when that reply is no larger than the request.
 *
 * Synchronous: signatures are verified in this thread, whatever `ctx.verify` holds (tests,
 * tools). Listeners call `serveRequest`.
 */
export function handleRequest(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): Reply | null {
  const out = guarded(ctx, data, src, transport, false)
  // Without the pool every answer is immediate.
  return out instanceof Promise ? null : out
}

/**
 * `handleRequest` for the listeners: a fresh announce or a withdrawal (not a refresh, not a
 * query) is verified on the verify pool when the daemon has one (`ctx.verify`), and its reply
 * comes later, once every state check was redone on this thread (src/tracker/handlers/announce.ts).
 * The promise never rejects; it resolves null when nothing is to be sent (the daemon paused).
 */
export function serveRequest(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): LaterReply {
  return guarded(ctx, data, src, transport, true)
}

function guarded(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
  pool: boolean,
): LaterReply {
  ctx.stats.inc(transport === 'udp' ? 'requests_udp' : 'requests_tcp')
  try {
    const out = dispatch(ctx, data, src, transport, pool)
    if (!(out instanceof Promise)) return out
    return out.catch((err: unknown) => internalError(ctx, err, data, src, transport))
  } catch (err) {
    return internalError(ctx, err, data, src, transport)
  }
}

function internalError(
  ctx: HandlerContext,
  err: unknown,
  data: Uint8Array,
  src: Source,
  transport: Transport,
): Reply | null {
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

function hasValidCookieSafe(ctx: HandlerContext, data: Uint8Array, src: Source): boolean {
  try {
    return hasValidCookie(ctx, data, src)
  } catch {
    return false
  }
}

/**
 * Routing only: admission (src/tracker/handlers/admission.ts) decides whether the request is
 * served at all, then its type picks the handler.
 */
function dispatch(
  ctx: HandlerContext,
  data: Uint8Array,
  src: Source,
  transport: Transport,
  pool: boolean,
): LaterReply {
  const a = admit(ctx, data, src, transport)
  if (!a.admitted) return a.reply
  const { type, txid } = a
  if (type === MessageType.COOKIE_REQUEST) {
    // Reached on TCP only: on UDP a cookie request is answered during admission.
    if (decodeOrNull(ctx, data) === null) return errorReply(txid, WireErrorCode.MALFORMED, 'cookie')
    return cookieReply(ctx, txid, src)
  }
  if (type === MessageType.CHALLENGE_REPLY) {
    // §9: checked against the entry it names and its token, never answered.
    const m = decodeOrNull(ctx, data)
    if (m?.type === 'challenge-reply') ctx.prover.onReply(m, src)
    return null
  }
  if (type === MessageType.ANNOUNCE) {
    const refreshed = tryRefresh(ctx, data, txid, src, transport)
    if (refreshed !== null) return refreshed
  }
  const m = decodeOrNull(ctx, data)
  if (m === null) return errorReply(txid, WireErrorCode.MALFORMED, 'signed')
  switch (m.type) {
    case 'announce':
      return handleAnnounce(ctx, m, src, transport, pool)
    case 'query':
      return handleQuery(ctx, m, src, transport)
    case 'stats-request':
      return handleStats(ctx, m.txid, transport)
    default:
      // Unreachable: admission checked the type byte.
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
