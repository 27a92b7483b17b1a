import { COOKIE_LIFETIME, checkCookie, makeCookie } from '../../crypto/cookie.js'
import { Limits } from '../../wire/constants.js'
import { COOKIE_AT, cookieTime, requestCookie } from '../../wire/layout.js'
import { encodeMessage } from '../../wire/messages.js'
import { type HandlerContext, type Reply, type Source, memoSet, nowSeconds } from './context.js'

/** §8.2: a cookie reply (17 bytes) for this source, issued now. */
export function cookieReply(ctx: HandlerContext, txid: number, src: Source): Reply {
  ctx.stats.inc('cookies_issued')
  const cookie = makeCookie(ctx.cookieSecret, nowSeconds(ctx), src.ip16, src.port)
  return { bytes: encodeMessage({ type: 'cookie-reply', txid, cookie }), priority: 'cookie' }
}

/**
 * The cookie field of a request (bytes 5..17) is valid for its source. A cookie verified once is
 * remembered (bounded memo) with its time, so a client reusing it costs no HMAC; its age is
 * checked again on every use.
 */
export function hasValidCookie(ctx: HandlerContext, data: Uint8Array, src: Source): boolean {
  if (data.byteLength < COOKIE_END) return false
  const now = nowSeconds(ctx)
  const key = memoKey(data, src)
  const time = ctx.memo.cookies.get(key)
  if (time !== undefined) return time <= now && now - time <= COOKIE_LIFETIME
  const cookie = requestCookie(data)
  if (cookie === null) return false
  if (
    !checkCookie(ctx.cookieSecret, cookie, now, src.ip16, src.port) &&
    !checkPrevious(ctx, cookie, now, src, COOKIE_LIFETIME)
  ) {
    return false
  }
  memoSet(ctx.memo.cookies, key, cookieTime(cookie))
  return true
}

/** Where the cookie of a request ends (docs/protocol.md §8.2: bytes 5..17). */
const COOKIE_END = COOKIE_AT + Limits.COOKIE_BYTES

/**
 * The memo key of a request's cookie and its source: the 12 cookie bytes (at COOKIE_AT = 5)
 * and the port as 14
 * latin1 characters (fixed length), then the address. Built in JS from the bytes: a Buffer
 * decode per request cost more than the Map lookup it serves.
 */
function memoKey(data: Uint8Array, src: Source): string {
  return (
    String.fromCharCode(
      data[5] ?? 0,
      data[6] ?? 0,
      data[7] ?? 0,
      data[8] ?? 0,
      data[9] ?? 0,
      data[10] ?? 0,
      data[11] ?? 0,
      data[12] ?? 0,
      data[13] ?? 0,
      data[14] ?? 0,
      data[15] ?? 0,
      data[16] ?? 0,
      src.port >>> 8,
      src.port & 0xff,
    ) + src.address
  )
}

/** How long after its lifetime a cookie still proves its source for a renewal (seconds). */
export const RENEWAL_GRACE = COOKIE_LIFETIME

/**
 * The cookie field was issued by this tracker to this source, but has expired at most
 * RENEWAL_GRACE seconds ago: the source proved its address recently. Such a request is answered
 * with a fresh cookie charged to the source's own flood bucket instead of the global cookie
 * budget, so a forged flood that drains that budget cannot stop validated clients from renewing.
 */
export function hasRecentCookie(ctx: HandlerContext, data: Uint8Array, src: Source): boolean {
  const cookie = requestCookie(data)
  if (cookie === null) return false
  const maxAge = COOKIE_LIFETIME + RENEWAL_GRACE
  const now = nowSeconds(ctx)
  return (
    checkCookie(ctx.cookieSecret, cookie, now, src.ip16, src.port, maxAge) ||
    checkPrevious(ctx, cookie, now, src, maxAge)
  )
}

/**
 * The cookie checked with a shared store's previous secret (docs/scale-out.md §4); false at
 * once for a tracker alone (no previous secret), so its path is unchanged.
 */
function checkPrevious(
  ctx: HandlerContext,
  cookie: Uint8Array,
  now: number,
  src: Source,
  maxAge: number,
): boolean {
  const previous = ctx.previousCookieSecret
  return (
    previous !== undefined &&
    previous !== null &&
    checkCookie(previous, cookie, now, src.ip16, src.port, maxAge)
  )
}
