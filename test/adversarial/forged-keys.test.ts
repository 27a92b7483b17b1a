// Forged keys (docs/protocol.md §7): an attacker with no private key announces records under
// public keys of small order. Before the strict rule the tracker stored them as `new`. Every
// request here goes to a tracker on 127.0.0.1 (or through the socket-free handler), bounded in
// count and time.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { emptyDrops, verifyEntries } from '../../src/client/verify.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Message } from '../../src/wire/messages.js'
import { type NodeRecord, type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { forgeRecord, smallOrderEncodings } from '../helpers/forged-records.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { unhex } from '../helpers/plain.js'
import {
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
  startTracker,
} from '../helpers/tracker.js'
import type { SignatureVector } from '../helpers/vector-cases.js'
import { decodeMessage } from '../../src/wire/messages.js'

const announce = (record: SignedRecord, txid: number): Message => ({
  type: 'announce',
  txid,
  cookie: new Uint8Array(12),
  record,
})

function fieldsAt(nowSeconds: number, i: number): NodeRecord {
  return {
    network: 'testnet',
    publicKey: new Uint8Array(32),
    seq: 1,
    issuedAt: nowSeconds,
    expiresAt: nowSeconds + 3600,
    kind: 'peer',
    endpoints: [{ family: 4, address: '127.0.0.1', port: 20_000 + i }],
    server: null,
  }
}

test('announces of forged records under every small-order key are refused by a real tracker (UDP and TCP)', async t => {
  const tracker = await startTracker(t)
  const udp = await UdpTrackerClient.open(tracker.host, tracker.udp)
  t.after(() => udp.close())
  const now = Math.floor(Date.now() / 1000)

  // Control: an honest record is accepted, so a refusal below is about the key.
  const honest = testKey(31)
  const ok = await udp.request(announce(makeRecord(honest.privateKey, honest.publicKey, now), 1))
  assert.ok(ok?.type === 'announce-reply', `honest announce: ${JSON.stringify(ok)}`)
  assert.equal(ok.status, 'new')

  const keys = smallOrderEncodings()
  for (const [i, k] of keys.entries()) {
    const forged = forgeRecord(fieldsAt(now, i), unhex(k.hex))
    const reply = await udp.request(announce(forged, 100 + i))
    assert.ok(reply !== null, `${k.name}: no reply`)
    assert.ok(
      reply.type === 'error' && reply.code === WireErrorCode.BAD_SIGNATURE,
      `${k.name}: ${JSON.stringify(reply)}`,
    )
  }
  assert.equal(tracker.daemon.stats.get('bad_signatures'), keys.length)

  // The same over TCP (the classic forgery: identity key, R = identity, S = 0).
  const tcp = await TcpTrackerClient.open(tracker.host, tracker.tcp)
  t.after(() => tcp.socket.destroy())
  const classic = forgeRecord(fieldsAt(now, 99), unhex('01' + '00'.repeat(31)))
  assert.equal(classic.signature[0], 1)
  assert.ok(
    classic.signature.subarray(1).every(b => b === 0),
    'R = identity, S = 0',
  )
  tcp.send(announce(classic, 500))
  const frame = await tcp.nextFrame(10_000)
  assert.ok(frame !== null, 'no TCP reply')
  const m = decodeMessage(frame)
  assert.ok(m.type === 'error' && m.code === WireErrorCode.BAD_SIGNATURE, JSON.stringify(m))
  assert.equal(tracker.daemon.stats.get('bad_signatures'), keys.length + 1)

  // Nothing forged is held or handed out: the table holds the honest record only.
  assert.equal(tracker.daemon.stats.get('table_entries'), 1)
  const asker = await UdpTrackerClient.open(tracker.host, tracker.udp)
  t.after(() => asker.close())
  const q = await asker.request(queryMessage({ network: 'testnet', kind: 'peer', count: 50 }))
  assert.ok(q?.type === 'introductions', JSON.stringify(q))
  for (const e of q.entries)
    assert.deepEqual(decodeRecord(e.record).record.publicKey, honest.publicKey)
})

test('every golden signature refusal vector is refused by the announce handler as BAD_SIGNATURE', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../fixtures/vectors/signatures.json', import.meta.url), 'utf8'),
  ) as SignatureVector[]
  // The harness clock starts at the vectors' issuedAt, so only the signature can refuse them.
  const h = harness()
  vectors.forEach((v, i) => {
    const signed = decodeRecord(unhex(v.record))
    const reply = h.send(announce(signed, i + 1), h.source('192.0.2.50', 4000 + i))
    assert.ok(
      reply?.type === 'error' && reply.code === WireErrorCode.BAD_SIGNATURE,
      `${v.name}: ${JSON.stringify(reply)}`,
    )
  })
  assert.equal(h.stats.get('bad_signatures'), vectors.length)
  assert.equal(h.table.size, 0)
})

test('a client drops forged entries handed out by a malicious tracker as bad signatures', () => {
  const now = Math.floor(Date.now() / 1000)
  const honest = testKey(32)
  const entries = [
    ...smallOrderEncodings().map((k, i) => forgeRecord(fieldsAt(now, i), unhex(k.hex))),
    makeRecord(honest.privateKey, honest.publicKey, now),
  ].map(r => ({
    observed: { family: 4 as const, address: '127.0.0.1', port: 4000 },
    verified: false,
    age: 0,
    record: r.bytes,
  }))
  const drops = emptyDrops()
  const kept = verifyEntries(
    entries,
    { network: 'testnet', kind: 'peer', now: now * 1000, tracker: 'evil' },
    drops,
  )
  assert.equal(drops.badSignature, entries.length - 1)
  assert.deepEqual(
    kept.map(e => e.record.publicKey),
    [honest.publicKey],
  )
})
