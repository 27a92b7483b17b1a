import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WireError } from '../../src/errors.js'
import { Limits } from '../../src/wire/constants.js'
import {
  decodeMessage,
  encodeMessage,
  fitIntroductions,
  peekTxid,
  type Introductions,
} from '../../src/wire/messages.js'
import { encodeRecordBody, type NodeRecord } from '../../src/wire/record.js'
import { peerRecord, serverRecord, vectorMessages } from '../helpers/vector-cases.js'

const base: NodeRecord = {
  network: 'mnet',
  publicKey: new Uint8Array(32),
  seq: 1,
  issuedAt: 100,
  expiresAt: 200,
  kind: 'peer',
  endpoints: [],
  server: null,
}

test('encoders refuse what decoders would refuse', () => {
  const bad: [string, NodeRecord, string][] = [
    ['network with capitals', { ...base, network: 'Mnet' }, 'WIRE_BAD_STRING'],
    ['network too long', { ...base, network: 'a'.repeat(33) }, 'WIRE_BAD_STRING'],
    ['short key', { ...base, publicKey: new Uint8Array(31) }, 'WIRE_BAD_VALUE'],
    ['negative seq', { ...base, seq: -1 }, 'WIRE_BAD_VALUE'],
    ['seq above 2^53', { ...base, seq: 2 ** 53 }, 'WIRE_BAD_VALUE'],
    [
      'lifetime too long',
      { ...base, expiresAt: 100 + Limits.RECORD_LIFETIME_MAX + 1 },
      'WIRE_BAD_VALUE',
    ],
    ['expires before issue time', { ...base, expiresAt: 99 }, 'WIRE_BAD_VALUE'],
    [
      'a withdrawal (expires at issue time) with an endpoint',
      { ...base, expiresAt: 100, endpoints: [{ family: 4, address: '1.2.3.4', port: 1 }] },
      'WIRE_BAD_VALUE',
    ],
    ['server without info', { ...base, kind: 'server' }, 'WIRE_BAD_VALUE'],
    [
      'too many endpoints',
      {
        ...base,
        endpoints: Array.from({ length: 9 }, () => ({
          family: 4 as const,
          address: '1.2.3.4',
          port: 1,
        })),
      },
      'WIRE_TOO_MANY_ITEMS',
    ],
    [
      'port 0',
      { ...base, endpoints: [{ family: 4, address: '1.2.3.4', port: 0 }] },
      'WIRE_BAD_ENDPOINT',
    ],
    [
      'v6 text as v4',
      { ...base, endpoints: [{ family: 4, address: '::1', port: 1 }] },
      'WIRE_BAD_ENDPOINT',
    ],
    [
      'name with newline',
      {
        ...base,
        kind: 'server',
        server: { name: 'a\nb', players: 0, maxPlayers: 0, world: '', version: '', tags: [] },
      },
      'WIRE_BAD_STRING',
    ],
    [
      'world too long',
      {
        ...base,
        kind: 'server',
        server: {
          name: 'a',
          players: 0,
          maxPlayers: 0,
          world: 'é'.repeat(33),
          version: '',
          tags: [],
        },
      },
      'WIRE_STRING_TOO_LONG',
    ],
  ]
  for (const [name, rec, code] of bad) {
    assert.throws(
      () => encodeRecordBody(rec),
      (e: unknown) => e instanceof WireError && e.code === code,
      name,
    )
  }
})

test('the largest possible record fits RECORD_MAX and an announce of it fits a datagram', () => {
  const big: NodeRecord = {
    ...base,
    network: 'n'.repeat(32),
    kind: 'server',
    endpoints: Array.from({ length: 8 }, () => ({
      family: 6 as const,
      address: '2001:db8::1',
      port: 1,
    })),
    server: {
      name: 'x'.repeat(64),
      players: 1,
      maxPlayers: 2,
      world: 'w'.repeat(64),
      version: 'v'.repeat(32),
      tags: Array.from({ length: 8 }, () => 't'.repeat(24)),
    },
  }
  const size = encodeRecordBody(big).byteLength + Limits.SIGNATURE_BYTES
  assert.equal(size, 667)
  assert.ok(1 + 4 + Limits.COOKIE_BYTES + size <= Limits.MAX_DATAGRAM)
})

test('no cookie reply is larger than a cookie request', () => {
  const req = encodeMessage({ type: 'cookie-request', txid: 1 })
  const reply = encodeMessage({ type: 'cookie-reply', txid: 1, cookie: new Uint8Array(12) })
  assert.equal(req.byteLength, Limits.COOKIE_REQUEST_BYTES)
  assert.ok(reply.byteLength <= req.byteLength)
})

test('fitIntroductions keeps leading entries within the byte cap', () => {
  const entry = {
    observed: { family: 4 as const, address: '1.2.3.4', port: 9 },
    verified: false,
    age: 1,
  }
  const m: Introductions = {
    type: 'introductions',
    txid: 1,
    total: 40,
    entries: Array.from({ length: 40 }, (_, i) => ({
      ...entry,
      record: (i % 2 ? serverRecord() : peerRecord()).bytes,
    })),
  }
  const fit = fitIntroductions(m, Limits.MAX_DATAGRAM)
  const bytes = encodeMessage(fit)
  assert.ok(bytes.byteLength <= Limits.MAX_DATAGRAM)
  assert.ok(fit.entries.length > 0 && fit.entries.length < 40)
  assert.equal(fit.total, 40)
  const withOneMore = encodeMessage({ ...m, entries: m.entries.slice(0, fit.entries.length + 1) })
  assert.ok(withOneMore.byteLength > Limits.MAX_DATAGRAM)
  assert.equal(fitIntroductions(fit, Limits.MAX_DATAGRAM), fit)
})

test('peekTxid reads the txid of any message and 0 from runts', () => {
  for (const { message } of vectorMessages())
    assert.equal(peekTxid(encodeMessage(message)), message.txid)
  assert.equal(peekTxid(Uint8Array.of(1, 2)), 0)
})

test('decoded records own their bytes (the datagram buffer may be reused)', () => {
  const bytes = encodeMessage({
    type: 'announce',
    txid: 1,
    cookie: new Uint8Array(12),
    record: peerRecord(),
  })
  const m = decodeMessage(bytes)
  bytes.fill(0)
  assert.equal(m.type, 'announce')
  assert.deepEqual(m.record.bytes, peerRecord().bytes)
})

test('decoded values are copies even when the input is a Buffer (Buffer#slice shares memory)', () => {
  const buf = Buffer.from(
    encodeMessage({
      type: 'announce',
      txid: 1,
      cookie: new Uint8Array(12).fill(5),
      record: peerRecord(),
    }),
  )
  const m = decodeMessage(buf)
  assert.equal(m.type, 'announce')
  buf.fill(0)
  assert.deepEqual(m.cookie, new Uint8Array(12).fill(5))
  assert.deepEqual(m.record.bytes, peerRecord().bytes)
})
