import { WireError } from '../errors.js'
import { Limits, RECORD_SIGNING_DOMAIN } from './constants.js'
import { type Endpoint, readEndpoint, writeEndpoint } from './endpoint.js'
import { Reader } from './reader.js'
import { Writer } from './writer.js'
import { signingInput } from './signing.js'

/** §5: live information a game server adds to its record. */
export interface ServerInfo {
  name: string
  players: number
  maxPlayers: number
  world: string
  version: string
  tags: string[]
}

export type NodeKind = 'peer' | 'server'

/** §5: the fields a node signs. `server` is non-null exactly when kind is 'server'. */
export interface NodeRecord {
  network: string
  publicKey: Uint8Array
  seq: number
  /** Unix seconds. */
  issuedAt: number
  /**
   * Unix seconds; after issuedAt, at most RECORD_LIFETIME_MAX later, or equal to issuedAt for a
   * withdrawal (§5, isWithdrawal).
   */
  expiresAt: number
  kind: NodeKind
  endpoints: Endpoint[]
  server: ServerInfo | null
}

/** A record as it travels: the fields, the exact encoded bytes and where the signature starts. */
export interface SignedRecord {
  record: NodeRecord
  signature: Uint8Array
  /** The exact bytes (body then signature) that were signed and are stored and handed out. */
  bytes: Uint8Array
}

const NETWORK_RE = /^[a-z0-9][a-z0-9._-]*$/

/**
 * §5 *Withdrawal*: a record whose `expiresAt` equals its `issuedAt` (lifetime 0) says "this key
 * leaves this network". It names no endpoint (the codec refuses one that does) and is never
 * stored or handed out: a tracker applies it at once (§8.3).
 */
export function isWithdrawal(rec: Pick<NodeRecord, 'issuedAt' | 'expiresAt'>): boolean {
  return rec.expiresAt === rec.issuedAt
}

export function isValidNetwork(name: string): boolean {
  return name.length >= 1 && name.length <= Limits.NETWORK_MAX && NETWORK_RE.test(name)
}

/** Encode the signed body (§5): everything but the signature. */
export function encodeRecordBody(rec: NodeRecord): Uint8Array {
  const w = new Writer(512)
  writeBody(w, rec)
  return w.finish()
}

function writeBody(w: Writer, rec: NodeRecord): void {
  if (!isValidNetwork(rec.network)) throw new WireError('WIRE_BAD_STRING', 'network')
  w.str8(rec.network, 'network', Limits.NETWORK_MAX, 1)
  w.bytes(rec.publicKey, Limits.PUBLIC_KEY_BYTES, 'publicKey')
  w.u64(rec.seq, 'seq')
  checkTimes(rec.issuedAt, rec.expiresAt)
  w.u32(rec.issuedAt, 'issuedAt')
  w.u32(rec.expiresAt, 'expiresAt')
  if ((rec.kind === 'server') !== (rec.server !== null)) {
    throw new WireError('WIRE_BAD_VALUE', 'server info present exactly when kind is server')
  }
  w.u8(rec.kind === 'server' ? 1 : 0, 'kind')
  w.count(rec.endpoints.length, 'endpoints', Limits.ENDPOINTS_MAX)
  checkWithdrawal(rec.issuedAt, rec.expiresAt, rec.endpoints.length)
  for (const ep of rec.endpoints) writeEndpoint(w, ep, 'endpoint')
  if (rec.server !== null) {
    const s = rec.server
    w.str8(s.name, 'name', Limits.SERVER_NAME_MAX, 1)
    w.u16(s.players, 'players')
    w.u16(s.maxPlayers, 'maxPlayers')
    w.str8(s.world, 'world', Limits.WORLD_MAX)
    w.str8(s.version, 'version', Limits.VERSION_MAX)
    w.count(s.tags.length, 'tags', Limits.TAGS_MAX)
    for (const t of s.tags) w.str8(t, 'tag', Limits.TAG_MAX, 1)
  }
}

/** §5: `issuedAt ≤ expiresAt ≤ issuedAt + 86400`; equality is a withdrawal (checkWithdrawal). */
function checkTimes(issuedAt: number, expiresAt: number): void {
  if (expiresAt < issuedAt || expiresAt - issuedAt > Limits.RECORD_LIFETIME_MAX) {
    throw new WireError(
      'WIRE_BAD_VALUE',
      'expiresAt must be issuedAt (a withdrawal) or within RECORD_LIFETIME_MAX after it',
    )
  }
}

/** §5: a withdrawal (lifetime 0) names no endpoint. Checked once the count is known. */
function checkWithdrawal(issuedAt: number, expiresAt: number, endpoints: number): void {
  if (expiresAt === issuedAt && endpoints !== 0) {
    throw new WireError('WIRE_BAD_VALUE', 'a withdrawal (expiresAt = issuedAt) names no endpoint')
  }
}

/** Encode a full record from its fields and a signature made over signingInput(body). */
export function encodeSignedRecord(rec: NodeRecord, signature: Uint8Array): Uint8Array {
  const w = new Writer(512)
  writeBody(w, rec)
  w.bytes(signature, Limits.SIGNATURE_BYTES, 'signature')
  return w.finish()
}

/**
 * Decode a record occupying all of `bytes` (trailing bytes are refused). The returned `bytes`
 * is a copy, so the record outlives the datagram it came in.
 */
export function decodeRecord(input: Uint8Array): SignedRecord {
  if (input.byteLength > Limits.RECORD_MAX) {
    throw new WireError('WIRE_MESSAGE_TOO_LARGE', `record of ${input.byteLength} bytes`)
  }
  // A real copy even when given a Buffer (Buffer#slice shares memory).
  const bytes = new Uint8Array(input)
  const r = new Reader(bytes)
  const network = r.str8('network', Limits.NETWORK_MAX, 1)
  if (!isValidNetwork(network)) throw new WireError('WIRE_BAD_STRING', 'network')
  const publicKey = r.bytes(Limits.PUBLIC_KEY_BYTES, 'publicKey')
  const seq = r.u64('seq')
  const issuedAt = r.u32('issuedAt')
  const expiresAt = r.u32('expiresAt')
  checkTimes(issuedAt, expiresAt)
  const kindByte = r.u8('kind')
  if (kindByte > 1) throw new WireError('WIRE_BAD_VALUE', `kind ${kindByte}`)
  const n = r.count('endpoints', Limits.ENDPOINTS_MAX)
  checkWithdrawal(issuedAt, expiresAt, n)
  const endpoints: Endpoint[] = []
  for (let i = 0; i < n; i++) endpoints.push(readEndpoint(r, 'endpoint'))
  let server: ServerInfo | null = null
  if (kindByte === 1) {
    const name = r.str8('name', Limits.SERVER_NAME_MAX, 1)
    const players = r.u16('players')
    const maxPlayers = r.u16('maxPlayers')
    const world = r.str8('world', Limits.WORLD_MAX)
    const version = r.str8('version', Limits.VERSION_MAX)
    const tagCount = r.count('tags', Limits.TAGS_MAX)
    const tags: string[] = []
    for (let i = 0; i < tagCount; i++) tags.push(r.str8('tag', Limits.TAG_MAX, 1))
    server = { name, players, maxPlayers, world, version, tags }
  }
  const signature = r.bytes(Limits.SIGNATURE_BYTES, 'signature')
  r.end()
  return {
    record: {
      network,
      publicKey,
      seq,
      issuedAt,
      expiresAt,
      kind: kindByte === 1 ? 'server' : 'peer',
      endpoints,
      server,
    },
    signature,
    bytes,
  }
}

/**
 * §7: the bytes an Ed25519 signature covers: the record signing domain framed by `signingInput`
 * (src/wire/signing.ts), then the record body exactly as encoded (the record bytes without the
 * trailing 64-byte signature).
 */
export function recordSigningInput(body: Uint8Array): Uint8Array {
  return signingInput(RECORD_SIGNING_DOMAIN, body)
}

/** The signed body of an encoded record: its bytes without the signature. */
export function recordBody(signed: SignedRecord): Uint8Array {
  return signed.bytes.subarray(0, signed.bytes.byteLength - Limits.SIGNATURE_BYTES)
}
