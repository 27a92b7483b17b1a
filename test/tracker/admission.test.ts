import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { makeCookie } from '../../src/crypto/cookie.js'
import type { CookieGate, FloodGate, FloodVerdict } from '../../src/throttle/types.js'
import { createAddressMatcher } from '../../src/tracker/handlers/allow-list.js'
import { admit } from '../../src/tracker/handlers/index.js'
import type { DenyPolicy } from '../../src/tracker/policy.js'
import { MessageType } from '../../src/wire/constants.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { harness } from '../helpers/handler.js'
import { queryMessage } from '../helpers/tracker.js'

/*
 * Admission order (src/tracker/handlers/admission.ts): size → version/type → deny list →
 * cookie (UDP) → per-source flood bucket (validated sources only) → per-type handling. Each
 * step is a recording fake, so the test sees which steps a request reached.
 */

interface Trace {
  steps: string[]
  flood: FloodVerdict
  cookies: boolean
  denied: boolean
}

function traced(trace: Trace): { flood: FloodGate; cookies: CookieGate; deny: DenyPolicy } {
  return {
    flood: {
      check: ip => (trace.steps.push(`flood:${ip}`), trace.flood),
    },
    cookies: {
      admit: () => (trace.steps.push('cookies'), trace.cookies),
    },
    deny: {
      deniesKey: () => false,
      deniesAddress: ip => (trace.steps.push(`deny:${ip}`), trace.denied),
    },
  }
}

function setup(options: Parameters<typeof harness>[0] = {}) {
  const trace: Trace = { steps: [], flood: { action: 'pass' }, cookies: true, denied: false }
  const h = harness(options, traced(trace))
  return { h, trace }
}

const typeOf = (r: { bytes: Uint8Array } | null): string | null =>
  r === null ? null : decodeMessage(r.bytes).type

test('size and version are checked before anything else is consulted', () => {
  const { h, trace } = setup()
  const src = h.source('192.0.2.1', 1000)
  assert.equal(h.raw(new Uint8Array([0x10, 0, 0]), src), null)
  assert.equal(h.stats.get('dropped_short'), 1)
  const v2 = encodeMessage({ type: 'cookie-request', txid: 1 })
  v2[0] = 0x20
  assert.equal(h.raw(v2, src), null)
  assert.equal(h.stats.get('dropped_bad_version'), 1)
  // A reply type is never answered on UDP, and consults nothing either.
  assert.equal(
    h.raw(encodeMessage({ type: 'cookie-reply', txid: 1, cookie: new Uint8Array(12) }), src),
    null,
  )
  assert.equal(h.stats.get('dropped_unsolicited'), 1)
  assert.deepEqual(trace.steps, [])
})

test('a denied source is ignored before its cookie or its bucket is looked at', () => {
  const { h, trace } = setup()
  trace.denied = true
  const src = h.source('192.0.2.1', 1000)
  assert.equal(h.raw(encodeMessage({ type: 'cookie-request', txid: 1 }), src), null)
  assert.equal(h.send(queryMessage(), src), null)
  assert.equal(h.send(queryMessage(), src, 'tcp'), null)
  assert.deepEqual(trace.steps, ['deny:192.0.2.1', 'deny:192.0.2.1', 'deny:192.0.2.1'])
  assert.equal(h.stats.get('dropped_denied_source'), 3)
})

test('UDP: unvalidated requests draw on the cookie budget and never on a per-source bucket', () => {
  const { h, trace } = setup()
  const src = h.source('192.0.2.1', 1000)
  const cookieRequest = encodeMessage({ type: 'cookie-request', txid: 5 })
  assert.equal(typeOf(h.raw(cookieRequest, src)), 'cookie-reply')
  const badCookie = encodeMessage({ ...queryMessage(), cookie: new Uint8Array(12).fill(3) })
  assert.equal(typeOf(h.raw(badCookie, src)), 'cookie-reply')
  assert.deepEqual(trace.steps, ['deny:192.0.2.1', 'cookies', 'deny:192.0.2.1', 'cookies'])
  // Over budget: silence, counted; still no bucket.
  trace.cookies = false
  trace.steps = []
  assert.equal(h.raw(cookieRequest, src), null)
  assert.equal(h.raw(badCookie, src), null)
  assert.equal(h.stats.get('dropped_cookie_budget'), 2)
  assert.ok(!trace.steps.some(s => s.startsWith('flood')))
  // A malformed cookie request costs no budget either.
  trace.steps = []
  const padded = encodeMessage({ type: 'cookie-request', txid: 5 })
  padded[20] = 1
  assert.equal(h.raw(padded, src), null)
  assert.deepEqual(trace.steps, ['deny:192.0.2.1'])
})

test('UDP: a valid cookie is checked before the bucket is charged; TCP is charged at once', () => {
  const { h, trace } = setup()
  const src = h.source('192.0.2.1', 1000)
  assert.equal(h.send(queryMessage(), src)?.type, 'introductions')
  assert.deepEqual(trace.steps, ['deny:192.0.2.1', 'flood:192.0.2.1'])
  trace.steps = []
  assert.equal(h.send(queryMessage(), src, 'tcp')?.type, 'introductions')
  const tcpCookie = h.raw(encodeMessage({ type: 'cookie-request', txid: 2 }), src, 'tcp')
  assert.equal(typeOf(tcpCookie), 'cookie-reply')
  assert.deepEqual(trace.steps, [
    'deny:192.0.2.1',
    'flood:192.0.2.1',
    'deny:192.0.2.1',
    'flood:192.0.2.1',
  ])
})

test('flood verdicts for validated sources: warn answers RATE_LIMITED, drop is silence', () => {
  const { h, trace } = setup()
  const src = h.source('192.0.2.1', 1000)
  trace.flood = { action: 'warn', retryAfter: 4 }
  const warned = h.send(queryMessage({ txid: 77 }), src)
  assert.ok(warned?.type === 'error')
  assert.equal(warned.code, 7)
  assert.equal(warned.retryAfter, 4)
  assert.equal(warned.txid, 77)
  trace.flood = { action: 'drop' }
  assert.equal(h.send(queryMessage(), src), null)
  assert.equal(h.stats.get('dropped_flood'), 1)
  assert.equal(h.stats.get('rate_limited'), 1)
})

test('stats requests from operatorAllow skip the bucket but still need a cookie on UDP', () => {
  const { h, trace } = setup({ operatorAllow: ['127.0.0.0/8', '::1/128', '198.51.100.0/24'] })
  trace.flood = { action: 'drop' }
  const stats = (txid: number): Message => ({
    type: 'stats-request',
    txid,
    cookie: new Uint8Array(12),
  })
  for (const [address, served] of [
    ['127.0.0.1', true],
    ['::1', true],
    ['198.51.100.9', true],
    ['198.51.101.9', false],
    ['10.0.0.1', false],
  ] as const) {
    const src = h.source(address, 4000)
    const r = h.send(stats(1), src)
    assert.equal(r?.type ?? null, served ? 'stats-reply' : null, address)
  }
  for (const a of ['127.0.0.1', '::1', '198.51.100.9']) {
    assert.ok(!trace.steps.includes(`flood:${a}`), a)
  }
  assert.ok(trace.steps.includes('flood:10.0.0.1'))
  // Only stats: an operator's query is charged like anyone's.
  assert.equal(h.send(queryMessage(), h.source('127.0.0.1', 4000)), null)
  // Without a valid cookie an operator address gets a cookie reply, nothing more.
  const noCookie = encodeMessage(stats(2))
  assert.equal(typeOf(h.raw(noCookie, h.source('127.0.0.1', 4000))), 'cookie-reply')
  assert.equal(trace.steps.filter(s => s === 'flood:127.0.0.1').length, 1, 'the query only')
  assert.equal(h.stats.get('dropped_flood'), 3)
})

test('an expired cookie this tracker issued to the same source renews from its own bucket', () => {
  const { h, trace } = setup()
  const src = h.source('192.0.2.1', 1000)
  const cookieAgo = (s: number): Uint8Array =>
    makeCookie(h.ctx.cookieSecret, h.nowSeconds() - s, src.ip16, src.port)
  const ask = (cookie: Uint8Array) => h.raw(encodeMessage({ ...queryMessage(), cookie }), src)
  trace.cookies = false // the global budget is drained
  // 150 s old: expired (120 s), within the renewal grace: a fresh cookie from the bucket.
  const renewed = ask(cookieAgo(150))
  assert.equal(typeOf(renewed), 'cookie-reply')
  assert.deepEqual(trace.steps, ['deny:192.0.2.1', 'flood:192.0.2.1'])
  assert.equal(h.stats.get('cookies_renewed'), 1)
  // Too old, another source's, or from the future: an ordinary unvalidated request.
  trace.steps = []
  assert.equal(ask(cookieAgo(250)), null)
  const other = h.source('192.0.2.1', 1001)
  assert.equal(
    ask(makeCookie(h.ctx.cookieSecret, h.nowSeconds() - 150, other.ip16, other.port)),
    null,
  )
  assert.equal(ask(cookieAgo(-10)), null)
  assert.deepEqual(trace.steps, Array(3).fill(['deny:192.0.2.1', 'cookies']).flat())
  // A renewal over its bucket is silence.
  trace.flood = { action: 'warn', retryAfter: 1 }
  assert.equal(ask(cookieAgo(150)), null)
  assert.equal(h.stats.get('dropped_flood'), 1)
})

test('admit() is the whole admission: an admitted request names its type and txid', () => {
  const clock = new ManualClock()
  const h = harness({}, { clock })
  const src = h.source('192.0.2.1', 1000)
  const q = encodeMessage({ ...queryMessage({ txid: 42 }), cookie: h.cookieFor(src) })
  assert.deepEqual(admit(h.ctx, q, src, 'udp'), {
    admitted: true,
    type: MessageType.QUERY,
    txid: 42,
  })
  const c = encodeMessage({ type: 'cookie-request', txid: 43 })
  const a = admit(h.ctx, c, src, 'udp')
  assert.equal(a.admitted, false)
  assert.deepEqual(admit(h.ctx, c, src, 'tcp'), {
    admitted: true,
    type: MessageType.COOKIE_REQUEST,
    txid: 43,
  })
})

test('the operator allow-list reuses the deny-list syntax and refuses anything else', () => {
  const m = createAddressMatcher(['10.0.0.0/8', '2001:db8::/32', '192.0.2.5'])
  assert.ok(m.matches('10.1.2.3'))
  assert.ok(m.matches('::ffff:10.1.2.3'))
  assert.ok(m.matches('2001:db8:1::7'))
  assert.ok(m.matches('192.0.2.5'))
  assert.ok(!m.matches('192.0.2.6'))
  assert.ok(!m.matches('2001:db9::1'))
  assert.ok(!createAddressMatcher([]).matches('127.0.0.1'))
  for (const bad of [
    'localhost',
    '10.0.0.1/8',
    '',
    'a'.repeat(64),
    '1.2.3.4\n5.6.7.8',
    '1.2.3.4 # x',
  ]) {
    assert.throws(() => createAddressMatcher([bad]), { code: 'CONFIG_BAD_OPTION' }, bad)
  }
})
