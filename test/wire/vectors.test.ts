import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { naclVerifyRecord } from '../../src/crypto/nacl.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { strictRefusal } from '../../src/crypto/strict.js'
import { WireError } from '../../src/errors.js'
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/messages.js'
import { decodeRecord, recordBody, recordSigningInput } from '../../src/wire/record.js'
import { plainNaclVerify, plainNodeVerify } from '../helpers/forged-records.js'
import { fromPlain, toPlain, unhex, hex } from '../helpers/plain.js'
import {
  type ErrorVector,
  type MessageVector,
  type SignatureVector,
  buildErrorVectors,
  buildMessageVectors,
  buildSignatureVectors,
} from '../helpers/vector-cases.js'

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/vectors/${name}`, import.meta.url), 'utf8'))
const messages = load('messages.json') as MessageVector[]
const errors = load('errors.json') as ErrorVector[]
const signatures = load('signatures.json') as SignatureVector[]

describe('golden message vectors', () => {
  test('cover every message type', () => {
    const types = new Set(messages.map(v => (v.message as { type: string }).type))
    assert.equal(types.size, 11)
  })
  for (const v of messages) {
    test(`${v.name}: parse, generate, mirror`, () => {
      const bytes = unhex(v.hex)
      assert.deepEqual(toPlain(decodeMessage(bytes)), v.message, 'parse')
      assert.equal(hex(encodeMessage(fromPlain(v.message) as Message)), v.hex, 'generate')
      assert.equal(hex(encodeMessage(decodeMessage(bytes))), v.hex, 'mirror')
    })
  }
  test('the codec has not drifted from the committed vectors (npm run vectors regenerates)', () => {
    assert.deepEqual(buildMessageVectors(), messages)
    assert.deepEqual(buildErrorVectors(), errors)
  })
})

describe('error vectors', () => {
  for (const v of errors) {
    test(`${v.name} is refused with ${v.code}`, () => {
      assert.throws(
        () => decodeMessage(unhex(v.hex)),
        (err: unknown) => err instanceof WireError && err.code === v.code,
      )
    })
  }
})

describe('signature refusal vectors (docs/protocol.md §7)', () => {
  test('one per encoding of a small-order key (14), and the other strict cases', () => {
    assert.equal(signatures.filter(v => v.reason === 'key-small-order').length, 14)
    for (const reason of ['key-non-canonical', 'r-small-order', 'r-non-canonical', 's-not-reduced'])
      assert.ok(
        signatures.some(v => v.reason === reason),
        reason,
      )
    assert.deepEqual(buildSignatureVectors(), signatures, 'npm run vectors regenerates')
  })
  for (const v of signatures) {
    test(`${v.name}: decodes, and every verifier refuses it (${v.reason})`, () => {
      const signed = decodeRecord(unhex(v.record))
      assert.equal(hex(signed.bytes), v.record)
      assert.equal(strictRefusal(signed.record.publicKey, signed.signature), v.reason)
      assert.equal(verifyRecord(signed), false, 'node:crypto path')
      assert.equal(naclVerifyRecord(signed), false, 'tweetnacl path')
    })
  }
  test('the small-order forgeries are real: node:crypto and tweetnacl alone accept them', () => {
    for (const v of signatures.filter(
      s => s.reason === 'key-small-order' || s.name === 'r-identity-nonce-zero',
    )) {
      const signed = decodeRecord(unhex(v.record))
      const input = recordSigningInput(recordBody(signed))
      assert.ok(plainNodeVerify(signed.record.publicKey, input, signed.signature), v.name)
      assert.ok(plainNaclVerify(signed.record.publicKey, input, signed.signature), v.name)
    }
    const s = signatures.find(x => x.reason === 's-not-reduced')
    assert.ok(s !== undefined)
    const signed = decodeRecord(unhex(s.record))
    const input = recordSigningInput(recordBody(signed))
    assert.ok(plainNaclVerify(signed.record.publicKey, input, signed.signature), 'tweetnacl: S + L')
  })
})
