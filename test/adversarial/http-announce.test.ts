import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { signRecord } from '../../src/crypto/record-sign.js'
import { testKey } from '../helpers/keys.js'
import { httpTracker, post, serverRecord, stat } from '../helpers/http-announce.js'
import { rawExchange } from '../helpers/raw-tcp.js'
import { TcpTrackerClient, queryMessage } from '../helpers/tracker.js'

/*
 * Attacks on HTTP registration (docs/protocol.md §12, docs/security.md): forged and tampered
 * records, replays of older sequences, oversized and mistyped bodies, spoofed X-Forwarded-For,
 * floods. A real tracker on loopback; "other addresses" are other 127/8 addresses (Linux routes
 * the whole block to lo), bound with `localAddress`.
 */

interface ErrorJson {
  error: { code: string; message: string; retryAfter?: number }
}
const code = (json: unknown): string => (json as ErrorJson).error.code
const observed = (json: unknown): { address: string; port: number } =>
  (json as { observed: { address: string; port: number } }).observed

test('a tampered or forged record is refused (403 BAD_SIGNATURE), nothing stored', async t => {
  const { tracker, http } = await httpTracker(t)
  const rec = serverRecord(10)
  const tampered = Uint8Array.from(rec.bytes)
  const last = tampered.byteLength - 1
  tampered[last] = (tampered[last] ?? 0) ^ 0x01
  const before = stat(tracker, 'bad_signatures')
  const res = await post(http, tampered)
  assert.equal(res.status, 403)
  assert.deepEqual(res.json, { error: { code: 'BAD_SIGNATURE', message: 'bad signature' } })
  assert.equal(stat(tracker, 'bad_signatures'), before + 1)

  // Key 12's public key, signed by key 11: a forgery of someone else's identity.
  const victim = testKey(12)
  const forged = signRecord(
    { ...serverRecord(12).record, publicKey: victim.publicKey },
    testKey(11).privateKey,
  )
  const res2 = await post(http, forged.bytes)
  assert.equal(res2.status, 403)
  assert.equal(code(res2.json), 'BAD_SIGNATURE')
  assert.equal(stat(tracker, 'bad_signatures'), before + 2)
  assert.equal(tracker.daemon.table.size, 0)
})

test('an older sequence is refused (409 STALE_SEQUENCE) and the held entry stays', async t => {
  const { tracker, http } = await httpTracker(t)
  const newer = serverRecord(20, { seq: 5 })
  assert.equal((await post(http, newer.bytes)).status, 200)
  const older = serverRecord(20, { seq: 4 }, 1234)
  const res = await post(http, older.bytes)
  assert.equal(res.status, 409)
  assert.deepEqual(res.json, {
    error: { code: 'STALE_SEQUENCE', message: 'sequence lower than the one held' },
  })
  assert.equal(stat(tracker, 'stale_sequence'), 1)
  const held = [...tracker.daemon.table.entries()]
  assert.equal(held.length, 1)
  assert.equal(held[0]?.observed.port, 27960)
})

test('a denied key is refused (403 DENIED); a denied source address gets no answer', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-httpdeny-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const denyList = join(dir, 'deny.txt')
  writeFileSync(denyList, `${Buffer.from(testKey(21).publicKey).toString('hex')}\n127.0.0.2\n`)
  const { tracker, http } = await httpTracker(t, { denyList })
  const res = await post(http, serverRecord(21).bytes)
  assert.equal(res.status, 403)
  assert.equal(code(res.json), 'DENIED')
  // A denied source address gets no answer at all: the connection is closed, as on TCP.
  await assert.rejects(post(http, serverRecord(22).bytes, { localAddress: '127.0.0.2' }))
  assert.equal(stat(tracker, 'dropped_denied_source'), 1)
  assert.equal(tracker.daemon.table.size, 0)
})

test('a body over the record maximum is refused with 413 before it is read', async t => {
  const { tracker, http } = await httpTracker(t)
  // Declared: 10 MB, of which only 1 KiB is ever sent. Had the tracker waited for the body, no
  // answer would come; it answers at once and closes.
  const head =
    'POST /v1/announce HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
    'Content-Length: 10000000\r\n\r\n'
  const declared = await rawExchange(
    http,
    Buffer.concat([Buffer.from(head), Buffer.alloc(1024)]),
    10_000,
  )
  assert.ok(declared.closed, 'connection closed by the tracker')
  assert.match(declared.text, /^HTTP\/1\.1 413 /)
  assert.match(declared.text, /"code":"HTTP_BODY_TOO_LARGE"/)
  assert.match(declared.text, /connection: close/i)

  // Chunked: no length declared; the tracker stops at the first byte over the cap. The client
  // keeps the request open (no final chunk), so an answer proves the rest was never awaited.
  const chunked =
    'POST /v1/announce HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n' +
    `400\r\n${'a'.repeat(0x400)}\r\n`
  const streamed = await rawExchange(http, chunked, 10_000)
  assert.ok(streamed.closed, 'connection closed by the tracker')
  assert.match(streamed.text, /^HTTP\/1\.1 413 /)

  // A body of exactly the cap is read (and refused by the announce rules, not by its size).
  const atCap = await post(http, new Uint8Array(700).fill(3))
  assert.equal(atCap.status, 400)
  assert.equal(code(atCap.json), 'MALFORMED')
  assert.equal(tracker.daemon.table.size, 0)
})

/** Bytes a raw connection received until `until` matches them (or it closed, or 10 s). */
function readUntil(socket: Socket, until: RegExp): Promise<string> {
  return new Promise(resolve => {
    let text = ''
    const done = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', done)
      resolve(text)
    }
    const onData = (c: Buffer): void => {
      text += c.toString('latin1')
      if (until.test(text)) done()
    }
    const timer = setTimeout(done, 10_000)
    socket.on('data', onData)
    socket.on('close', done)
  })
}

test('Expect: 100-continue invites a body only when it will be read', async t => {
  const { tracker, http } = await httpTracker(t)
  const head = (length: number): string =>
    'POST /v1/announce HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
    `Expect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`
  // Too large by its head: 413 at once, never "100 Continue".
  const big = await rawExchange(http, head(5_000_000), 10_000)
  assert.match(big.text, /^HTTP\/1\.1 413 /)
  assert.ok(!big.text.includes('100 Continue'))

  const rec = serverRecord(90)
  const socket = connect({ host: '127.0.0.1', port: http })
  t.after(() => socket.destroy())
  socket.on('error', () => undefined)
  socket.write(head(rec.bytes.byteLength))
  assert.match(await readUntil(socket, /100 Continue\r\n\r\n/), /^HTTP\/1\.1 100 Continue/)
  socket.write(rec.bytes)
  assert.match(await readUntil(socket, /\}\n$/), /^HTTP\/1\.1 200 [^]*"status":"new"/)
  assert.equal(tracker.daemon.table.size, 1)
})

test('wrong method or content type: 405 with Allow, 415', async t => {
  const { http } = await httpTracker(t)
  const rec = serverRecord(30)
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await post(http, method === 'GET' ? new Uint8Array(0) : rec.bytes, { method })
    assert.equal(res.status, 405, method)
    assert.equal(res.headers.allow, 'POST', method)
    assert.equal(code(res.json), 'HTTP_METHOD_NOT_ALLOWED')
  }
  for (const type of [
    'text/plain',
    'application/json',
    'application/x-www-form-urlencoded',
    null,
  ]) {
    const res = await post(http, rec.bytes, { headers: { 'content-type': type } })
    assert.equal(res.status, 415, String(type))
    assert.equal(code(res.json), 'HTTP_UNSUPPORTED_MEDIA_TYPE')
  }
  // Parameters and case do not matter.
  const ok = await post(http, rec.bytes, {
    headers: { 'content-type': 'Application/Octet-Stream; charset=binary' },
  })
  assert.equal(ok.status, 200)
  // A query string is refused, as on every other route.
  const q = await post(http, rec.bytes, { path: '/v1/announce?x=1' })
  assert.equal(q.status, 400)
  assert.equal(code(q.json), 'HTTP_BAD_QUERY')
})

test('X-Forwarded-For from an untrusted peer is ignored', async t => {
  // 127.0.0.2 is a trusted proxy; the client connects from 127.0.0.1.
  const { tracker, http } = await httpTracker(t, { http: { port: 0, trustProxy: ['127.0.0.2'] } })
  const res = await post(http, serverRecord(40).bytes, {
    headers: { 'x-forwarded-for': '127.0.0.9' },
  })
  assert.equal(res.status, 200)
  assert.deepEqual(observed(res.json), { family: 4, address: '127.0.0.1', port: 27960 })
  assert.equal([...tracker.daemon.table.entries()][0]?.observed.address, '127.0.0.1')
  // Nothing trusted at all (the default): ignored as well.
  const plain = await httpTracker(t)
  const res2 = await post(plain.http, serverRecord(41).bytes, {
    headers: { 'x-forwarded-for': '127.0.0.9' },
  })
  assert.deepEqual(observed(res2.json), { family: 4, address: '127.0.0.1', port: 27960 })
})

test('X-Forwarded-For from a listed proxy names the client: the right-most untrusted hop', async t => {
  const { tracker, http } = await httpTracker(t, {
    http: { port: 0, trustProxy: ['127.0.0.2', '127.0.0.3'] },
  })
  const via = { localAddress: '127.0.0.2' }
  // The client wrote "127.0.0.5" itself; the proxy appended the address it saw, 127.0.0.9.
  const res = await post(http, serverRecord(50).bytes, {
    ...via,
    headers: { 'x-forwarded-for': '127.0.0.5, 127.0.0.9' },
  })
  assert.equal(res.status, 200, res.body)
  assert.deepEqual(observed(res.json), { family: 4, address: '127.0.0.9', port: 27960 })
  // Two proxies: 127.0.0.3 (trusted) forwarded to 127.0.0.2; the client is left of it.
  const chain = await post(http, serverRecord(51).bytes, {
    ...via,
    headers: { 'x-forwarded-for': '127.0.0.7, 127.0.0.3' },
  })
  assert.equal(observed(chain.json).address, '127.0.0.7')
  // An entry that is not an address stops the walk at the nearest proxy.
  const junk = await post(http, serverRecord(52).bytes, {
    ...via,
    headers: { 'x-forwarded-for': '127.0.0.7, not-an-address' },
  })
  assert.equal(observed(junk.json).address, '127.0.0.2')
  // No header: the proxy itself.
  const none = await post(http, serverRecord(53).bytes, via)
  assert.equal(observed(none.json).address, '127.0.0.2')
  assert.equal(tracker.daemon.table.size, 4)
})

test('HTTP announces are charged to the flood budget: one 429, then silence', async t => {
  // Rate 0.001/s: no token comes back while the test runs (no timing involved).
  const { tracker, http, tcp } = await httpTracker(t, { flood: { rate: 0.001, burst: 3 } })
  const rec = serverRecord(60)
  for (let i = 0; i < 3; i++) assert.equal((await post(http, rec.bytes)).status, 200, `#${i}`)
  const limited = await post(http, rec.bytes)
  assert.equal(limited.status, 429)
  assert.equal(code(limited.json), 'HTTP_RATE_LIMITED')
  assert.ok(Number(limited.headers['retry-after']) > 0)
  await assert.rejects(post(http, rec.bytes), 'then dropped without an answer')
  assert.equal(stat(tracker, 'announces'), 3)
  // The wire protocol from the same address shares the budget: silenced too (TCP closes).
  const client = await TcpTrackerClient.open('127.0.0.1', tcp)
  t.after(() => {
    client.close()
  })
  assert.equal(await client.request(queryMessage({ kind: 'server', mode: 'list' }), 10_000), null)
  assert.ok(stat(tracker, 'dropped_flood') >= 1)
})

test('behind a listed proxy each client has its own flood budget', async t => {
  const { http } = await httpTracker(t, {
    flood: { rate: 0.001, burst: 2 },
    http: { port: 0, trustProxy: ['127.0.0.2'] },
  })
  const via = (client: string) => ({
    localAddress: '127.0.0.2',
    headers: { 'x-forwarded-for': client },
  })
  const rec = serverRecord(70)
  assert.equal((await post(http, rec.bytes, via('127.0.0.10'))).status, 200)
  assert.equal((await post(http, rec.bytes, via('127.0.0.10'))).status, 200)
  assert.equal((await post(http, rec.bytes, via('127.0.0.10'))).status, 429)
  // Another client through the same proxy is still served.
  assert.equal((await post(http, rec.bytes, via('127.0.0.11'))).status, 200)
})

test('a record cut short by a closed connection is never announced', async t => {
  const { tracker, http } = await httpTracker(t)
  const rec = serverRecord(80)
  const socket = connect({ host: '127.0.0.1', port: http })
  t.after(() => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => undefined)
  socket.write(
    'POST /v1/announce HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: ${rec.bytes.byteLength}\r\n\r\n`,
  )
  socket.write(rec.bytes.subarray(0, 10))
  socket.destroy()
  // The half-sent record is never announced; the tracker keeps serving.
  const res = await post(http, serverRecord(81).bytes)
  assert.equal(res.status, 200)
  assert.equal(tracker.daemon.table.size, 1)
})
