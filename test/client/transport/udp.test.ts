import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UdpTransport } from '../../../src/client/transport/udp.js'
import { DatagramSocket } from '../../../src/net/datagram-socket.js'
import { encodeMessage, peekTxid } from '../../../src/wire/messages.js'

/** A "tracker" whose replies are chosen by the test. */
async function scripted(
  t: { after(fn: () => unknown): void },
  answer: (txid: number, port: number, address: string, sock: DatagramSocket) => void,
): Promise<DatagramSocket> {
  const sock = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  t.after(() => sock.close())
  void (async () => {
    for await (const d of sock) answer(peekTxid(d.data), d.port, d.address, sock)
  })()
  return sock
}

const cookieReq = {
  build: (_c: Uint8Array, txid: number) => ({ type: 'stats-request' as const, txid, cookie: _c }),
}

test('a reply from another port, with the right txid, is never taken', async t => {
  const other = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  t.after(() => other.close())
  const tracker = await scripted(t, (txid, port, address) => {
    other.send(
      encodeMessage({ type: 'cookie-reply', txid, cookie: new Uint8Array(12) }),
      port,
      address,
    )
  })
  const udp = new UdpTransport()
  t.after(() => udp.close())
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 200,
    }),
    { code: 'CLIENT_TIMEOUT' },
  )
  // The socket is connected to the tracker's address: the kernel drops the stray datagram
  // before it is read (and the source check would drop it if it came through).
  assert.equal(udp.counts.received, 0)
})

test('garbage, wrong-txid and trailing-byte datagrams are dropped; the good one is used', async t => {
  const tracker = await scripted(t, (txid, port, address, sock) => {
    sock.send(Uint8Array.of(0x11, 1, 2), port, address)
    sock.send(
      encodeMessage({ type: 'cookie-reply', txid: (txid ^ 1) >>> 0, cookie: new Uint8Array(12) }),
      port,
      address,
    )
    const bad = encodeMessage({ type: 'cookie-reply', txid, cookie: new Uint8Array(12) })
    sock.send(Uint8Array.from([...bad, 0]), port, address) // trailing byte
    sock.send(
      encodeMessage({ type: 'cookie-reply', txid, cookie: new Uint8Array(12).fill(7) }),
      port,
      address,
    )
  })
  const udp = new UdpTransport()
  t.after(() => udp.close())
  // The stats request gets the cookie reply the scripted tracker sends to everything: the
  // transport then retries once with that cookie and reports a tracker that refuses cookies.
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 2000,
    }),
    { code: 'CLIENT_BAD_REPLY' },
  )
  assert.ok(udp.counts.dropped >= 3)
  assert.equal(udp.counts.cookieFetches, 1)
})

test('a request to a tracker without a UDP port, or after close, fails with a code', async () => {
  const udp = new UdpTransport()
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: null, tcp: 1 }, cookieReq.build, { timeout: 100 }),
    { code: 'CLIENT_UNREACHABLE' },
  )
  await udp.close()
  await udp.close()
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: 9, tcp: null }, cookieReq.build, { timeout: 100 }),
    { code: 'CLIENT_CLOSED' },
  )
})

test('a host name that does not resolve is CLIENT_UNREACHABLE for that tracker only', async t => {
  const udp = new UdpTransport({
    resolve: host =>
      host === 'good.test'
        ? Promise.resolve({ address: '127.0.0.1', family: 4 })
        : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })),
  })
  t.after(() => udp.close())
  const tracker = await scripted(t, (txid, port, address, sock) => {
    sock.send(encodeMessage({ type: 'error', txid, code: 6, retryAfter: 0 }), port, address)
  })
  await assert.rejects(
    udp.request({ host: 'bad.test', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 500,
    }),
    { code: 'CLIENT_UNREACHABLE' },
  )
  await assert.rejects(
    udp.request({ host: 'good.test', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 500,
    }),
    { code: 'CLIENT_REFUSED' },
  )
})

test('a decoder bug is not a bad datagram: the request rejects with it and it is counted', async t => {
  const tracker = await scripted(t, (txid, port, address, sock) => {
    sock.send(
      encodeMessage({ type: 'cookie-reply', txid, cookie: new Uint8Array(12) }),
      port,
      address,
    )
  })
  const bug = new TypeError('decoder bug')
  const udp = new UdpTransport({
    decode: () => {
      throw bug
    },
  })
  t.after(() => udp.close())
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 2000,
    }),
    err => err === bug,
  )
  assert.equal(udp.counts.internalErrors, 1)
  assert.equal(udp.counts.dropped, 0)
})

/** A free UDP port on loopback with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const port = s.port
  await s.close()
  return port
}

test('ICMP port unreachable fails the request at once, not after its timeout', async t => {
  const udp = new UdpTransport()
  t.after(() => udp.close())
  const port = await closedPort()
  const started = Date.now()
  await assert.rejects(
    udp.request({ host: '127.0.0.1', udp: port, tcp: null }, cookieReq.build, {
      timeout: 20_000,
    }),
    (err: Error & { code?: string }) =>
      err.code === 'CLIENT_UNREACHABLE' && /port unreachable/.test(err.message),
  )
  // Generous: the old transport waited the whole 20 s timeout.
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`)
})

test('a name with several addresses: a dead first address falls through to the next', async t => {
  const tracker = await scripted(t, (txid, port, address, sock) => {
    sock.send(encodeMessage({ type: 'error', txid, code: 6, retryAfter: 0 }), port, address)
  })
  // ::1 first (Happy Eyeballs puts the resolver's first family first), nothing listens there on
  // this port; 127.0.0.1 answers.
  const udp = new UdpTransport({
    resolve: () =>
      Promise.resolve([
        { address: '::1', family: 6 as const },
        { address: '127.0.0.1', family: 4 as const },
      ]),
  })
  t.after(() => udp.close())
  await assert.rejects(
    udp.request({ host: 'two.test', udp: tracker.port, tcp: null }, cookieReq.build, {
      timeout: 10_000,
    }),
    { code: 'CLIENT_REFUSED' },
  )
})
