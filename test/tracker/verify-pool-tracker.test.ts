import assert from 'node:assert/strict'
import { test } from 'node:test'
import { VerifyPool } from '../../src/crypto/verify-pool.js'
import { inlineVerifier } from '../../src/crypto/verifier.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { testKey } from '../helpers/keys.js'
import {
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
  startTracker,
} from '../helpers/tracker.js'

/*
 * A real tracker with verify workers: fresh announces over UDP and TCP are verified on worker
 * threads, answered in order, tampered ones refused. The races between a pending verification
 * and the table are in test/tracker/verify-gate.test.ts (answers released by hand).
 */

const now = (): number => Math.floor(Date.now() / 1000)

function record(n: number, seq = 1): SignedRecord {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, now(), {
    seq,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 + n }],
  })
}

function tampered(r: SignedRecord): SignedRecord {
  const bytes = Uint8Array.from(r.bytes)
  const at = bytes.byteLength - 10
  bytes[at] = (bytes[at] ?? 0) ^ 0x40
  return decodeRecord(bytes)
}

test('verifyWorkers 0: the daemon verifies on its own thread (no pool)', async t => {
  const tr = await startTracker(t, { verifyWorkers: 0 })
  assert.equal(tr.daemon.verifier, inlineVerifier)
})

test('a tracker with verify workers: UDP and TCP announces verified on the workers, tampered ones refused', async t => {
  const tr = await startTracker(t, { verifyWorkers: 2 })
  const pool = tr.daemon.verifier
  assert.ok(pool instanceof VerifyPool)
  // Wait for a thread, so that what follows is verified there (poll-free: warm resolves).
  await pool.warm()
  const inThread = pool.stats.inThread
  const batches = pool.stats.batches

  const udp = await UdpTrackerClient.open(tr.host, tr.udp)
  t.after(() => udp.close())
  const a = record(1, 3)
  const r1 = await udp.request(
    { type: 'announce', txid: 21, cookie: udp.cookie, record: a },
    10_000,
  )
  assert.ok(r1?.type === 'announce-reply', JSON.stringify(r1))
  assert.equal(r1.txid, 21)
  assert.equal(r1.status, 'new')
  const bad = await udp.request(
    { type: 'announce', txid: 22, cookie: udp.cookie, record: tampered(record(2)) },
    10_000,
  )
  assert.ok(bad?.type === 'error')
  assert.equal(bad.code, WireErrorCode.BAD_SIGNATURE)

  // TCP: several frames at once, answers in frame order whatever the pool does.
  const tcp = await TcpTrackerClient.open(tr.host, tr.tcp)
  t.after(() => {
    tcp.close()
  })
  const cookie = new Uint8Array(12)
  tcp.send({ type: 'announce', txid: 31, cookie, record: record(3) })
  tcp.send({ type: 'announce', txid: 32, cookie, record: tampered(record(4)) })
  tcp.send(queryMessage({ txid: 33 }))
  tcp.send({ type: 'announce', txid: 34, cookie, record: record(5) })
  tcp.send({ type: 'announce', txid: 35, cookie, record: a })
  const got = []
  for (let i = 0; i < 5; i++) {
    const f = await tcp.nextFrame(10_000)
    assert.ok(f !== null, `reply ${i}`)
    got.push(decodeMessage(f))
  }
  assert.deepEqual(
    got.map(m => m.txid),
    [31, 32, 33, 34, 35],
  )
  const [m31, m32, , m34, m35] = got
  assert.ok(m31?.type === 'announce-reply' && m31.status === 'new')
  assert.ok(m32?.type === 'error' && m32.code === WireErrorCode.BAD_SIGNATURE)
  assert.ok(m34?.type === 'announce-reply' && m34.status === 'new')
  // The same bytes as held: a refresh, answered without the pool.
  assert.ok(m35?.type === 'announce-reply' && m35.status === 'refreshed')

  assert.equal(tr.daemon.table.size, 3)
  assert.equal(tr.daemon.stats.get('bad_signatures'), 2)
  assert.equal(pool.stats.inThread, inThread, 'verified on the workers, not on the main thread')
  assert.ok(pool.stats.batches > batches, `batches ${pool.stats.batches}`)
  assert.ok(tr.daemon.stats.get('verify_workers') >= 1)
  assert.equal(tr.daemon.stats.get('verify_queue'), 0)
  assert.equal(tr.daemon.stats.get('verify_in_flight'), 0)
})

test('a burst of fresh announces over UDP: every one answered, each stored once', async t => {
  const tr = await startTracker(t, { verifyWorkers: 2 })
  const clients = await Promise.all(
    Array.from({ length: 4 }, () => UdpTrackerClient.open(tr.host, tr.udp)),
  )
  t.after(() => Promise.all(clients.map(c => c.close())))
  // Sent without waiting, 10 from each socket; then every reply is collected.
  clients.forEach((c, j) => {
    for (let i = 0; i < 10; i++) {
      const n = 10 + j * 10 + i
      const m = { type: 'announce' as const, txid: n, cookie: c.cookie, record: record(n) }
      c.probe.send(encodeMessage(m), tr.udp, tr.host)
    }
  })
  const txids: number[] = []
  for (const c of clients) {
    for (let i = 0; i < 10; i++) {
      const b = await c.probe.next(15_000)
      assert.ok(b !== null, 'a reply for every announce')
      const m = decodeMessage(b)
      assert.ok(m.type === 'announce-reply' && m.status === 'new', JSON.stringify(m))
      txids.push(m.txid)
    }
  }
  assert.deepEqual(
    txids.sort((x, y) => x - y),
    Array.from({ length: 40 }, (_, i) => 10 + i),
  )
  assert.equal(tr.daemon.table.size, 40)
  assert.equal(tr.daemon.stats.get('announces_new'), 40)
})

test('close while announces are on the pool: nothing is stored after pause, the pool ends', async t => {
  const tr = await startTracker(t, { verifyWorkers: 1 })
  const udp = await UdpTrackerClient.open(tr.host, tr.udp)
  t.after(() => udp.close())
  const pending = Array.from({ length: 30 }, (_, i) =>
    udp.request(
      { type: 'announce', txid: 200 + i, cookie: udp.cookie, record: record(100 + i) },
      1000,
    ),
  )
  await new Promise(resolve => setTimeout(resolve, 5))
  await tr.daemon.pause()
  const size = tr.daemon.table.size
  await tr.close()
  assert.equal(tr.daemon.table.size, size, 'no change after pause resolved')
  const answered = (await Promise.all(pending)).filter(r => r?.type === 'announce-reply').length
  assert.ok(answered <= size, `${answered} acknowledged, ${size} stored`)
  await assert.rejects(tr.daemon.verifier.verifyBatch([record(1)]), { code: 'VERIFY_POOL_CLOSED' })
})
