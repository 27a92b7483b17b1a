import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { WireError } from '../../src/errors.js'
import { decodeMessage, encodeMessage, type Message } from '../../src/wire/messages.js'
import { fromPlain, toPlain, unhex, hex } from '../helpers/plain.js'
import {
  type ErrorVector,
  type MessageVector,
  buildErrorVectors,
  buildMessageVectors,
} from '../helpers/vector-cases.js'

const load = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/vectors/${name}`, import.meta.url), 'utf8'))
const messages = load('messages.json') as MessageVector[]
const errors = load('errors.json') as ErrorVector[]

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
