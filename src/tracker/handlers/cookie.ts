import { COOKIE_LIFETIME, checkCookie, makeCookie } from '../../crypto/cookie.js'
import { Limits } from '../../wire/constants.js'
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
  if (data.byteLength < 5 + Limits.COOKIE_BYTES) return false
  const cookie = data.subarray(5, 5 + Limits.COOKIE_BYTES)
  const now = nowSeconds(ctx)
  const key =
    Buffer.from(cookie.buffer, cookie.byteOffset, Limits.COOKIE_BYTES).toString('latin1') +
    src.address +
    '|' +
    String(src.port)
  const time = ctx.memo.cookies.get(key)
  if (time !== undefined) return time <= now && now - time <= COOKIE_LIFETIME
  if (!checkCookie(ctx.cookieSecret, cookie, now, src.ip16, src.port)) return false
  memoSet(ctx.memo.cookies, key, new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0))
  return true
}
