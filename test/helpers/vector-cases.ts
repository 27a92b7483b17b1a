import { bootpageSigningInput } from '../../src/bootpage/sign.js'
import type { BootpagePage } from '../../src/bootpage/schema.js'
import { privateKeyFromSeed, rawPublicKey, signBytes } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import type { StrictRefusal } from '../../src/crypto/strict.js'
import type { Message } from '../../src/wire/messages.js'
import {
  type NodeRecord,
  type SignedRecord,
  encodeRecordBody,
  encodeSignedRecord,
  recordSigningInput,
} from '../../src/wire/record.js'
import { encodeMessage } from '../../src/wire/messages.js'
import {
  P,
  addOrderToS,
  bigToLe,
  decodeLenient,
  forgeRecord,
  forgeSignature,
  identityNonceSignature,
  smallOrderEncodings,
} from './forged-records.js'
import { testKey } from './keys.js'
import { hex, toPlain } from './plain.js'

/*
 * The golden vectors: every message type and both record kinds, built from fixed keys so the
 * bytes never change unless the codec does. scripts/gen-vectors.ts writes them to
 * test/fixtures/vectors/; test/wire/vectors.test.ts fails if the codec drifts from them.
 */
const T0 = 1_800_000_000
const cookie = Uint8Array.from({ length: 12 }, (_, i) => i + 1)
const observed4 = { family: 4 as const, address: '203.0.113.9', port: 40123 }
const observed6 = { family: 6 as const, address: '2001:db8:0:1::42', port: 7000 }

export function peerRecord(): SignedRecord {
  const k = testKey(1)
  const rec: NodeRecord = {
    network: 'mnet',
    publicKey: k.publicKey,
    seq: 7,
    issuedAt: T0,
    expiresAt: T0 + 3600,
    kind: 'peer',
    endpoints: [
      { family: 4, address: '192.0.2.10', port: 4000 },
      { family: 6, address: '2001:db8::10', port: 4000 },
    ],
    server: null,
  }
  return signRecord(rec, k.privateKey)
}

export function emptyPeerRecord(): SignedRecord {
  const k = testKey(3)
  return signRecord(
    {
      network: 'mnet',
      publicKey: k.publicKey,
      seq: 1,
      issuedAt: T0,
      expiresAt: T0 + 60,
      kind: 'peer',
      endpoints: [],
      server: null,
    },
    k.privateKey,
  )
}

export function serverRecord(): SignedRecord {
  const k = testKey(2)
  return signRecord(
    {
      network: 'quake.example',
      publicKey: k.publicKey,
      seq: 2 ** 40 + 5,
      issuedAt: T0,
      expiresAt: T0 + 86_400,
      kind: 'server',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
      server: {
        name: 'Fragfest «EU» #1',
        players: 11,
        maxPlayers: 16,
        world: 'q3dm17',
        version: '1.32c',
        tags: ['ctf', 'instagib'],
      },
    },
    k.privateKey,
  )
}

/** §5 *Withdrawal*: the peer record's key leaves `mnet` (lifetime 0, no endpoint, a higher seq). */
export function peerWithdrawal(): SignedRecord {
  const k = testKey(1)
  return signRecord(
    {
      network: 'mnet',
      publicKey: k.publicKey,
      seq: 8,
      issuedAt: T0 + 60,
      expiresAt: T0 + 60,
      kind: 'peer',
      endpoints: [],
      server: null,
    },
    k.privateKey,
  )
}

/** A server's withdrawal: kind and server info as its records carry them, no endpoint. */
export function serverWithdrawal(): SignedRecord {
  const k = testKey(2)
  const info = serverRecord().record.server
  return signRecord(
    {
      network: 'quake.example',
      publicKey: k.publicKey,
      seq: 2 ** 40 + 6,
      issuedAt: T0 + 600,
      expiresAt: T0 + 600,
      kind: 'server',
      endpoints: [],
      server: info,
    },
    k.privateKey,
  )
}

export function vectorMessages(): { name: string; message: Message }[] {
  const peer = peerRecord()
  const server = serverRecord()
  const query = {
    type: 'query' as const,
    txid: 0x0a0b0c0d,
    cookie,
    network: 'quake.example',
    kind: 'server' as const,
    mode: 'list' as const,
    count: 20,
    offset: 40,
    sort: 'name' as const,
    notFull: true,
    world: 'q3dm17',
    version: '1.32c',
    tags: ['ctf'],
    exclude: null,
  }
  return [
    { name: 'cookie-request', message: { type: 'cookie-request', txid: 0x01020304 } },
    { name: 'cookie-reply', message: { type: 'cookie-reply', txid: 0x01020304, cookie } },
    { name: 'announce-peer', message: { type: 'announce', txid: 5, cookie, record: peer } },
    { name: 'announce-server', message: { type: 'announce', txid: 6, cookie, record: server } },
    {
      name: 'announce-no-endpoints',
      message: { type: 'announce', txid: 7, cookie, record: emptyPeerRecord() },
    },
    {
      name: 'announce-reply',
      message: {
        type: 'announce-reply',
        txid: 5,
        status: 'refreshed',
        interval: 300,
        observed: observed4,
      },
    },
    {
      name: 'announce-withdrawal-peer',
      message: { type: 'announce', txid: 15, cookie, record: peerWithdrawal() },
    },
    {
      name: 'announce-withdrawal-server',
      message: { type: 'announce', txid: 16, cookie, record: serverWithdrawal() },
    },
    {
      name: 'announce-reply-withdrawn',
      message: {
        type: 'announce-reply',
        txid: 15,
        status: 'withdrawn',
        interval: 0,
        observed: observed6,
      },
    },
    { name: 'query-list', message: query },
    {
      name: 'query-sample',
      message: {
        ...query,
        network: 'mnet',
        kind: 'peer',
        mode: 'sample',
        count: 8,
        offset: 0,
        sort: 'players',
        notFull: false,
        world: '',
        version: '',
        tags: [],
        exclude: testKey(1).publicKey,
      },
    },
    {
      name: 'query-list-unproven',
      message: { ...query, unproven: true },
    },
    {
      name: 'query-best',
      message: { ...query, mode: 'best', count: 1, offset: 0, sort: 'room', version: '', tags: [] },
    },
    {
      name: 'introductions',
      message: {
        type: 'introductions',
        txid: 9,
        total: 3,
        entries: [
          { observed: observed4, verified: false, age: 12, record: peer.bytes },
          { observed: observed6, verified: true, age: 0, record: server.bytes },
        ],
      },
    },
    {
      name: 'introductions-proven',
      message: {
        type: 'introductions',
        txid: 9,
        total: 2,
        entries: [
          // The peer's IPv4 endpoint proven 90 s ago, its IPv6 one not.
          {
            observed: observed4,
            verified: true,
            proven: 0b01,
            proofAge: 90,
            age: 12,
            record: peer.bytes,
          },
          // Unproven: no proof details at all.
          { observed: observed6, verified: false, age: 0, record: server.bytes },
        ],
      },
    },
    {
      name: 'introductions-empty',
      message: { type: 'introductions', txid: 10, total: 0, entries: [] },
    },
    { name: 'error-rate-limited', message: { type: 'error', txid: 11, code: 7, retryAfter: 30 } },
    { name: 'error-stale-sequence', message: { type: 'error', txid: 12, code: 3, retryAfter: 0 } },
    {
      name: 'challenge',
      message: {
        type: 'challenge',
        txid: 13,
        token: Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i),
        publicKey: server.record.publicKey,
        network: 'mnet',
      },
    },
    {
      name: 'challenge-reply',
      message: {
        type: 'challenge-reply',
        txid: 13,
        token: Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i),
        publicKey: server.record.publicKey,
        network: 'mnet',
      },
    },
    { name: 'stats-request', message: { type: 'stats-request', txid: 14, cookie } },
    {
      name: 'stats-reply',
      message: {
        type: 'stats-reply',
        txid: 14,
        stats: [
          { name: 'entries', value: 1234 },
          { name: 'bytes_out', value: 2 ** 33 + 1 },
        ],
      },
    },
  ]
}

export interface MessageVector {
  name: string
  hex: string
  message: unknown
}

export interface ErrorVector {
  name: string
  hex: string
  code: string
}

export function buildMessageVectors(): MessageVector[] {
  return vectorMessages().map(({ name, message }) => ({
    name,
    hex: hex(encodeMessage(message)),
    message: toPlain(message),
  }))
}

/** Bytes every decoder must refuse, with the WireError code it must refuse them with. */
export function buildErrorVectors(): ErrorVector[] {
  const ok = (name: string): Uint8Array => {
    const v = vectorMessages().find(m => m.name === name)
    if (v === undefined) throw new Error(name)
    return encodeMessage(v.message)
  }
  const withByte = (b: Uint8Array, at: number, value: number): Uint8Array => {
    const c = b.slice()
    c[at] = value
    return c
  }
  const cat = (...parts: (Uint8Array | number[])[]): Uint8Array =>
    Uint8Array.from(parts.flatMap(p => Array.from(p)))
  const announce = ok('announce-peer')
  const peerBody = 1 + 4 + 12 // header, txid, cookie: the record starts here
  const query = ok('query-list')
  const vectors: { name: string; bytes: Uint8Array; code: string }[] = [
    { name: 'empty', bytes: new Uint8Array(0), code: 'WIRE_TRUNCATED' },
    { name: 'header-only', bytes: Uint8Array.of(0x10), code: 'WIRE_TRUNCATED' },
    { name: 'version-0', bytes: withByte(ok('cookie-request'), 0, 0x00), code: 'WIRE_BAD_VERSION' },
    { name: 'version-2', bytes: withByte(ok('cookie-request'), 0, 0x20), code: 'WIRE_BAD_VERSION' },
    { name: 'unknown-type', bytes: cat([0x1f, 0, 0, 0, 1]), code: 'WIRE_BAD_TYPE' },
    {
      name: 'cookie-request-short',
      bytes: ok('cookie-request').subarray(0, 23),
      code: 'WIRE_TRUNCATED',
    },
    {
      name: 'cookie-request-trailing',
      bytes: cat(ok('cookie-request'), [0]),
      code: 'WIRE_TRAILING_BYTES',
    },
    {
      name: 'cookie-request-padding',
      bytes: withByte(ok('cookie-request'), 23, 1),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'cookie-reply-truncated',
      bytes: ok('cookie-reply').subarray(0, 16),
      code: 'WIRE_TRUNCATED',
    },
    {
      name: 'announce-truncated',
      bytes: announce.subarray(0, announce.byteLength - 1),
      code: 'WIRE_TRUNCATED',
    },
    { name: 'announce-trailing', bytes: cat(announce, [0]), code: 'WIRE_TRAILING_BYTES' },
    {
      name: 'announce-network-empty',
      bytes: withByte(announce, peerBody, 0),
      code: 'WIRE_BAD_STRING',
    },
    {
      name: 'announce-network-too-long',
      bytes: withByte(announce, peerBody, 33),
      code: 'WIRE_STRING_TOO_LONG',
    },
    {
      name: 'announce-network-uppercase',
      bytes: withByte(announce, peerBody + 1, 0x4d),
      code: 'WIRE_BAD_STRING',
    },
    {
      name: 'announce-seq-above-2^53',
      bytes: withByte(announce, peerBody + 5 + 32, 0xff),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'announce-expires-before-issued',
      bytes: withByte(announce, peerBody + 5 + 32 + 8 + 4, 0x00),
      code: 'WIRE_BAD_VALUE',
    },
    {
      // §5: lifetime 0 is a withdrawal, which names no endpoint (this record names two).
      name: 'announce-withdrawal-with-endpoints',
      bytes: (() => {
        const b = announce.slice()
        const at = peerBody + 5 + 32 + 8 // issuedAt, then expiresAt
        b.copyWithin(at + 4, at, at + 4)
        return b
      })(),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'announce-lifetime-86401',
      bytes: (() => {
        const b = announce.slice()
        const at = peerBody + 5 + 32 + 8
        new DataView(b.buffer).setUint32(at + 4, T0 + 86_401)
        return b
      })(),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'announce-bad-kind',
      bytes: withByte(announce, peerBody + 5 + 32 + 16, 2),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'announce-too-many-endpoints',
      bytes: withByte(announce, peerBody + 5 + 32 + 17, 9),
      code: 'WIRE_TOO_MANY_ITEMS',
    },
    {
      name: 'announce-endpoint-family-5',
      bytes: withByte(announce, peerBody + 5 + 32 + 18, 5),
      code: 'WIRE_BAD_ENDPOINT',
    },
    {
      name: 'announce-endpoint-port-0',
      bytes: (() => {
        const b = withByte(announce, peerBody + 5 + 32 + 18 + 5, 0)
        b[peerBody + 5 + 32 + 18 + 6] = 0
        return b
      })(),
      code: 'WIRE_BAD_ENDPOINT',
    },
    {
      name: 'announce-server-name-not-utf8',
      bytes: (() => {
        const b = ok('announce-server')
        // network "quake.example" (1+13), key, seq, times, kind, 1 endpoint (1+1+4+2): then name
        const nameAt = peerBody + 14 + 32 + 8 + 8 + 1 + 1 + 7 + 1
        b[nameAt] = 0xff
        return b
      })(),
      code: 'WIRE_BAD_STRING',
    },
    { name: 'query-count-0', bytes: withByte(query, 5 + 12 + 14 + 2, 0), code: 'WIRE_BAD_VALUE' },
    {
      name: 'query-count-101',
      bytes: withByte(query, 5 + 12 + 14 + 2, 101),
      code: 'WIRE_BAD_VALUE',
    },
    { name: 'query-bad-mode', bytes: withByte(query, 5 + 12 + 14 + 1, 3), code: 'WIRE_BAD_VALUE' },
    {
      name: 'query-unknown-flag',
      bytes: withByte(query, 5 + 12 + 14 + 6, 0x80),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'query-control-char-in-world',
      bytes: withByte(query, 5 + 12 + 14 + 8, 0x0a),
      code: 'WIRE_BAD_STRING',
    },
    {
      name: 'introductions-proof-disagrees',
      // flags 0x02 (proof details, verified bit clear) with a non-zero mask: refused.
      bytes: cat([0x15, 0, 0, 0, 1, 0, 1, 1], [4, 1, 2, 3, 4, 0, 80], [0x02, 0x01, 0, 5], [0, 0]),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'introductions-flag-bit-2',
      bytes: cat([0x15, 0, 0, 0, 1, 0, 1, 1], [4, 1, 2, 3, 4, 0, 80], [0x04, 0, 0], [0, 0]),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'challenge-truncated',
      bytes: ok('challenge').subarray(0, 5 + 16 + 32),
      code: 'WIRE_TRUNCATED',
    },
    {
      name: 'challenge-reply-network-uppercase',
      bytes: withByte(ok('challenge-reply'), 5 + 16 + 32 + 1, 0x4d),
      code: 'WIRE_BAD_STRING',
    },
    {
      name: 'introductions-too-many',
      bytes: cat([0x15, 0, 0, 0, 1, 0, 200, 200]),
      code: 'WIRE_TOO_MANY_ITEMS',
    },
    {
      name: 'introductions-record-too-long',
      bytes: cat([0x15, 0, 0, 0, 1, 0, 1, 1], [4, 1, 2, 3, 4, 0, 80], [0, 0, 0], [0x03, 0x00]),
      code: 'WIRE_MESSAGE_TOO_LARGE',
    },
    {
      name: 'introductions-record-truncated',
      bytes: cat(
        [0x15, 0, 0, 0, 1, 0, 1, 1],
        [4, 1, 2, 3, 4, 0, 80],
        [0, 0, 0],
        [0, 10],
        [1, 2, 3],
      ),
      code: 'WIRE_TRUNCATED',
    },
    {
      name: 'error-truncated',
      bytes: ok('error-rate-limited').subarray(0, 8),
      code: 'WIRE_TRUNCATED',
    },
    {
      name: 'announce-reply-bad-status',
      bytes: withByte(ok('announce-reply'), 5, 4),
      code: 'WIRE_BAD_VALUE',
    },
    {
      name: 'stats-reply-bad-name',
      bytes: cat([0x1a, 0, 0, 0, 1, 1, 2, 0x41, 0x42], [0, 0, 0, 0, 0, 0, 0, 1]),
      code: 'WIRE_BAD_STRING',
    },
    // §4: IPv4 has one encoding, family 4. The peer record's second endpoint (2001:db8::10,
    // family 6) rewritten as ::ffff:192.0.2.10, and an announce-reply observing ::ffff:203.0.113.9.
    {
      name: 'announce-endpoint-ipv4-mapped',
      bytes: (() => {
        const b = announce.slice()
        const v6At = peerBody + 5 + 32 + 18 + 7 + 1 // second endpoint's address
        b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10], v6At)
        return b
      })(),
      code: 'WIRE_BAD_ENDPOINT',
    },
    {
      name: 'announce-reply-observed-ipv4-mapped',
      bytes: cat(
        [0x13, 0, 0, 0, 5, 1, 0x01, 0x2c, 6],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 9],
        [0x9c, 0xbb],
      ),
      code: 'WIRE_BAD_ENDPOINT',
    },
  ]
  return vectors.map(v => ({ name: v.name, hex: hex(v.bytes), code: v.code }))
}

export interface SignatureVector {
  name: string
  /** What the strict rule of docs/protocol.md §7 refuses it for (src/crypto/strict.ts). */
  reason: StrictRefusal
  /** Why it matters. */
  note: string
  /** The signed record (§5), well-formed: only the signature check refuses it. */
  record: string
}

/**
 * Records every verifier MUST refuse (docs/protocol.md §7) although they decode: one forgery per
 * encoding of a small-order public key (the 8 torsion points, 14 encodings), each made without
 * any private key and accepted by a plain RFC 8032 verifier (OpenSSL, tweetnacl); a
 * non-canonical key; R of small order, R non-canonical and S >= L under an honest key.
 */
export function buildSignatureVectors(): SignatureVector[] {
  const fields: NodeRecord = {
    network: 'mnet',
    publicKey: new Uint8Array(32),
    seq: 1,
    issuedAt: T0,
    expiresAt: T0 + 3600,
    kind: 'peer',
    endpoints: [{ family: 4, address: '192.0.2.77', port: 4000 }],
    server: null,
  }
  const out: SignatureVector[] = smallOrderEncodings().map(e => ({
    name: `key-${e.name}`,
    reason: 'key-small-order',
    note:
      `forged without a private key: A of order ${e.order}` +
      `${e.canonical ? '' : ' (non-canonical encoding)'}, R of small order, S = 0; ` +
      'a plain RFC 8032 verifier accepts it',
    record: hex(forgeRecord(fields, Uint8Array.from(Buffer.from(e.hex, 'hex'))).bytes),
  }))
  // y = p + k, k the smallest with a point: a non-canonical key of large order.
  let k = 2n
  while (decodeLenient(bigToLe(P + k)) === null) k++
  const honest = testKey(5)
  const signedBy = (rec: NodeRecord, sign: (input: Uint8Array) => Uint8Array): string => {
    const body = encodeRecordBody(rec)
    return hex(encodeSignedRecord(rec, sign(recordSigningInput(body))))
  }
  out.push({
    name: `key-non-canonical-y-p-plus-${k}`,
    reason: 'key-non-canonical',
    note: `y = p + ${k} >= p: a second encoding of a point whose canonical encoding has y = ${k}`,
    record: signedBy({ ...fields, publicKey: bigToLe(P + k) }, input =>
      signBytes(honest.privateKey, input),
    ),
  })
  const own = { ...fields, publicKey: honest.publicKey }
  out.push({
    name: 'r-identity-nonce-zero',
    reason: 'r-small-order',
    note: 'the key owner signed with R = identity (S = k·a): valid under RFC 8032, refused here',
    record: signedBy(own, input => identityNonceSignature(honest.seed, honest.publicKey, input)),
  })
  out.push({
    name: 'r-non-canonical',
    reason: 'r-non-canonical',
    note: `an honest signature whose R is replaced by y = p + ${k}`,
    record: signedBy(own, input => {
      const sig = signBytes(honest.privateKey, input)
      sig.set(bigToLe(P + k), 0)
      return sig
    }),
  })
  out.push({
    name: 's-plus-order',
    reason: 's-not-reduced',
    note: 'an honest signature with S + L in place of S: tweetnacl alone accepts it',
    record: signedBy(own, input => addOrderToS(signBytes(honest.privateKey, input))),
  })
  return out
}

export interface BootpageRefusalVector {
  name: string
  reason: StrictRefusal
  /** The page is the `signing` vector's page with this sequence. */
  sequence: number
  keyHex: string
  signatureHex: string
}

/**
 * Bootpage signatures every verifier MUST refuse (docs/bootpage.md §4): a forgery over the
 * `signing` vector's page (sequence raised until one exists) for each encoding of a small-order
 * key, made without a private key; R = identity and S + L under the vector's own seed.
 */
export function buildBootpageRefusalVectors(
  page: BootpagePage,
  seed: Uint8Array,
): BootpageRefusalVector[] {
  const at = (i: number): BootpagePage => ({ ...page, sequence: page.sequence + i })
  const out: BootpageRefusalVector[] = smallOrderEncodings().map(e => {
    const key = Uint8Array.from(Buffer.from(e.hex, 'hex'))
    const found = forgeSignature(key, i => bootpageSigningInput(at(i)))
    if (found === null) throw new Error(`no forgery for ${e.name}`)
    return {
      name: `key-${e.name}`,
      reason: 'key-small-order',
      sequence: page.sequence + found.i,
      keyHex: e.hex,
      signatureHex: hex(found.signature),
    }
  })
  const privateKey = privateKeyFromSeed(seed)
  const publicKey = rawPublicKey(privateKey)
  const input = bootpageSigningInput(page)
  out.push({
    name: 'r-identity-nonce-zero',
    reason: 'r-small-order',
    sequence: page.sequence,
    keyHex: hex(publicKey),
    signatureHex: hex(identityNonceSignature(seed, publicKey, input)),
  })
  out.push({
    name: 's-plus-order',
    reason: 's-not-reduced',
    sequence: page.sequence,
    keyHex: hex(publicKey),
    signatureHex: hex(addOrderToS(signBytes(privateKey, input))),
  })
  return out
}
