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
