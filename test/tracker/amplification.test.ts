import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Limits } from '../../src/wire/constants.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { unsignedMessage } from '../helpers/arbitraries.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, startTracker } from '../helpers/tracker.js'
import { UdpProbe } from '../helpers/udp.js'

/*
 * §8.2: before a source is validated, the tracker never sends more bytes than it received, and
 * only cookie replies. Every message type, valid and not, random sizes.
 */

const key = testKey(1)

/** Valid encodings of every message type (announce with a real signature), stale cookies. */
function everyType(now: number): Uint8Array[] {
  const record = makeRecord(key.privateKey, key.publicKey, now, {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
  const cookie = new Uint8Array(12).fill(0xab)
  const msgs: Message[] = [
    { type: 'cookie-request', txid: 1 },
    { type: 'cookie-reply', txid: 2, cookie },
    { type: 'announce', txid: 3, cookie, record },
    {
      type: 'announce-reply',
      txid: 4,
      status: 'new',
      interval: 1,
      observed: { family: 4, address: '1.2.3.4', port: 1 },
    },
    {
      type: 'query',
      txid: 5,
      cookie,
      network: 'testnet',
      kind: 'peer',
      mode: 'sample',
      count: 100,
      offset: 0,
      sort: 'players',
      notFull: false,
      world: '',
      version: '',
      tags: [],
      exclude: null,
    },
    { type: 'introductions', txid: 6, total: 0, entries: [] },
    { type: 'error', txid: 7, code: 1, retryAfter: 0 },
    {
      type: 'challenge',
      txid: 8,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    {
      type: 'challenge-reply',
      txid: 9,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    { type: 'stats-request', txid: 10, cookie },
    { type: 'stats-reply', txid: 11, stats: [] },
  ]
  const out = msgs.map(encodeMessage)
  for (let type = 0xb; type <= 0xf; type++)
    out.push(Uint8Array.of(0x10 | type, 0, 0, 0, 12, ...cookie))
  return out
}

function checkReply(req: Uint8Array, reply: Uint8Array | null): void {
  if (reply === null) return
  assert.ok(reply.byteLength <= req.byteLength, `${reply.byteLength} > ${req.byteLength}`)
  assert.equal(decodeMessage(reply).type, 'cookie-reply')
}

test('handler: an unvalidated UDP request never gets a reply larger than itself', () => {
  const h = harness()
  const src = h.source('192.0.2.1', 4000)
  // Populate so that a validated query would be large.
  for (let i = 0; i < 20; i++) {
    const k = testKey(100 + i)
    h.send(
      {
        type: 'announce',
        txid: 1,
        cookie: new Uint8Array(12),
        record: makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
          endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
        }),
      },
      h.source(`10.0.${i}.1`, 1),
      'tcp',
    )
  }
  assert.equal(h.table.size, 20)
  for (const req of everyType(h.nowSeconds())) {
    checkReply(req, h.raw(req, src)?.bytes ?? null)
    // Every prefix and a padded version too.
    for (let n = 0; n < req.byteLength; n++)
      checkReply(req.subarray(0, n), h.raw(req.subarray(0, n), src)?.bytes ?? null)
    const padded = new Uint8Array(Math.min(Limits.MAX_DATAGRAM, req.byteLength + 100))
    padded.set(req)
    checkReply(padded, h.raw(padded, src)?.bytes ?? null)
  }
  fc.assert(
    fc.property(unsignedMessage, m => {
      const req = encodeMessage(m)
      checkReply(req, h.raw(req, src)?.bytes ?? null)
    }),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: Limits.MAX_DATAGRAM }),
      fc.integer({ min: 0, max: 15 }),
      (bytes, type) => {
        if (bytes.byteLength > 0) bytes[0] = 0x10 | type
        checkReply(bytes, h.raw(bytes, src)?.bytes ?? null)
      },
    ),
    { numRuns: 5000 },
  )
  assert.equal(
    h.stats.get('signature_checks'),
    20,
    'no unvalidated announce reached a verification',
  )
  assert.equal(h.stats.get('internal_errors'), 0)
})

test('socket: unvalidated datagrams of every type and random sizes get at most a same-size cookie reply', async t => {
  const tr = await startTracker(t)
  const probe = await UdpProbe.open()
  t.after(() => probe.close())
  const sizes = new Map<number, number>()
  const requests: Uint8Array[] = []
  let txid = 1000
  const add = (req: Uint8Array): void => {
    if (req.byteLength >= 5) {
      txid++
      const copy = req.slice()
      new DataView(copy.buffer).setUint32(1, txid)
      sizes.set(txid, copy.byteLength)
      requests.push(copy)
    } else requests.push(req)
  }
  for (const req of everyType(Math.floor(Date.now() / 1000))) {
    add(req)
    for (let n = 0; n < req.byteLength; n += 3) add(req.subarray(0, n))
  }
  for (let i = 0; i < 600; i++) {
    const n = Math.floor(Math.random() * 200) + (i % 10 === 0 ? 1000 : 0)
    const b = new Uint8Array(Math.min(n, 1200))
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(Math.random() * 256)
    if (b.length > 0) b[0] = 0x10 | (i % 16)
    add(b)
  }
  let replies = 0
  for (let i = 0; i < requests.length; i += 50) {
    for (const r of requests.slice(i, i + 50)) probe.send(r, tr.udp, '127.0.0.1')
    for (;;) {
      const reply = await probe.next(150)
      if (reply === null) break
      replies++
      const m = decodeMessage(reply)
      assert.equal(m.type, 'cookie-reply')
      const size = sizes.get(m.txid)
      assert.ok(size !== undefined, `reply to an unknown txid ${m.txid}`)
      assert.ok(reply.byteLength <= size)
    }
  }
  assert.ok(replies > 0)
  assert.equal(tr.daemon.stats.get('replies_udp'), replies)
})
