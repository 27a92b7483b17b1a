import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { WireError } from '../../src/errors.js'
import { signRecord, verifyRecord } from '../../src/crypto/record-sign.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { decodeRecord } from '../../src/wire/record.js'
import { FrameDecoder } from '../../src/wire/framing.js'
import { vectorMessages, peerRecord, serverRecord } from '../helpers/vector-cases.js'
import { recordFields, unsignedMessage } from '../helpers/arbitraries.js'
import { testKey } from '../helpers/keys.js'
import { toPlain } from '../helpers/plain.js'
import { prng as rng } from '../helpers/prng.js'

/** Run a decoder; anything thrown that is not a WireError fails the test. */
function onlyWireError(decode: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  try {
    decode(bytes)
  } catch (err) {
    if (!(err instanceof WireError)) {
      assert.fail(`non-WireError ${String(err)} for ${Buffer.from(bytes).toString('hex')}`)
    }
  }
}

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeMessage', decodeMessage],
  ['decodeRecord', decodeRecord],
  ['FrameDecoder', b => new FrameDecoder(1024).push(b)],
]

describe('decoders under hostile input', () => {
  for (const [name, decode] of decoders) {
    test(`${name}: 100,000 random buffers throw nothing but WireError`, () => {
      const rand = rng(0xc0ffee)
      let decoded = 0
      for (let i = 0; i < 100_000; i++) {
        const len = Math.floor(rand() * 300)
        const b = new Uint8Array(len)
        for (let j = 0; j < len; j++) b[j] = Math.floor(rand() * 256)
        // Bias half of them towards a valid version/type byte so decoding goes deep.
        if (len > 0 && i % 2 === 0) b[0] = 0x10 | Math.floor(rand() * 12)
        try {
          decode(b)
          decoded++
        } catch (err) {
          assert.ok(err instanceof WireError, `non-WireError ${String(err)}`)
        }
      }
      assert.ok(decoded < 100_000)
    })
  }

  test('100,000 mutations of valid messages throw nothing but WireError', () => {
    const rand = rng(42)
    const valid = vectorMessages().map(v => encodeMessage(v.message))
    for (let i = 0; i < 100_000; i++) {
      const base = valid[i % valid.length]!
      let b = base.slice()
      const op = Math.floor(rand() * 4)
      if (op === 0) {
        const at = Math.floor(rand() * b.byteLength)
        b[at] = b[at]! ^ (1 << Math.floor(rand() * 8))
      } else if (op === 1) {
        b = b.subarray(0, Math.floor(rand() * b.byteLength))
      } else if (op === 2) {
        const at = Math.floor(rand() * b.byteLength)
        b[at] = Math.floor(rand() * 256)
        b[Math.floor(rand() * b.byteLength)] = Math.floor(rand() * 256)
      } else {
        const extra = Uint8Array.from({ length: 1 + Math.floor(rand() * 8) }, () =>
          Math.floor(rand() * 256),
        )
        const at = Math.floor(rand() * b.byteLength)
        b = Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)])
      }
      onlyWireError(decodeMessage, b)
    }
  })

  test('property: decode(random bytes) throws only WireError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), b => {
        onlyWireError(decodeMessage, b)
      }),
      { numRuns: 5000 },
    )
  })

  test('property: frame decoder fed random chunks throws only WireError and never over-buffers', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), chunks => {
        const d = new FrameDecoder(64)
        try {
          for (const c of chunks) {
            d.push(c)
            assert.ok(d.buffered <= 64 + 4 + 64)
          }
        } catch (err) {
          assert.ok(err instanceof WireError)
        }
      }),
    )
  })
})

describe('round trips', () => {
  test('property: decode(encode(m)) equals m for every unsigned message', () => {
    fc.assert(
      fc.property(unsignedMessage, m => {
        assert.deepEqual(toPlain(decodeMessage(encodeMessage(m))), toPlain(m))
      }),
      { numRuns: 2000 },
    )
  })

  test('property: signed records round-trip inside announces and verify', () => {
    const k = testKey(9)
    fc.assert(
      fc.property(
        recordFields(k.publicKey),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (fields, txid) => {
          const record = signRecord(fields, k.privateKey)
          const m = { type: 'announce' as const, txid, cookie: new Uint8Array(12), record }
          const back = decodeMessage(encodeMessage(m))
          assert.equal(back.type, 'announce')
          assert.deepEqual(toPlain(back.record.record), toPlain(fields))
          assert.ok(verifyRecord(back.record))
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('signatures', () => {
  for (const [name, make] of [
    ['peer', peerRecord],
    ['server', serverRecord],
  ] as const) {
    test(`every single bit flip of a ${name} record fails decoding or verification`, () => {
      const signed = make()
      assert.ok(verifyRecord(signed))
      let flips = 0
      for (let bit = 0; bit < signed.bytes.byteLength * 8; bit++) {
        const b = signed.bytes.slice()
        b[bit >> 3] = b[bit >> 3]! ^ (1 << (bit & 7))
        let accepted = false
        try {
          accepted = verifyRecord(decodeRecord(b))
        } catch (err) {
          assert.ok(err instanceof WireError)
        }
        assert.equal(accepted, false, `bit ${bit} flipped was accepted`)
        flips++
      }
      assert.equal(flips, signed.bytes.byteLength * 8)
    })
  }

  test('property: a random bit flip in a random signed record is refused', () => {
    const k = testKey(11)
    fc.assert(
      fc.property(recordFields(k.publicKey), fc.nat(), (fields, pick) => {
        const signed = signRecord(fields, k.privateKey)
        const bit = pick % (signed.bytes.byteLength * 8)
        const b = signed.bytes.slice()
        b[bit >> 3] = b[bit >> 3]! ^ (1 << (bit & 7))
        let accepted = false
        try {
          accepted = verifyRecord(decodeRecord(b))
        } catch (err) {
          assert.ok(err instanceof WireError)
        }
        assert.equal(accepted, false)
      }),
      { numRuns: 300 },
    )
  })
})
