import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { test } from 'node:test'
import { DatagramSocket } from '../../src/net/datagram-socket.js'

for (const host of ['127.0.0.1', '::1']) {
  test(`echo over ${host}: datagrams arrive in order with their source`, async () => {
    const server = await DatagramSocket.bind({ host, port: 0 })
    const client = await DatagramSocket.bind({ host, port: 0 })
    const echo = (async () => {
      for await (const d of server) server.send(d.data, d.port, d.address)
    })()
    for (let i = 0; i < 5; i++) client.send(Uint8Array.of(i), server.port, host)
    const got: number[] = []
    for await (const d of client) {
      assert.equal(d.port, server.port)
      assert.equal(d.family, host.includes(':') ? 6 : 4)
      got.push(d.data[0]!)
      if (got.length === 5) break
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4])
    await server.close()
    await echo
    await client.close()
    await client.close() // idempotent
  })
}

test('oversize datagrams and queue overflow are dropped and counted', async () => {
  const server = await DatagramSocket.bind({
    host: '127.0.0.1',
    port: 0,
    maxDatagram: 10,
    maxQueue: 3,
  })
  const raw = createSocket('udp4')
  for (let i = 0; i < 6; i++) raw.send(Buffer.alloc(5, i), server.port, '127.0.0.1')
  raw.send(Buffer.alloc(50), server.port, '127.0.0.1')
  const deadline = Date.now() + 2000
  while (server.counts.received < 7 && Date.now() < deadline)
    await new Promise(r => setTimeout(r, 10))
  assert.equal(server.counts.received, 7)
  assert.equal(server.counts.oversize, 1)
  assert.equal(server.counts.overflow, 3)
  const first = await server.next()
  assert.equal(first.done, false)
  raw.close()
  await server.close()
  assert.equal((await server.next()).done, true)
})

test('a send to a bad port is counted, never thrown', async () => {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  s.send(Uint8Array.of(1), 70000, '127.0.0.1')
  s.send(Uint8Array.of(1), 0, '127.0.0.1')
  assert.ok(s.counts.sendErrors >= 1)
  await s.close()
})

test('binding a taken port rejects', async () => {
  const a = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  await assert.rejects(DatagramSocket.bind({ host: '127.0.0.1', port: a.port }))
  await a.close()
  const s = createSocket('udp4')
  s.bind(0, '127.0.0.1')
  await once(s, 'listening')
  s.close()
})

/** SO_RCVBUF of a fresh UDP socket: the kernel default. */
async function kernelDefault(): Promise<number> {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const n = s.recvBuffer
  await s.close()
  return n
}

test('the receive buffer request reaches the socket and the granted size is reported', async () => {
  const base = await kernelDefault()
  assert.ok(base > 0)
  // 64 KiB is below every kernel's rmem_max: granted as asked (Linux reports twice the request).
  const small = await DatagramSocket.bind({ host: '127.0.0.1', port: 0, receiveBufferSize: 65_536 })
  assert.ok(!small.recvBufferRefused)
  if (process.platform === 'linux') assert.equal(small.recvBuffer, 2 * 65_536)
  else assert.ok(small.recvBuffer >= 65_536)
  await small.close()
  // A large request gets at least the default (the kernel caps it at rmem_max).
  const large = await DatagramSocket.bind({
    host: '127.0.0.1',
    port: 0,
    receiveBufferSize: 4 * 1024 * 1024,
  })
  assert.ok(large.recvBuffer >= base, `${large.recvBuffer} < ${base}`)
  await large.close()
  // 0 keeps the kernel default.
  const none = await DatagramSocket.bind({ host: '127.0.0.1', port: 0, receiveBufferSize: 0 })
  assert.equal(none.recvBuffer, base)
  await none.close()
})

/**
 * Send `n` datagrams to `port` in one go: all of them wait in the kernel before the event loop
 * polls the receiving socket again (loopback delivers at once).
 */
function sendWhileBlocked(port: number, n: number, size = 5): ReturnType<typeof createSocket> {
  const raw = createSocket('udp4')
  for (let i = 0; i < n; i++) raw.send(Buffer.alloc(size, i), port, '127.0.0.1')
  return raw
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 10))
  }
}

test('consume: every datagram reaches the sink once, in order; sends count at once', async () => {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const got: number[] = []
  s.consume(d => {
    got.push(d.data[0]!)
    assert.equal(d.family, 4)
    assert.equal(d.address, '127.0.0.1')
  })
  const raw = createSocket('udp4')
  raw.bind(0, '127.0.0.1')
  await once(raw, 'listening')
  for (let i = 0; i < 50; i++) raw.send(Uint8Array.of(i), s.port, '127.0.0.1')
  await until(() => got.length === 50, '50 datagrams')
  assert.deepEqual(
    got,
    Array.from({ length: 50 }, (_, i) => i),
  )
  // Sends are handed to the kernel at once (no completion callback, no DNS tick).
  s.send(Uint8Array.of(1), raw.address().port, '127.0.0.1')
  assert.equal(s.counts.sent, 1)
  raw.close()
  await s.close()
})

test('consume: a flood is bounded by the queue, overflow dropped and counted', async () => {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0, maxQueue: 4 })
  let delivered = 0
  s.consume(() => {
    delivered++
  })
  // All 40 wait in the kernel before the event loop polls the socket again: one poll reads them
  // in batches, and the queue holds at most 4 of a batch until its drain.
  const raw = sendWhileBlocked(s.port, 40)
  await until(() => s.counts.received === 40, '40 received')
  await until(() => delivered + s.counts.overflow === 40, 'every datagram accounted for')
  assert.ok(s.counts.overflow > 0, 'some were dropped')
  assert.ok(delivered >= 4, `delivered ${delivered}`)
  raw.close()
  await s.close()
})

test('consume: close stops delivery, even of a batch in progress', async () => {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  let calls = 0
  const closing: Promise<void>[] = []
  s.consume(() => {
    calls++
    if (closing.length === 0) closing.push(s.close())
  })
  const raw = sendWhileBlocked(s.port, 5)
  await until(() => closing.length > 0, 'the first datagram')
  await closing[0]
  await new Promise(r => setTimeout(r, 50))
  assert.equal(calls, 1)
  raw.close()
})

test('consume: a sink that throws loses that datagram only; the reader is exclusive', async () => {
  const s = await DatagramSocket.bind({ host: '127.0.0.1', port: 0 })
  const got: number[] = []
  s.consume(d => {
    if (d.data[0] === 1) throw new Error('sink bug')
    got.push(d.data[0]!)
  })
  assert.throws(() => {
    s.consume(() => {})
  })
  await assert.rejects(s.next())
  const raw = createSocket('udp4')
  for (let i = 0; i < 3; i++) raw.send(Uint8Array.of(i), s.port, '127.0.0.1')
  await until(() => got.length === 2, 'two datagrams')
  assert.deepEqual(got, [0, 2])
  assert.equal(s.counts.sinkErrors, 1)
  raw.close()
  await s.close()
})
