import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { signBytes, verifyBytes } from '../../src/crypto/ed25519.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { naclVerify, naclVerifyRecord } from '../../src/crypto/nacl.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import {
  GROUP_ORDER_L,
  SMALL_ORDER_Y,
  isCanonicalEncoding,
  isReducedScalar,
  isSmallOrderEncoding,
  isStrictPublicKey,
  strictRefusal,
} from '../../src/crypto/strict.js'
import {
  type NodeRecord,
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  recordBody,
  recordSigningInput,
} from '../../src/wire/record.js'
import {
  L,
  P,
  addOrderToS,
  bigToLe,
  forgeRecord,
  forgeSignature,
  identityNonceSignature,
  leToBig,
  plainNaclVerify,
  plainNodeVerify,
  smallOrderEncodings,
  torsionPoints,
} from '../helpers/forged-records.js'
import { testKey } from '../helpers/keys.js'
import { hex, unhex } from '../helpers/plain.js'

const encodings = smallOrderEncodings()
const weakKeys = encodings.map(e => ({ ...e, bytes: unhex(e.hex) }))

describe('the small-order table (checked against the curve, not against itself)', () => {
  test('the 8 torsion points have exactly 14 encodings, and the table names exactly those', () => {
    assert.equal(encodings.length, 14)
    assert.equal(encodings.filter(e => e.canonical).length, 8)
    assert.deepEqual(
      encodings.map(e => e.order).sort((a, b) => a - b),
      [1, 1, 1, 1, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8],
    )
    // Each table row stands for two encodings (sign bit 0 and 1): 7 rows, 14 encodings.
    const fromTable = SMALL_ORDER_Y.flatMap(row => {
      const signed = row.slice()
      signed[31] = (signed[31] ?? 0) | 0x80
      return [hex(row), hex(signed)]
    }).sort()
    assert.deepEqual(fromTable, encodings.map(e => e.hex).sort())
    for (const k of weakKeys) {
      assert.ok(isSmallOrderEncoding(k.bytes), k.name)
      assert.equal(isStrictPublicKey(k.bytes), false, k.name)
      assert.equal(isCanonicalEncoding(k.bytes), leToBig(k.bytes) % 2n ** 255n < P, k.name)
    }
  })

  test('no false positives: every one-bit change of a small-order encoding is not small order', () => {
    // A string decodes to a torsion point exactly when its y (mod p) is a torsion point's y.
    const torsionY = new Set(torsionPoints().map(pt => pt.y))
    for (const k of weakKeys) {
      for (let bit = 0; bit < 255; bit++) {
        const b = k.bytes.slice()
        b[bit >> 3] = (b[bit >> 3] ?? 0) ^ (1 << (bit & 7))
        const small = torsionY.has((leToBig(b) % 2n ** 255n) % P)
        assert.equal(isSmallOrderEncoding(b), small, `${k.name} bit ${bit}`)
      }
    }
  })

  test('S < L and y < p agree with BigInt arithmetic, near the bounds too', () => {
    const near = (bound: bigint) =>
      fc.bigInt({ min: -40n, max: 40n }).map(d => bigToLe((bound + d + 2n ** 256n) % 2n ** 256n))
    const anyBytes = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      near(L),
      near(P),
      near(P + 2n ** 255n),
      near(0n),
    )
    fc.assert(
      fc.property(anyBytes, b => {
        const n = leToBig(b)
        assert.equal(isReducedScalar(b), n < L)
        assert.equal(isCanonicalEncoding(b), n % 2n ** 255n < P)
      }),
      { numRuns: 2000 },
    )
    assert.equal(hex(GROUP_ORDER_L), hex(bigToLe(L)))
    assert.equal(isReducedScalar(bigToLe(L)), false)
    assert.equal(isReducedScalar(bigToLe(L - 1n)), true)
  })
})

describe('honest signatures are unaffected', () => {
  test('fresh keys and their signatures pass the byte checks and verify on both paths', () => {
    for (let i = 0; i < 64; i++) {
      const { privateKey, publicKey } = generateKeyPair()
      const msg = Uint8Array.from({ length: i }, (_, j) => (i + j) & 0xff)
      const sig = signBytes(privateKey, msg)
      assert.equal(strictRefusal(publicKey, sig), null)
      assert.ok(verifyBytes(publicKey, msg, sig))
      assert.ok(naclVerify(publicKey, msg, sig))
    }
  })
})

const fields: NodeRecord = {
  network: 'mnet',
  publicKey: new Uint8Array(32),
  seq: 1,
  issuedAt: 1_800_000_000,
  expiresAt: 1_800_003_600,
  kind: 'peer',
  endpoints: [],
  server: null,
}

describe('keys of small order never verify, whatever the signature', () => {
  test('the classic forgery: A = identity, R = identity, S = 0 (plain verifiers accept it)', () => {
    const identity = unhex('01' + '00'.repeat(31))
    const sig = unhex('01' + '00'.repeat(63))
    for (const msg of [new Uint8Array(0), unhex('00'), new TextEncoder().encode('anything')]) {
      assert.ok(plainNodeVerify(identity, msg, sig), 'node:crypto alone accepts it')
      assert.ok(plainNaclVerify(identity, msg, sig), 'tweetnacl alone accepts it')
      assert.equal(verifyBytes(identity, msg, sig), false)
      assert.equal(naclVerify(identity, msg, sig), false)
      assert.equal(strictRefusal(identity, sig), 'key-small-order')
    }
  })

  test('a forged record for each of the 14 encodings is refused on both paths', () => {
    for (const k of weakKeys) {
      const forged = forgeRecord(fields, k.bytes)
      const input = recordSigningInput(recordBody(forged))
      assert.ok(plainNodeVerify(k.bytes, input, forged.signature), `${k.name}: a real forgery`)
      assert.equal(verifyRecord(forged), false, k.name)
      assert.equal(naclVerifyRecord(forged), false, k.name)
    }
  })

  test('property: no record with a small-order key is accepted (forged or random signatures)', () => {
    const signature = fc.oneof(
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      // R of small order (any encoding), S anything or 0
      fc
        .tuple(
          fc.constantFrom(...weakKeys.map(k => k.bytes)),
          fc.oneof(
            fc.constant(new Uint8Array(32)),
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
          ),
        )
        .map(([r, s]) => Uint8Array.from([...r, ...s])),
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...weakKeys),
        fc.uint8Array({ maxLength: 80 }),
        signature,
        fc.boolean(),
        (key, payload, sig, forge) => {
          const rec: NodeRecord = {
            ...fields,
            publicKey: key.bytes,
            seq: 1 + payload.length,
            endpoints: [{ family: 4, address: `10.0.${payload[0] ?? 0}.1`, port: 4000 }],
          }
          let signed = decodeRecord(encodeSignedRecord(rec, sig))
          if (forge) {
            const input = (i: number) =>
              recordSigningInput(encodeRecordBody({ ...rec, seq: rec.seq + i }))
            const f = forgeSignature(key.bytes, input, 16)
            if (f !== null)
              signed = decodeRecord(encodeSignedRecord({ ...rec, seq: rec.seq + f.i }, f.signature))
          }
          const input = recordSigningInput(recordBody(signed))
          assert.equal(verifyRecord(signed), false)
          assert.equal(naclVerifyRecord(signed), false)
          assert.equal(verifyBytes(key.bytes, input, signed.signature), false)
          assert.equal(naclVerify(key.bytes, input, signed.signature), false)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('R and S', () => {
  const honest = testKey(21)
  const msg = new TextEncoder().encode('metatracker')

  test('R = identity made by the key owner (nonce 0) is valid for RFC 8032 but refused', () => {
    const sig = identityNonceSignature(honest.seed, honest.publicKey, msg)
    assert.ok(plainNodeVerify(honest.publicKey, msg, sig))
    assert.ok(plainNaclVerify(honest.publicKey, msg, sig))
    assert.equal(strictRefusal(honest.publicKey, sig), 'r-small-order')
    assert.equal(verifyBytes(honest.publicKey, msg, sig), false)
    assert.equal(naclVerify(honest.publicKey, msg, sig), false)
  })

  test('S + L: tweetnacl alone accepts it, both paths refuse it now', () => {
    const sig = addOrderToS(signBytes(honest.privateKey, msg))
    assert.ok(plainNaclVerify(honest.publicKey, msg, sig))
    assert.equal(strictRefusal(honest.publicKey, sig), 's-not-reduced')
    assert.equal(naclVerify(honest.publicKey, msg, sig), false)
    assert.equal(verifyBytes(honest.publicKey, msg, sig), false)
  })

  test('non-canonical R and non-canonical keys are refused', () => {
    const sig = signBytes(honest.privateKey, msg)
    for (let k = 0n; k < 19n; k++) {
      const bad = sig.slice()
      bad.set(bigToLe(P + k), 0)
      const refusal = strictRefusal(honest.publicKey, bad)
      assert.ok(refusal === 'r-non-canonical' || refusal === 'r-small-order', String(k))
      assert.equal(naclVerify(honest.publicKey, msg, bad), false)
      const key = bigToLe(P + k)
      key[31] = (key[31] ?? 0) | ((Number(k) & 1) << 7)
      assert.equal(isStrictPublicKey(key), false, `y = p + ${k}`)
    }
  })
})
