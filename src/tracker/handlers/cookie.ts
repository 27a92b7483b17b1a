import { checkCookie, makeCookie } from '../../crypto/cookie.js'
import { Limits } from '../../wire/constants.js'
import { encodeMessage } from '../../wire/messages.js'
import { type HandlerContext, type Reply, type Source, nowSeconds } from './context.js'

/** §8.2: a cookie reply (17 bytes) for this source, issued now. */
export function cookieReply(ctx: HandlerContext, txid: number, src: Source): Reply {
  ctx.stats.inc('cookies_issued')
  const cookie = makeCookie(ctx.cookieSecret, nowSeconds(ctx), src.ip16, src.port)
  return { bytes: encodeMessage({ type: 'cookie-reply', txid, cookie }), priority: 'cookie' }
}

/** The cookie field of a request (bytes 5..17) is valid for its source. */
export function hasValidCookie(ctx: HandlerContext, data: Uint8Array, src: Source): boolean {
  if (data.byteLength < 5 + Limits.COOKIE_BYTES) return false
  const cookie = data.subarray(5, 5 + Limits.COOKIE_BYTES)
  return checkCookie(ctx.cookieSecret, cookie, nowSeconds(ctx), src.ip16, src.port)
}
