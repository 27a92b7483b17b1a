import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import {
  COOKIE_LIFETIME,
  COOKIE_SECRET_FILE,
  checkCookie,
  ip16From,
  loadOrCreateCookieSecret,
  makeCookie,
} from '../../src/crypto/cookie.js'
import { parseIp } from '../../src/wire/endpoint.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { startTracker } from '../helpers/tracker.js'
import { UdpProbe } from '../helpers/udp.js'

const secret = new Uint8Array(32).fill(3)
const ip = (text: string): Uint8Array => ip16From(parseIp(text)!)

test('a cookie is valid for 120 s, refused after and in the future', () => {
  const t0 = 1_800_000_000
  const c = makeCookie(secret, t0, ip('192.0.2.1'), 4000)
  assert.equal(c.byteLength, 12)
  assert.equal(Buffer.from(c.subarray(0, 4)).readUInt32BE(0), t0)
  assert.ok(checkCookie(secret, c, t0, ip('192.0.2.1'), 4000))
  assert.ok(checkCookie(secret, c, t0 + COOKIE_LIFETIME, ip('192.0.2.1'), 4000))
  assert.equal(COOKIE_LIFETIME, 120)
  assert.ok(!checkCookie(secret, c, t0 + 121, ip('192.0.2.1'), 4000))
  assert.ok(!checkCookie(secret, c, t0 - 1, ip('192.0.2.1'), 4000), 'time in the future')
  const far = makeCookie(secret, 0xffff_ffff, ip('192.0.2.1'), 4000)
  assert.ok(!checkCookie(secret, far, t0, ip('192.0.2.1'), 4000))
})

test('a cookie is bound to the address, the port and the secret', () => {
  const t0 = 1_800_000_000
  const c = makeCookie(secret, t0, ip('192.0.2.1'), 4000)
  assert.ok(!checkCookie(secret, c, t0, ip('192.0.2.1'), 4001))
  assert.ok(!checkCookie(secret, c, t0, ip('192.0.2.2'), 4000))
  assert.ok(!checkCookie(secret, c, t0, ip('::ffff:192.0.2.2'), 4000))
  assert.ok(checkCookie(secret, c, t0, ip('::ffff:192.0.2.1'), 4000), 'v4 is v4-mapped')
  assert.ok(!checkCookie(new Uint8Array(32).fill(4), c, t0, ip('192.0.2.1'), 4000))
  const v6 = makeCookie(secret, t0, ip('2001:db8::1'), 4000)
  assert.ok(checkCookie(secret, v6, t0, ip('2001:db8::1'), 4000))
  assert.ok(!checkCookie(secret, v6, t0, ip('2001:db8::2'), 4000))
  for (let bit = 0; bit < 96; bit++) {
    const flipped = c.slice()
    flipped[bit >> 3]! ^= 1 << (bit & 7)
    assert.ok(!checkCookie(secret, flipped, t0 + 1, ip('192.0.2.1'), 4000), `bit ${bit}`)
  }
  assert.ok(!checkCookie(secret, c.subarray(0, 11), t0, ip('192.0.2.1'), 4000))
})

test('the MAC is HMAC-SHA256 over u32 time, 16-byte address and u16 port (§8.2)', async () => {
  const { createHmac } = await import('node:crypto')
  const input = Buffer.concat([
    Buffer.from([0x6b, 0x49, 0xd2, 0x00]),
    Buffer.from(ip('192.0.2.1')),
    Buffer.from([0x0f, 0xa0]),
  ])
  const mac = createHmac('sha256', secret).update(input).digest().subarray(0, 8)
  const c = makeCookie(secret, 0x6b49d200, ip('192.0.2.1'), 4000)
  assert.deepEqual(Buffer.from(c.subarray(4)), mac)
})

test('the secret is created once (32 bytes, 0600, atomically) and reused', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mt-cookie-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = join(dir, 'nested', 'data')
  const s1 = await loadOrCreateCookieSecret(data)
  const s2 = await loadOrCreateCookieSecret(data)
  assert.equal(s1.byteLength, 32)
  assert.deepEqual(s1, s2)
  const st = await stat(join(data, COOKIE_SECRET_FILE))
  assert.equal(st.mode & 0o777, 0o600)
  assert.deepEqual(await readdir(data), [COOKIE_SECRET_FILE], 'no temporary file left')
  await writeFile(join(data, COOKIE_SECRET_FILE), 'short')
  await assert.rejects(loadOrCreateCookieSecret(data), { code: 'TRACKER_DATA_DIR' })
})

test('a cookie from a tracker is accepted by the same tracker after a restart', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mt-cookie-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const clock = new ManualClock()
  const first = await startTracker(t, { data: dir }, { clock })
  const probe = await UdpProbe.open()
  t.after(() => probe.close())
  const reply = await probe.request(
    encodeMessage({ type: 'cookie-request', txid: 1 }),
    first.udp,
    '127.0.0.1',
  )
  const m = decodeMessage(reply!)
  assert.ok(m.type === 'cookie-reply')
  const secret1 = first.daemon.cookieSecret
  await first.close()
  clock.advance(60_000)
  const second = await startTracker(t, { data: dir }, { clock })
  assert.deepEqual(second.daemon.cookieSecret, secret1)
  const stats = await probe.request(
    encodeMessage({ type: 'stats-request', txid: 2, cookie: m.cookie }),
    second.udp,
    '127.0.0.1',
  )
  assert.equal(decodeMessage(stats!).type, 'stats-reply', 'the old cookie still validates')
  clock.advance(61_000)
  const late = await probe.request(
    encodeMessage({ type: 'stats-request', txid: 3, cookie: m.cookie }),
    second.udp,
    '127.0.0.1',
  )
  assert.equal(decodeMessage(late!).type, 'cookie-reply', 'after 121 s it no longer does')
})
