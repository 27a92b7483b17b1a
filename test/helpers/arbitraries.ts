import fc from 'fast-check'
import { hasControl } from '../../src/wire/reader.js'
import { formatIp } from '../../src/wire/endpoint.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import type { NodeRecord, ServerInfo } from '../../src/wire/record.js'
import type { Message } from '../../src/wire/messages.js'
import { Limits } from '../../src/wire/constants.js'

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8')

/** A protocol string: valid UTF-8, no control characters, at most `max` bytes. */
export const protoString = (max: number, min = 0): fc.Arbitrary<string> =>
  fc
    .string({ unit: 'binary', maxLength: max })
    .filter(s => utf8Length(s) <= max && utf8Length(s) >= min && !hasControl(s) && s.isWellFormed())

export const network = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,31}$/)

export const endpoint: fc.Arbitrary<Endpoint> = fc.oneof(
  fc.record({
    family: fc.constant(4 as const),
    address: fc.uint8Array({ minLength: 4, maxLength: 4 }).map(formatIp),
    port: fc.integer({ min: 1, max: 65535 }),
  }),
  fc.record({
    family: fc.constant(6 as const),
    address: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(formatIp),
    port: fc.integer({ min: 1, max: 65535 }),
  }),
)

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })

export const serverInfo: fc.Arbitrary<ServerInfo> = fc.record({
  name: protoString(Limits.SERVER_NAME_MAX, 1),
  players: fc.integer({ min: 0, max: 65535 }),
  maxPlayers: fc.integer({ min: 0, max: 65535 }),
  world: protoString(Limits.WORLD_MAX),
  version: protoString(Limits.VERSION_MAX),
  tags: fc.array(protoString(Limits.TAG_MAX, 1), { maxLength: Limits.TAGS_MAX }),
})

/** Record fields for a given public key (the caller signs with the matching private key). */
export const recordFields = (publicKey: Uint8Array): fc.Arbitrary<NodeRecord> =>
  fc
    .record({
      network,
      seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      issuedAt: fc.integer({ min: 0, max: 0xffff_ffff - Limits.RECORD_LIFETIME_MAX }),
      lifetime: fc.integer({ min: 1, max: Limits.RECORD_LIFETIME_MAX }),
      endpoints: fc.array(endpoint, { maxLength: Limits.ENDPOINTS_MAX }),
      server: fc.option(serverInfo, { nil: null }),
    })
    .map(r => ({
      network: r.network,
      publicKey,
      seq: r.seq,
      issuedAt: r.issuedAt,
      expiresAt: r.issuedAt + r.lifetime,
      kind: r.server === null ? ('peer' as const) : ('server' as const),
      endpoints: r.endpoints,
      server: r.server,
    }))

const txid = fc.integer({ min: 0, max: 0xffff_ffff })
const cookie = bytes(Limits.COOKIE_BYTES)

/** Every message except announce (which needs a signed record; see fuzz.test.ts). */
export const unsignedMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('cookie-request' as const), txid }),
  fc.record({ type: fc.constant('cookie-reply' as const), txid, cookie }),
  fc.record({
    type: fc.constant('announce-reply' as const),
    txid,
    status: fc.constantFrom('new' as const, 'refreshed' as const, 'replaced' as const),
    interval: fc.integer({ min: 0, max: 65535 }),
    observed: endpoint,
  }),
  fc.record({
    type: fc.constant('query' as const),
    txid,
    cookie,
    network,
    kind: fc.constantFrom('peer' as const, 'server' as const),
    mode: fc.constantFrom('sample' as const, 'list' as const, 'best' as const),
    count: fc.integer({ min: 1, max: Limits.QUERY_COUNT_MAX }),
    offset: fc.integer({ min: 0, max: 65535 }),
    sort: fc.constantFrom('players' as const, 'name' as const, 'room' as const),
    notFull: fc.boolean(),
    world: protoString(Limits.WORLD_MAX),
    version: protoString(Limits.VERSION_MAX),
    tags: fc.array(protoString(Limits.TAG_MAX, 1), { maxLength: Limits.QUERY_TAGS_MAX }),
    exclude: fc.option(bytes(32), { nil: null }),
  }),
  fc.record({
    type: fc.constant('introductions' as const),
    txid,
    total: fc.integer({ min: 0, max: 65535 }),
    entries: fc.array(
      fc.record({
        observed: endpoint,
        verified: fc.boolean(),
        age: fc.integer({ min: 0, max: 65535 }),
        record: fc.uint8Array({ maxLength: Limits.RECORD_MAX }),
      }),
      { maxLength: 4 },
    ),
  }),
  fc.record({
    type: fc.constant('error' as const),
    txid,
    code: fc.integer({ min: 0, max: 65535 }),
    retryAfter: fc.integer({ min: 0, max: 65535 }),
  }),
  fc.record({
    type: fc.constant('challenge' as const),
    txid,
    token: bytes(16),
    publicKey: bytes(32),
    network,
  }),
  fc.record({
    type: fc.constant('challenge-reply' as const),
    txid,
    token: bytes(16),
    publicKey: bytes(32),
    network,
  }),
  fc.record({ type: fc.constant('stats-request' as const), txid, cookie }),
  fc.record({
    type: fc.constant('stats-reply' as const),
    txid,
    stats: fc.array(
      fc.record({
        name: fc.stringMatching(/^[a-z][a-z0-9_]{0,47}$/),
        value: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      }),
      { maxLength: 8 },
    ),
  }),
)
