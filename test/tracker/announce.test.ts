import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Announce, Message } from '../../src/wire/messages.js'
import type { SignedRecord } from '../../src/wire/record.js'
import { decodeRecord } from '../../src/wire/record.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord } from '../helpers/tracker.js'

const announce = (record: SignedRecord, txid = 1): Announce => ({
  type: 'announce',
  txid,
  cookie: new Uint8Array(12),
  record,
})

function errorCode(m: Message | null): number | undefined {
  return m?.type === 'error' ? m.code : undefined
}

test('new, refreshed (no signature check), replaced', () => {
  const h = harness()
  const k = testKey(1)
  const src = h.source('192.0.2.10', 4000)
  const r1 = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 1 })
  const a = h.send(announce(r1), src)
  assert.ok(a?.type === 'announce-reply')
  assert.equal(a.status, 'new')
  assert.equal(h.stats.get('signature_checks'), 1)
  for (let i = 0; i < 5; i++) {
    const b = h.send(announce(r1), src)
    assert.ok(b?.type === 'announce-reply')
    assert.equal(b.status, 'refreshed')
  }
  assert.equal(h.stats.get('signature_checks'), 1, 'refreshes cost no signature check')
  assert.equal(h.stats.get('announces_refreshed'), 5)
  // Over TCP the same bytes are a refresh too.
  const t = h.send(announce(r1), src, 'tcp')
  assert.ok(t?.type === 'announce-reply')
  assert.equal(t.status, 'refreshed')
  assert.equal(h.stats.get('signature_checks'), 1)
  const r2 = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 2 })
  const c = h.send(announce(r2), h.source('192.0.2.11', 4001))
  assert.ok(c?.type === 'announce-reply')
  assert.equal(c.status, 'replaced')
  assert.equal(c.observed.address, '192.0.2.11')
  assert.equal(h.stats.get('signature_checks'), 2)
  assert.equal(h.table.size, 1)
  assert.equal(h.table.blockCount('192.0.2.11'), 1)
})

test('a refresh from another source keeps the stored endpoint (replays cannot move it)', () => {
  const h = harness()
  const k = testKey(2)
  const rec = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
  h.send(announce(rec), h.source('192.0.2.10', 4000))
  const r = h.send(announce(rec), h.source('198.51.100.66', 666))
  assert.ok(r?.type === 'announce-reply')
  assert.equal(r.status, 'refreshed')
  assert.deepEqual(r.observed, { family: 4, address: '192.0.2.10', port: 4000 })
  assert.equal(h.stats.get('refresh_other_source'), 1)
})

test('a lower sequence, or the same sequence with other bytes, is refused as STALE_SEQUENCE', () => {
  const h = harness()
  const k = testKey(3)
  const src = h.source('192.0.2.10', 4000)
  const now = h.nowSeconds()
  h.send(announce(makeRecord(k.privateKey, k.publicKey, now, { seq: 10 })), src)
  const older = h.send(announce(makeRecord(k.privateKey, k.publicKey, now, { seq: 9 })), src)
  assert.equal(errorCode(older), WireErrorCode.STALE_SEQUENCE)
  const twin = makeRecord(k.privateKey, k.publicKey, now, {
    seq: 10,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 9 }],
  })
  assert.equal(errorCode(h.send(announce(twin), src)), WireErrorCode.STALE_SEQUENCE)
  assert.equal(h.stats.get('signature_checks'), 1, 'refused before verifying')
  const held = h.table.bucket('testnet', 'peer')[0]
  assert.equal(held?.seq, 10)
})

test('a forged signature is refused and nothing is stored or changed', () => {
  const h = harness()
  const k = testKey(4)
  const src = h.source('192.0.2.10', 4000)
  const good = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 1 })
  const forgedBytes = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
    seq: 2,
  }).bytes.slice()
  forgedBytes[forgedBytes.length - 1]! ^= 1
  const forged = decodeRecord(forgedBytes)
  assert.equal(errorCode(h.send(announce(forged), src)), WireErrorCode.BAD_SIGNATURE)
  assert.equal(h.table.size, 0)
  assert.equal(h.table.blocks, 0)
  h.send(announce(good), src)
  // A forged higher sequence does not replace the held record.
  assert.equal(errorCode(h.send(announce(forged), h.source('192.0.2.99', 1))), 2)
  const held = h.table.bucket('testnet', 'peer')
  assert.equal(held.length, 1)
  assert.equal(held[0]?.seq, 1)
  assert.equal(held[0].ip, '192.0.2.10')
  // A key signed by someone else (signature of another key over the same fields).
  const other = testKey(5)
  const wrong = makeRecord(other.privateKey, k.publicKey, h.nowSeconds(), { seq: 3 })
  assert.equal(errorCode(h.send(announce(wrong), src)), WireErrorCode.BAD_SIGNATURE)
  assert.equal(h.stats.get('bad_signatures'), 3)
})

test('EXPIRED, BAD_TIME, and entries gone once expired (ManualClock)', () => {
  const h = harness({ maxTtl: 600 })
  const k = testKey(6)
  const src = h.source('192.0.2.10', 4000)
  const now = h.nowSeconds()
  const dead = makeRecord(k.privateKey, k.publicKey, now - 100, { expiresAt: now })
  assert.equal(errorCode(h.send(announce(dead), src)), WireErrorCode.EXPIRED)
  const future = makeRecord(k.privateKey, k.publicKey, now + 301)
  assert.equal(errorCode(h.send(announce(future), src)), WireErrorCode.BAD_TIME)
  const skewOk = makeRecord(k.privateKey, k.publicKey, now + 300, { seq: 2 })
  assert.ok(h.send(announce(skewOk), src)?.type === 'announce-reply')
  assert.equal(h.table.size, 1)

  // Expiry by the record: expiresAt in 100 s.
  const k2 = testKey(7)
  const short = makeRecord(k2.privateKey, k2.publicKey, now, { expiresAt: now + 100 })
  assert.ok(h.send(announce(short), src)?.type === 'announce-reply')
  h.clock.advance(99_000)
  assert.ok(h.table.peek(h.table.bucket('testnet', 'peer').find(e => e.seq === 1)!.key))
  h.clock.advance(1_000)
  const q = h.send(
    {
      type: 'query',
      txid: 2,
      cookie: new Uint8Array(12),
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
    h.source('203.0.113.5', 5),
  )
  assert.ok(q?.type === 'introductions')
  assert.equal(q.entries.length, 1, 'the expired entry is not handed out')
  assert.equal(h.table.bucket('testnet', 'peer').length, 1, 'and was deleted when met')
  // A refresh of an expired record is refused.
  assert.equal(errorCode(h.send(announce(short), src)), WireErrorCode.EXPIRED)

  // Expiry by maxTtl (600 s) without refreshes; a refresh extends it.
  h.clock.advance(400_000)
  const again = h.send(announce(skewOk), src)
  assert.ok(again?.type === 'announce-reply')
  assert.equal(again.status, 'refreshed')
  h.clock.advance(599_000)
  assert.equal(h.table.size, 1)
  h.clock.advance(2_000)
  assert.equal(h.table.entries().next().done, true, 'gone after maxTtl without refresh')
})

test('UNKNOWN_NETWORK, DENIED and flood verdicts', () => {
  const k = testKey(8)
  let verdict: 'pass' | 'warn' | 'drop' = 'pass'
  const h = harness(
    { networks: ['testnet'] },
    {
      deny: {
        deniesKey: key => key[0] === testKey(9).publicKey[0],
        deniesAddress: ip => ip === '198.51.100.1',
      },
      flood: {
        check: () =>
          verdict === 'warn'
            ? { action: 'warn', retryAfter: 17 }
            : verdict === 'drop'
              ? { action: 'drop' }
              : { action: 'pass' },
      },
    },
  )
  const src = h.source('192.0.2.10', 4000)
  const now = h.nowSeconds()
  const elsewhere = makeRecord(k.privateKey, k.publicKey, now, { network: 'othernet' })
  assert.equal(errorCode(h.send(announce(elsewhere), src)), WireErrorCode.UNKNOWN_NETWORK)
  const k9 = testKey(9)
  const denied = makeRecord(k9.privateKey, k9.publicKey, now)
  assert.equal(errorCode(h.send(announce(denied), src)), WireErrorCode.DENIED)
  const ok = makeRecord(k.privateKey, k.publicKey, now)
  assert.equal(h.send(announce(ok), h.source('198.51.100.1', 1)), null, 'denied source: silence')
  verdict = 'warn'
  const w = h.send(announce(ok), src)
  assert.ok(w?.type === 'error')
  assert.equal(w.code, WireErrorCode.RATE_LIMITED)
  assert.equal(w.retryAfter, 17)
  verdict = 'drop'
  assert.equal(h.send(announce(ok), src), null)
  assert.equal(h.table.size, 0)
  assert.equal(h.stats.get('signature_checks'), 0)
  verdict = 'pass'
  assert.equal(h.send(announce(ok), src)?.type, 'announce-reply')
})

test('per-block cap: BLOCK_FULL for a new key from a full /24 or /48', () => {
  const h = harness({ perBlock: 3 })
  const now = h.nowSeconds()
  for (let i = 0; i < 3; i++) {
    const k = testKey(20 + i)
    const r = h.send(
      announce(makeRecord(k.privateKey, k.publicKey, now)),
      h.source(`192.0.2.${i + 1}`, 1000 + i),
    )
    assert.equal(r?.type, 'announce-reply')
  }
  const k = testKey(30)
  const rec = makeRecord(k.privateKey, k.publicKey, now)
  assert.equal(
    errorCode(h.send(announce(rec), h.source('192.0.2.200', 9))),
    WireErrorCode.BLOCK_FULL,
  )
  assert.equal(h.send(announce(rec), h.source('192.0.3.1', 9))?.type, 'announce-reply')
  // A held key may move inside its own block, and a replacement in place is allowed.
  const k0 = testKey(20)
  const moved = makeRecord(k0.privateKey, k0.publicKey, now, { seq: 5 })
  assert.equal(h.send(announce(moved), h.source('192.0.2.250', 1))?.type, 'announce-reply')
  for (let i = 0; i < 3; i++) {
    const k6 = testKey(40 + i)
    const r = h.send(
      announce(makeRecord(k6.privateKey, k6.publicKey, now)),
      h.source(`2001:db8:1:${i}::1`, 1),
    )
    assert.equal(r?.type, 'announce-reply')
  }
  const k6 = testKey(50)
  const r6 = makeRecord(k6.privateKey, k6.publicKey, now)
  assert.equal(errorCode(h.send(announce(r6), h.source('2001:db8:1:ffff::9', 2))), 9)
  assert.equal(h.send(announce(r6), h.source('2001:db8:2::9', 2))?.type, 'announce-reply')
  assert.equal(h.table.blockCount('192.0.2.77'), 3)
  assert.equal(h.table.blockCount('2001:db8:1::'), 3)
})
