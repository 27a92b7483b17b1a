import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { signRecord, verifyRecord } from '../../src/crypto/record-sign.js'
import { WireError } from '../../src/errors.js'
import { Limits } from '../../src/wire/constants.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { encodeAnnounceReply } from '../../src/wire/fast-replies.js'
import {
  type NodeRecord,
  decodeRecord,
  encodeSignedRecord,
  isWithdrawal,
} from '../../src/wire/record.js'
import { endpoint, network, recordFields, serverInfo } from '../helpers/arbitraries.js'
import { testKey } from '../helpers/keys.js'
import { toPlain } from '../helpers/plain.js'
import { peerWithdrawal, serverWithdrawal } from '../helpers/vector-cases.js'

/*
 * docs/protocol.md §5 *Withdrawal*: a record whose expiresAt equals its issuedAt and that names
 * no endpoint. Every record valid before decodes exactly as before; only that case was added.
 */

const SIG = new Uint8Array(Limits.SIGNATURE_BYTES)

/** Offset of issuedAt in an encoded record of network `net`. */
const timesAt = (net: string): number => 1 + Buffer.byteLength(net) + 32 + 8

/** Is (issuedAt, expiresAt, endpoint count) a record §5 accepts? The rule, written plainly. */
function acceptable(issuedAt: number, expiresAt: number, endpoints: number): boolean {
  const lifetime = expiresAt - issuedAt
  if (lifetime === 0) return endpoints === 0
  return lifetime >= 1 && lifetime <= Limits.RECORD_LIFETIME_MAX
}

/** The decoded fields, or null when the decoder refused the bytes with WIRE_BAD_VALUE. */
function tryDecode(bytes: Uint8Array): NodeRecord | null {
  try {
    return decodeRecord(bytes).record
  } catch (err) {
    assert.ok(err instanceof WireError && err.code === 'WIRE_BAD_VALUE', String(err))
    return null
  }
}

test('the decoder accepts exactly the §5 times: lifetime 1–86,400 s, or 0 with no endpoint', () => {
  fc.assert(
    fc.property(
      recordFields(new Uint8Array(32)),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.oneof(
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: Limits.RECORD_LIFETIME_MAX - 2, max: Limits.RECORD_LIFETIME_MAX + 2 }),
        fc.integer({ min: -0xffff_ffff, max: 0xffff_ffff }),
      ),
      (fields, issuedAt, lifetime) => {
        const expiresAt = issuedAt + lifetime
        fc.pre(expiresAt >= 0 && expiresAt <= 0xffff_ffff)
        const bytes = encodeSignedRecord(fields, SIG)
        const view = new DataView(bytes.buffer, bytes.byteOffset)
        view.setUint32(timesAt(fields.network), issuedAt)
        view.setUint32(timesAt(fields.network) + 4, expiresAt)
        const decoded = tryDecode(bytes)
        assert.equal(decoded !== null, acceptable(issuedAt, expiresAt, fields.endpoints.length))
        if (decoded !== null) {
          assert.equal(isWithdrawal(decoded), lifetime === 0)
          assert.deepEqual(toPlain(decoded), toPlain({ ...fields, issuedAt, expiresAt }))
        }
      },
    ),
    { numRuns: 500 },
  )
})

test('every record valid before decodes as before and is not a withdrawal', () => {
  fc.assert(
    fc.property(recordFields(new Uint8Array(32)), fields => {
      const signed = decodeRecord(encodeSignedRecord(fields, SIG))
      assert.deepEqual(toPlain(signed.record), toPlain(fields))
      assert.equal(isWithdrawal(signed.record), false)
    }),
    { numRuns: 300 },
  )
})

test('withdrawals of both kinds sign, encode, decode and verify; the encoder refuses endpoints', () => {
  const k = testKey(4)
  fc.assert(
    fc.property(
      network,
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.option(serverInfo, { nil: null }),
      fc.array(endpoint, { minLength: 1, maxLength: Limits.ENDPOINTS_MAX }),
      (net, seq, at, server, endpoints) => {
        const fields: NodeRecord = {
          network: net,
          publicKey: k.publicKey,
          seq,
          issuedAt: at,
          expiresAt: at,
          kind: server === null ? 'peer' : 'server',
          endpoints: [],
          server,
        }
        const signed = signRecord(fields, k.privateKey)
        assert.ok(isWithdrawal(signed.record))
        assert.ok(verifyRecord(signed))
        const again = decodeRecord(signed.bytes)
        assert.deepEqual(toPlain(again.record), toPlain(fields))
        assert.throws(
          () => encodeSignedRecord({ ...fields, endpoints }, SIG),
          (err: unknown) => err instanceof WireError && err.code === 'WIRE_BAD_VALUE',
        )
      },
    ),
    { numRuns: 50 },
  )
})

test('the vector withdrawals: lifetime 0, no endpoint, seq above the record they withdraw', () => {
  for (const w of [peerWithdrawal(), serverWithdrawal()]) {
    assert.ok(isWithdrawal(w.record))
    assert.equal(w.record.endpoints.length, 0)
    assert.ok(verifyRecord(w))
  }
  // The peer withdrawal is 4 + 32 + 8 + 4 + 4 + 1 + 1 + 64 + 1 bytes: the smallest record of `mnet`.
  assert.equal(peerWithdrawal().bytes.byteLength, 1 + 4 + 32 + 8 + 4 + 4 + 1 + 1 + 64)
})

test('announce-reply status 3 is `withdrawn`, the same bytes from both encoders; 4 is refused', () => {
  const observed = { family: 4 as const, address: '127.0.0.1', port: 5000 }
  const m = {
    type: 'announce-reply' as const,
    txid: 9,
    status: 'withdrawn' as const,
    interval: 0,
    observed,
  }
  const bytes = encodeMessage(m)
  assert.equal(bytes[5], 3)
  assert.deepEqual(
    Buffer.from(encodeAnnounceReply(9, 'withdrawn', 0, '127.0.0.1', 5000)),
    Buffer.from(bytes),
  )
  assert.deepEqual(toPlain(decodeMessage(bytes)), toPlain(m))
  const bad = bytes.slice()
  bad[5] = 4
  assert.throws(
    () => decodeMessage(bad),
    (err: unknown) => err instanceof WireError && err.code === 'WIRE_BAD_VALUE',
  )
})
