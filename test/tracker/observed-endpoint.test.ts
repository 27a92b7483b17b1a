import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { TcpTrackerClient, makeRecord, startTracker } from '../helpers/tracker.js'

/*
 * docs/protocol.md §8.3: on TCP the observed endpoint is the connection's address with the port
 * the record names (its unspecified-address endpoint of that family, else its first endpoint of
 * that family, else its first endpoint); the connection's ephemeral source port is never stored.
 */

function announceFrom(
  h: ReturnType<typeof harness>,
  n: number,
  endpoints: Endpoint[],
  address: string,
  transport: 'udp' | 'tcp',
) {
  const k = testKey(n)
  const record = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { endpoints })
  return h.send(
    { type: 'announce', txid: n, cookie: new Uint8Array(12), record },
    h.source(address, 51_234),
    transport,
  )
}

const v4 = (address: string, port: number): Endpoint => ({ family: 4, address, port })
const v6 = (address: string, port: number): Endpoint => ({ family: 6, address, port })

test('TCP: the port comes from the record, the address from the connection', () => {
  const h = harness()
  const cases: [Endpoint[], string, number][] = [
    [[v4('192.0.2.9', 1111), v4('0.0.0.0', 27_960)], '198.51.100.1', 27_960],
    [[v4('192.0.2.9', 1111), v4('192.0.2.10', 2222)], '198.51.100.2', 1111],
    [[v6('::', 3333), v4('192.0.2.9', 1111)], '198.51.100.3', 1111],
    [[v6('2001:db8::1', 4444)], '198.51.100.4', 4444],
    [[v4('0.0.0.0', 5555), v6('2001:db8::1', 4444), v6('::', 6666)], '2001:db8:5::1', 6666],
    [[v4('192.0.2.9', 1111)], '2001:db8:6::1', 1111],
  ]
  cases.forEach(([endpoints, address, port], i) => {
    const r = announceFrom(h, 10 + i, endpoints, address, 'tcp')
    assert.ok(r?.type === 'announce-reply', JSON.stringify(r))
    assert.equal(r.status, 'new')
    assert.equal(r.observed.address, address)
    assert.equal(r.observed.port, port, `case ${i}`)
  })
  const held = [...h.table.entries()].map(e => e.observed.port).sort((a, b) => a - b)
  assert.deepEqual(
    held,
    [1111, 1111, 4444, 6666, 27_960, 1111].sort((a, b) => a - b),
  )
  assert.equal(h.stats.get('tcp_no_port'), 0)
})

test('TCP: a record that names no port is refused UNSUPPORTED and counted; UDP keeps the source', () => {
  const h = harness()
  const r = announceFrom(h, 1, [], '198.51.100.1', 'tcp')
  assert.ok(r?.type === 'error')
  assert.equal(r.code, 11)
  assert.equal(h.stats.get('tcp_no_port'), 1)
  assert.equal(h.table.size, 0)
  const u = announceFrom(h, 1, [], '198.51.100.1', 'udp')
  assert.ok(u?.type === 'announce-reply')
  assert.equal(u.observed.port, 51_234)
  const w = announceFrom(h, 2, [v4('0.0.0.0', 27_960)], '198.51.100.1', 'udp')
  assert.ok(w?.type === 'announce-reply')
  assert.equal(w.observed.port, 51_234, 'UDP: the datagram source, as before')
})

test('loopback TCP: the stored port is the record port, not the ephemeral source port', async t => {
  const tr = await startTracker(t)
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  const k = testKey(3)
  const record = makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000), {
    endpoints: [v4('0.0.0.0', 27_960)],
  })
  const r = await tcp.request({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record })
  assert.ok(r?.type === 'announce-reply')
  assert.equal(r.observed.address, '127.0.0.1')
  assert.equal(r.observed.port, 27_960)
  assert.notEqual(tcp.socket.localPort, 27_960)
})
