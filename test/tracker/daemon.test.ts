import assert from 'node:assert/strict'
import { test } from 'node:test'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { decodeRecord } from '../../src/wire/record.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { testKey } from '../helpers/keys.js'
import {
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
  startTracker,
} from '../helpers/tracker.js'

const now = (): number => Math.floor(Date.now() / 1000)

for (const host of ['127.0.0.1', '::1']) {
  test(`announce over UDP, sample over UDP and TCP (${host})`, async t => {
    const tr = await startTracker(t, { host: [host] })
    const a = testKey(1)
    const b = testKey(2)
    const recA = makeRecord(a.privateKey, a.publicKey, now(), {
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      seq: 5,
    })
    const recB = makeRecord(b.privateKey, b.publicKey, now(), {
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      kind: 'server',
      server: { name: 'B', players: 1, maxPlayers: 8, world: 'w', version: '1', tags: [] },
    })
    const udp = await UdpTrackerClient.open(host, tr.udp)
    t.after(() => udp.close())
    const r1 = await udp.request({ type: 'announce', txid: 11, cookie: udp.cookie, record: recA })
    assert.ok(r1?.type === 'announce-reply')
    assert.equal(r1.txid, 11)
    assert.equal(r1.status, 'new')
    assert.equal(r1.interval, 300)
    assert.equal(r1.observed.address, host)
    assert.equal(r1.observed.port, udp.probe.port)

    const tcp = await TcpTrackerClient.open(host, tr.tcp)
    t.after(() => {
      tcp.close()
    })
    const r2 = await tcp.request({
      type: 'announce',
      txid: 12,
      cookie: new Uint8Array(12),
      record: recB,
    })
    assert.ok(r2?.type === 'announce-reply')
    assert.equal(r2.status, 'new')
    assert.equal(r2.observed.address, host)

    // The UDP asker is excluded from its own sample (same source address and port).
    const s1 = await udp.request(queryMessage({ txid: 13 }))
    assert.ok(s1?.type === 'introductions')
    assert.equal(s1.entries.length, 0)

    const s2 = await tcp.request(queryMessage({ txid: 14 }))
    assert.ok(s2?.type === 'introductions')
    assert.equal(s2.txid, 14)
    assert.equal(s2.entries.length, 1)
    const e = s2.entries[0]!
    assert.ok(Buffer.from(e.record).equals(recA.bytes))
    assert.ok(verifyRecord(decodeRecord(e.record)))
    assert.equal(e.observed.port, udp.probe.port)
    assert.ok(e.age <= 1)

    const s3 = await udp.request(queryMessage({ txid: 15, kind: 'server', mode: 'list' }))
    assert.ok(s3?.type === 'introductions')
    assert.equal(s3.total, 1)
    assert.ok(Buffer.from(s3.entries[0]!.record).equals(recB.bytes))

    assert.equal(tr.daemon.table.size, 2)
    assert.equal(tr.daemon.stats.get('signature_checks'), 2)
  })
}

test('a UDP request without a valid cookie gets a cookie reply, and nothing is stored', async t => {
  const tr = await startTracker(t)
  const a = testKey(3)
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  udp.cookie = new Uint8Array(12)
  const rec = makeRecord(a.privateKey, a.publicKey, now(), {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
  const r = await udp.request({ type: 'announce', txid: 9, cookie: udp.cookie, record: rec })
  assert.ok(r?.type === 'cookie-reply')
  assert.equal(r.txid, 9)
  assert.equal(tr.daemon.table.size, 0)
  assert.equal(tr.daemon.stats.get('signature_checks'), 0)
  udp.cookie = r.cookie
  const r2 = await udp.request({ type: 'announce', txid: 10, cookie: udp.cookie, record: rec })
  assert.ok(r2?.type === 'announce-reply')
  assert.equal(tr.daemon.table.size, 1)
})

test('stats-request answers with the counters over UDP and TCP', async t => {
  const tr = await startTracker(t)
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  const r = await udp.request({ type: 'stats-request', txid: 3, cookie: udp.cookie })
  assert.ok(r?.type === 'stats-reply')
  const names = new Set(r.stats.map(s => s.name))
  assert.ok(names.has('table_entries'))
  assert.ok(names.has('cookies_issued'))
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  const r2 = await tcp.request({ type: 'stats-request', txid: 4, cookie: new Uint8Array(12) })
  assert.ok(r2?.type === 'stats-reply')
  assert.ok(r2.stats.length >= r.stats.length)
  assert.equal(r2.stats.find(s => s.name === 'cookies_issued')?.value, 1)
  const err = await tcp.request({ type: 'error', txid: 5, code: 1, retryAfter: 0 })
  assert.ok(err?.type === 'error')
  assert.equal(err.code, WireErrorCode.UNSUPPORTED)
})

test('udpRecvBuffer is requested on every UDP listener; addresses() reports what was granted', async t => {
  const lines: Record<string, unknown>[] = []
  const logger = {
    debug: () => undefined,
    info: (f: Record<string, unknown>) => {
      lines.push(f)
    },
    warn: (f: Record<string, unknown>) => {
      lines.push(f)
    },
    error: () => undefined,
  }
  const tr = await startTracker(t, { udpRecvBuffer: 65_536 }, { logger })
  const udp = tr.daemon.addresses().listeners.filter(l => l.transport === 'udp')
  assert.equal(udp.length, 1)
  const granted = udp[0]?.recvBuffer ?? 0
  if (process.platform === 'linux') assert.equal(granted, 2 * 65_536)
  else assert.ok(granted >= 65_536)
  const line = lines.find(l => l.event === 'udp_recv_buffer')
  assert.ok(line !== undefined)
  assert.equal(line.requested, 65_536)
  assert.equal(line.granted, granted)
  // TCP listeners carry no receive buffer figure.
  assert.ok(
    tr.daemon.addresses().listeners.every(l => l.transport === 'udp' || l.recvBuffer === undefined),
  )
  // The default (4 MiB) gets at least the kernel default.
  const plain = await startTracker(t, { udpRecvBuffer: 0 })
  const base = plain.daemon.addresses().listeners.find(l => l.transport === 'udp')?.recvBuffer ?? 0
  const big = await startTracker(t)
  const got = big.daemon.addresses().listeners.find(l => l.transport === 'udp')?.recvBuffer ?? 0
  assert.ok(base > 0 && got >= base, `${got} < ${base}`)
})

test('pause stops reading on UDP and TCP and keeps the table', async t => {
  const tr = await startTracker(t)
  const a = testKey(4)
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  const rec = makeRecord(a.privateKey, a.publicKey, now())
  const r = await udp.request({ type: 'announce', txid: 1, cookie: udp.cookie, record: rec })
  assert.ok(r?.type === 'announce-reply')
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })

  await tr.daemon.pause()
  await tr.daemon.pause() // idempotent
  assert.equal(await udp.request(queryMessage({ txid: 2 }), 300), null, 'no UDP answer')
  assert.ok(await tcp.waitClosed(5000), 'open TCP connections are dropped')
  await assert.rejects(TcpTrackerClient.open('127.0.0.1', tr.tcp), 'no new TCP connection')
  assert.equal(tr.daemon.table.size, 1, 'the table is kept')
  assert.equal([...tr.daemon.table.entries()].length, 1)
  await tr.daemon.close() // close after pause
})

test('--udp 0 --tcp 0: TCP is bound on the port UDP got, on every host', async t => {
  for (let i = 0; i < 6; i++) {
    const hosts = i % 2 === 0 ? ['127.0.0.1'] : ['127.0.0.1', '::1']
    const tr = await startTracker(t, { host: hosts, udp: 0, tcp: 0 })
    const a = tr.daemon.addresses()
    assert.ok(a.udp !== null && a.udp > 0)
    assert.equal(a.tcp, a.udp)
    for (const l of a.listeners) assert.equal(l.port, a.udp, `${l.transport} ${l.host}`)
    await tr.close()
  }
})
