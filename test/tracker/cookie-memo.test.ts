import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hasValidCookie } from '../../src/tracker/handlers/cookie.js'
import { harness } from '../helpers/handler.js'
import { encodeMessage } from '../../src/wire/messages.js'

/*
 * The cookie memo (src/tracker/handlers/cookie.ts) spares the HMAC of a cookie already seen from
 * the same source: a cookie remembered for one source must never pass for another one (same
 * address and another port, same port and another address, ports whose bytes look alike).
 */

function request(cookie: Uint8Array): Uint8Array {
  return encodeMessage({ type: 'stats-request', txid: 1, cookie })
}

test('a remembered cookie passes for its own source only', () => {
  const h = harness()
  const a = h.source('127.0.0.1', 0x0102)
  const cookie = h.cookieFor(a)
  const data = request(cookie)
  assert.equal(hasValidCookie(h.ctx, data, a), true)
  assert.equal(hasValidCookie(h.ctx, data, a), true, 'again, from the memo')
  assert.equal(h.ctx.memo.cookies.size, 1)
  for (const other of [
    h.source('127.0.0.1', 0x0201),
    h.source('127.0.0.1', 0x0103),
    h.source('127.0.0.2', 0x0102),
    h.source('::ffff:127.0.0.2', 0x0102),
    h.source('::1', 0x0102),
  ]) {
    assert.equal(hasValidCookie(h.ctx, data, other), false, `${other.address}:${other.port}`)
  }
  // A request shorter than its cookie field never reaches the memo.
  assert.equal(hasValidCookie(h.ctx, data.subarray(0, 10), a), false)
})

test('a remembered cookie still ages out', () => {
  const h = harness()
  const a = h.source('10.0.0.1', 4000)
  const data = request(h.cookieFor(a))
  assert.equal(hasValidCookie(h.ctx, data, a), true)
  h.clock.advance(3 * 3600 * 1000)
  assert.equal(hasValidCookie(h.ctx, data, a), false)
})
