import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { KeyObject } from 'node:crypto'
import type { DenyPolicy } from '../../src/tracker/policy.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Announce, Message } from '../../src/wire/messages.js'
import { type NodeRecord, type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { type Harness, harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, queryMessage } from '../helpers/tracker.js'

/*
 * docs/protocol.md §8.3 *Withdrawal*: checked like an announce (deny list, network, time window,
 * sequence, signature), then applied at once and remembered so the older record cannot be
 * replayed back in. Socket-free, on a ManualClock.
 */

const announce = (record: SignedRecord, txid = 1): Announce => ({
  type: 'announce',
  txid,
  cookie: new Uint8Array(12),
  record,
})

function outcome(m: Message | null): string {
  if (m?.type === 'announce-reply') return m.status
  if (m?.type === 'error') return `error ${m.code}`
  return String(m?.type)
}

const err = (code: number): string => `error ${code}`
const STALE = err(WireErrorCode.STALE_SEQUENCE)

/** A withdrawal by `k`: lifetime 0, no endpoint. */
function withdrawal(
  k: { privateKey: KeyObject; publicKey: Uint8Array },
  at: number,
  fields: Partial<NodeRecord> = {},
): SignedRecord {
  return makeRecord(k.privateKey, k.publicKey, at, { issuedAt: at, expiresAt: at, ...fields })
}

function peersListed(h: Harness): number {
  const m = h.send(queryMessage({ count: 100 }), h.source('198.51.100.1', 9999))
  assert.ok(m?.type === 'introductions')
  return m.entries.length
}

/** What a failed step must not have changed. */
function snapshot(h: Harness): [number, number, number] {
  return [h.table.size, h.table.replayMemory.live(h.nowSeconds()), h.stats.get('withdrawals')]
}

test('a withdrawal removes the held entry at once and refuses every older record afterwards', () => {
  const h = harness()
  const k = testKey(1)
  const now = h.nowSeconds()
  const node = h.source('192.0.2.10', 4000)
  const r1 = makeRecord(k.privateKey, k.publicKey, now, { seq: 1 })
  const r2 = makeRecord(k.privateKey, k.publicKey, now, { seq: 2 })
  assert.equal(outcome(h.send(announce(r1), node)), 'new')
  assert.equal(outcome(h.send(announce(r2), node)), 'replaced')
  assert.equal(peersListed(h), 1)
  const w = withdrawal(k, now, { seq: 3 })
  const reply = h.send(announce(w, 42), node)
  assert.ok(reply?.type === 'announce-reply')
  assert.deepEqual([reply.txid, reply.status, reply.interval], [42, 'withdrawn', 0])
  assert.deepEqual(reply.observed, { family: 4, address: '192.0.2.10', port: 4000 })
  assert.equal(h.table.size, 0, 'gone from the table at once')
  assert.equal(peersListed(h), 0)
  assert.equal(h.stats.get('withdrawals'), 1)
  assert.equal(h.table.counts.withdrawn, 1)
  // Replays from anywhere: the last record, an older one, the withdrawal itself.
  const attacker = h.source('198.51.100.66', 5000)
  assert.equal(outcome(h.send(announce(r2), attacker)), STALE)
  assert.equal(outcome(h.send(announce(r1), attacker)), STALE)
  assert.equal(outcome(h.send(announce(w), attacker)), STALE)
  assert.equal(h.table.size, 0)
  // Still refused a day later less a second (the memory keeps it 86,400 s)…
  h.clock.advance(86_399_000)
  const late = makeRecord(k.privateKey, k.publicKey, now, { seq: 2, expiresAt: now + 86_400 })
  assert.equal(outcome(h.send(announce(late), attacker)), STALE)
  // …and the key's owner comes back with a higher seq whenever it likes.
  const r4 = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 4 })
  assert.equal(outcome(h.send(announce(r4), node)), 'new')
  assert.deepEqual(h.table.checkInvariants(), [])
})

test('a withdrawal for a key not held is answered the same and still refuses older records', () => {
  const h = harness()
  const k = testKey(2)
  const now = h.nowSeconds()
  const src = h.source('192.0.2.20', 4000)
  // The record reached other trackers, not this one; the withdrawal arrives first.
  const r5 = makeRecord(k.privateKey, k.publicKey, now, { seq: 5 })
  assert.equal(outcome(h.send(announce(withdrawal(k, now, { seq: 6 })), src)), 'withdrawn')
  assert.equal(h.stats.get('withdrawals'), 1)
  assert.equal(h.table.size, 0)
  assert.equal(outcome(h.send(announce(r5), h.source('198.51.100.66', 1))), STALE)
  // A second, higher withdrawal is fine too; a repeated one is stale.
  assert.equal(outcome(h.send(announce(withdrawal(k, now, { seq: 7 })), src)), 'withdrawn')
  assert.equal(outcome(h.send(announce(withdrawal(k, now, { seq: 7 })), src)), STALE)
})

test('a server withdraws with its kind and server info; kind does not matter to the table', () => {
  const h = harness()
  const k = testKey(3)
  const now = h.nowSeconds()
  const server = { name: 'Arena', players: 1, maxPlayers: 8, world: 'dm1', version: '1', tags: [] }
  const rec = makeRecord(k.privateKey, k.publicKey, now, {
    seq: 10,
    kind: 'server',
    server,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
  })
  const src = h.source('192.0.2.30', 27960)
  assert.equal(outcome(h.send(announce(rec), src)), 'new')
  const w = withdrawal(k, now, { seq: 11, kind: 'server', server })
  const r = h.send(announce(w), src)
  assert.equal(outcome(r), 'withdrawn')
  assert.equal(h.table.size, 0)
  // A peer-kind withdrawal of another held server key works the same (the key is the identity).
  const k2 = testKey(4)
  const rec2 = makeRecord(k2.privateKey, k2.publicKey, now, { seq: 1, kind: 'server', server })
  assert.equal(outcome(h.send(announce(rec2), src)), 'new')
  assert.equal(outcome(h.send(announce(withdrawal(k2, now, { seq: 2 })), src)), 'withdrawn')
  assert.equal(h.table.size, 0)
})

test('§8.3 order for a withdrawal: each failing step answers its code and changes nothing', () => {
  const k = testKey(5)
  const deny: DenyPolicy = {
    deniesKey: key => Buffer.from(key).equals(Buffer.from(testKey(6).publicKey)),
    deniesAddress: () => false,
  }
  const h = harness({ networks: ['testnet'] }, { deny })
  const now = h.nowSeconds()
  const src = h.source('192.0.2.40', 4000)
  assert.equal(
    outcome(h.send(announce(makeRecord(k.privateKey, k.publicKey, now, { seq: 10 })), src)),
    'new',
  )
  const before = snapshot(h)
  const d = testKey(6)
  const cases: [string, SignedRecord, string][] = [
    [
      'denied key (before the network)',
      withdrawal(d, now, { seq: 99, network: 'other' }),
      err(WireErrorCode.DENIED),
    ],
    [
      'unknown network',
      withdrawal(k, now, { seq: 11, network: 'other' }),
      err(WireErrorCode.UNKNOWN_NETWORK),
    ],
    ['issued 301 s ahead', withdrawal(k, now + 301, { seq: 11 }), err(WireErrorCode.BAD_TIME)],
    ['issued 301 s ago', withdrawal(k, now - 301, { seq: 11 }), err(WireErrorCode.EXPIRED)],
    ['seq equal to the held one', withdrawal(k, now, { seq: 10 }), STALE],
    ['seq below the held one', withdrawal(k, now, { seq: 9 }), STALE],
    ['stale before the signature', badlySigned(withdrawal(k, now, { seq: 10 })), STALE],
    [
      'bad signature',
      badlySigned(withdrawal(k, now, { seq: 11 })),
      err(WireErrorCode.BAD_SIGNATURE),
    ],
    [
      'signed by another key',
      withKeyOf(withdrawal(testKey(7), now, { seq: 11 }), k.publicKey),
      err(WireErrorCode.BAD_SIGNATURE),
    ],
  ]
  for (const [name, w, want] of cases) {
    assert.equal(outcome(h.send(announce(w), src)), want, name)
    assert.deepEqual(snapshot(h), before, `${name}: nothing changed`)
  }
  // The window is inclusive at both ends.
  assert.equal(outcome(h.send(announce(withdrawal(k, now - 300, { seq: 11 })), src)), 'withdrawn')
  assert.equal(outcome(h.send(announce(withdrawal(k, now + 300, { seq: 12 })), src)), 'withdrawn')
  assert.equal(h.stats.get('withdrawals'), 2)
})

test('over TCP a withdrawal needs no port: the reply shows the connection as seen', () => {
  const h = harness()
  const k = testKey(8)
  const now = h.nowSeconds()
  const src = h.source('2001:db8::8', 51000)
  const rec = makeRecord(k.privateKey, k.publicKey, now, {
    seq: 1,
    endpoints: [{ family: 6, address: '::', port: 7000 }],
  })
  assert.equal(outcome(h.send(announce(rec), src, 'tcp')), 'new')
  const r = h.send(announce(withdrawal(k, now, { seq: 2 })), src, 'tcp')
  assert.ok(r?.type === 'announce-reply')
  assert.equal(r.status, 'withdrawn')
  assert.deepEqual(r.observed, { family: 6, address: '2001:db8::8', port: 51000 })
  assert.equal(h.stats.get('tcp_no_port'), 0)
  assert.equal(h.table.size, 0)
})

test('a withdrawal is never stored, even issued in the future within the skew', () => {
  const h = harness()
  const k = testKey(9)
  const w = withdrawal(k, h.nowSeconds() + 200, { seq: 1 })
  assert.equal(h.table.insert(w, { family: 4, address: '192.0.2.1', port: 1 }), undefined)
  assert.equal(h.table.size, 0)
})

/**
 * Model: one key; the tracker's answers follow from the highest seq it accepted (announce or
 * withdrawal) and the record it holds. Random interleavings of announces (two variants per seq,
 * so an equal seq with other bytes occurs), replays and withdrawals.
 */
test('property: announces and withdrawals of one key answer as the §8.3 model says', () => {
  const k = testKey(10)
  const h0 = harness()
  const now = h0.nowSeconds()
  const SEQS = 6
  const records = Array.from({ length: SEQS + 1 }, (_, seq) =>
    [0, 1].map(v =>
      makeRecord(k.privateKey, k.publicKey, now, {
        seq,
        endpoints: [{ family: 4, address: '0.0.0.0', port: 1000 + v }],
      }),
    ),
  )
  const withdrawals = Array.from({ length: SEQS + 1 }, (_, seq) => withdrawal(k, now, { seq }))
  const op = fc.record({
    withdraw: fc.boolean(),
    seq: fc.integer({ min: 0, max: SEQS }),
    variant: fc.integer({ min: 0, max: 1 }),
  })
  fc.assert(
    fc.property(fc.array(op, { maxLength: 24 }), ops => {
      const h = harness({}, { clock: h0.clock })
      const src = h.source('192.0.2.50', 4000)
      let max = -1
      let held: { seq: number; variant: number } | null = null
      for (const o of ops) {
        const rec = o.withdraw ? withdrawals[o.seq] : records[o.seq]?.[o.variant]
        assert.ok(rec !== undefined)
        let want: string
        if (!o.withdraw && held?.seq === o.seq && held.variant === o.variant) want = 'refreshed'
        else if (o.seq <= max) want = STALE
        else if (o.withdraw) {
          want = 'withdrawn'
          held = null
          max = o.seq
        } else {
          want = held === null ? 'new' : 'replaced'
          held = { seq: o.seq, variant: o.variant }
          max = o.seq
        }
        assert.equal(outcome(h.send(announce(rec), src)), want, JSON.stringify(o))
        assert.equal(h.table.size, held === null ? 0 : 1)
      }
      assert.deepEqual(h.table.checkInvariants(), [])
    }),
    { numRuns: 150 },
  )
})

function badlySigned(r: SignedRecord): SignedRecord {
  const b = r.bytes.slice()
  b[b.byteLength - 1] = (b[b.byteLength - 1] ?? 0) ^ 0x01
  return decodeRecord(b)
}

/** The same record bytes with another public key written in (the signature is the signer's). */
function withKeyOf(r: SignedRecord, publicKey: Uint8Array): SignedRecord {
  const b = r.bytes.slice()
  b.set(publicKey, 1 + (b[0] ?? 0))
  return decodeRecord(b)
}
