import { WireError } from '../errors.js'
import { Limits, MessageType, PROTOCOL_VERSION } from './constants.js'
import { type Endpoint, readEndpoint, writeEndpoint } from './endpoint.js'
import { type NodeKind, type SignedRecord, decodeRecord, isValidNetwork } from './record.js'
import { Reader } from './reader.js'
import { Writer } from './writer.js'

/*
 * §8: every message of protocol v1. Each message's encoder and decoder sit side by side.
 * Layout common to all: byte 0 = (version << 4) | type, then txid (u32), chosen by the
 * requester and echoed in the reply.
 */

export interface CookieRequest {
  type: 'cookie-request'
  txid: number
}
export interface CookieReply {
  type: 'cookie-reply'
  txid: number
  cookie: Uint8Array
}
export interface Announce {
  type: 'announce'
  txid: number
  cookie: Uint8Array
  record: SignedRecord
}
/** §8.4; `withdrawn` answers a withdrawal (§5, §8.3). */
export type AnnounceStatus = 'new' | 'refreshed' | 'replaced' | 'withdrawn'
export interface AnnounceReply {
  type: 'announce-reply'
  txid: number
  status: AnnounceStatus
  /** Seconds until the tracker would like the next announce. */
  interval: number
  /** The source endpoint the tracker observed and stored with the record. */
  observed: Endpoint
}
export type QueryMode = 'sample' | 'list' | 'best'
export type QuerySort = 'players' | 'name' | 'room'
export interface Query {
  type: 'query'
  txid: number
  cookie: Uint8Array
  network: string
  kind: NodeKind
  mode: QueryMode
  /** 1..QUERY_COUNT_MAX entries wanted. */
  count: number
  /** For `list`: entries to skip (paging). */
  offset: number
  sort: QuerySort
  notFull: boolean
  /** Include entries with no endpoint proven reachable (§8.5 flag bit 2); absent = false. */
  unproven?: boolean
  /** '' means any. For `best`, the world the asker wants to join. */
  world: string
  /** '' means any. */
  version: string
  /** Every tag listed must be on the server. */
  tags: string[]
  /** The asker's own public key, left out of the answer; null when not given. */
  exclude: Uint8Array | null
}
export interface IntroEntry {
  /** The endpoint the tracker saw the announce come from. */
  observed: Endpoint
  /** The tracker proved at least one of the entry's endpoints reachable (§9). */
  verified: boolean
  /**
   * Which endpoints are proven (§8.6, present when the tracker sends proof details): bit i = the
   * record's endpoint i (bit 0 = the observed endpoint when the record names none).
   */
  proven?: number
  /** Seconds since the tracker's last proof of any of them (with `proven`). */
  proofAge?: number
  /** Seconds since the tracker last received this record (capped at 65535). */
  age: number
  /** The signed record bytes exactly as announced; the client decodes and verifies them. */
  record: Uint8Array
}
export interface Introductions {
  type: 'introductions'
  txid: number
  /** How many entries matched in all (for paging); entries holds at most count of them. */
  total: number
  entries: IntroEntry[]
}
export interface ErrorMessage {
  type: 'error'
  txid: number
  /** A WireErrorCode number (§6). */
  code: number
  /** Seconds the asker should wait before asking again; 0 means no hint. */
  retryAfter: number
}
/** §9: a tracker asks an announced endpoint to prove it is reachable and speaks for `publicKey`. */
export interface Challenge {
  type: 'challenge'
  txid: number
  /** Opaque to the node: the tracker's stateless proof of what it sent (§9). */
  token: Uint8Array
  /** The key whose record named the endpoint. */
  publicKey: Uint8Array
  network: string
}
/** §9: the challenged endpoint's answer, the challenge's fields echoed from that endpoint. */
export interface ChallengeReply {
  type: 'challenge-reply'
  txid: number
  token: Uint8Array
  publicKey: Uint8Array
  network: string
}
export interface StatsRequest {
  type: 'stats-request'
  txid: number
  cookie: Uint8Array
}
export interface Stat {
  name: string
  value: number
}
export interface StatsReply {
  type: 'stats-reply'
  txid: number
  stats: Stat[]
}

export type Message =
  | CookieRequest
  | CookieReply
  | Announce
  | AnnounceReply
  | Query
  | Introductions
  | ErrorMessage
  | Challenge
  | ChallengeReply
  | StatsRequest
  | StatsReply

export type Request = CookieRequest | Announce | Query | StatsRequest | ChallengeReply
export type MessageName = Message['type']

const TYPE_CODE: Readonly<Record<MessageName, number>> = {
  'cookie-request': MessageType.COOKIE_REQUEST,
  'cookie-reply': MessageType.COOKIE_REPLY,
  announce: MessageType.ANNOUNCE,
  'announce-reply': MessageType.ANNOUNCE_REPLY,
  query: MessageType.QUERY,
  introductions: MessageType.INTRODUCTIONS,
  error: MessageType.ERROR,
  challenge: MessageType.CHALLENGE,
  'challenge-reply': MessageType.CHALLENGE_REPLY,
  'stats-request': MessageType.STATS_REQUEST,
  'stats-reply': MessageType.STATS_REPLY,
}

const STATUS: readonly AnnounceStatus[] = ['new', 'refreshed', 'replaced', 'withdrawn']
const MODES: readonly QueryMode[] = ['sample', 'list', 'best']
const SORTS: readonly QuerySort[] = ['players', 'name', 'room']
const STAT_NAME_RE = /^[a-z][a-z0-9_]*$/
const QUERY_NOT_FULL = 0x01
const QUERY_EXCLUDE = 0x02
const QUERY_UNPROVEN = 0x04
const ENTRY_VERIFIED = 0x01
const ENTRY_PROOF = 0x02
const COOKIE_PAD = Limits.COOKIE_REQUEST_BYTES - 5

/** Encode any message. Throws WireError when a field breaks a cap. */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(m.type === 'introductions' ? 1024 : 128)
  w.u8((PROTOCOL_VERSION << 4) | TYPE_CODE[m.type], 'type')
  w.u32(m.txid, 'txid')
  switch (m.type) {
    case 'cookie-request':
      w.raw(new Uint8Array(COOKIE_PAD))
      break
    case 'cookie-reply':
      w.bytes(m.cookie, Limits.COOKIE_BYTES, 'cookie')
      break
    case 'announce':
      w.bytes(m.cookie, Limits.COOKIE_BYTES, 'cookie')
      w.raw(m.record.bytes)
      break
    case 'announce-reply':
      w.u8(STATUS.indexOf(m.status), 'status')
      w.u16(m.interval, 'interval')
      writeEndpoint(w, m.observed, 'observed')
      break
    case 'query':
      writeQuery(w, m)
      break
    case 'introductions':
      w.u16(m.total, 'total')
      w.count(m.entries.length, 'entries', Limits.QUERY_COUNT_MAX)
      for (const e of m.entries) writeEntry(w, e)
      break
    case 'error':
      w.u16(m.code, 'code')
      w.u16(m.retryAfter, 'retryAfter')
      break
    case 'challenge':
    case 'challenge-reply':
      if (!isValidNetwork(m.network)) throw new WireError('WIRE_BAD_STRING', 'network')
      w.bytes(m.token, Limits.CHALLENGE_TOKEN_BYTES, 'token')
      w.bytes(m.publicKey, Limits.PUBLIC_KEY_BYTES, 'publicKey')
      w.str8(m.network, 'network', Limits.NETWORK_MAX, 1)
      break
    case 'stats-request':
      w.bytes(m.cookie, Limits.COOKIE_BYTES, 'cookie')
      break
    case 'stats-reply':
      w.count(m.stats.length, 'stats', Limits.STATS_MAX)
      for (const s of m.stats) {
        if (!STAT_NAME_RE.test(s.name)) throw new WireError('WIRE_BAD_STRING', 'stat name')
        w.str8(s.name, 'stat name', Limits.STAT_NAME_MAX, 1)
        w.u64(s.value, 'stat value')
      }
      break
  }
  return w.finish()
}

/**
 * Decode one message occupying all of `buf`. Only WireError ever escapes: every read is
 * bounds-checked, every count capped before use, and trailing bytes refused.
 */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.byteLength > Limits.MAX_FRAME) {
    throw new WireError('WIRE_MESSAGE_TOO_LARGE', `${buf.byteLength} bytes`)
  }
  const r = new Reader(buf)
  const first = r.u8('type')
  if (first >> 4 !== PROTOCOL_VERSION) throw new WireError('WIRE_BAD_VERSION', `${first >> 4}`)
  const type = first & 0x0f
  const txid = r.u32('txid')
  let m: Message
  switch (type) {
    case MessageType.COOKIE_REQUEST: {
      const pad = r.bytes(COOKIE_PAD, 'padding')
      if (pad.some(b => b !== 0)) throw new WireError('WIRE_BAD_VALUE', 'padding must be zero')
      m = { type: 'cookie-request', txid }
      break
    }
    case MessageType.COOKIE_REPLY:
      m = { type: 'cookie-reply', txid, cookie: r.copy(Limits.COOKIE_BYTES, 'cookie') }
      break
    case MessageType.ANNOUNCE: {
      const cookie = r.copy(Limits.COOKIE_BYTES, 'cookie')
      const record = decodeRecord(r.bytes(r.remaining, 'record'))
      m = { type: 'announce', txid, cookie, record }
      break
    }
    case MessageType.ANNOUNCE_REPLY: {
      const status = STATUS[r.u8('status')]
      if (status === undefined) throw new WireError('WIRE_BAD_VALUE', 'status')
      const interval = r.u16('interval')
      m = { type: 'announce-reply', txid, status, interval, observed: readEndpoint(r, 'observed') }
      break
    }
    case MessageType.QUERY:
      m = readQuery(r, txid)
      break
    case MessageType.INTRODUCTIONS: {
      const total = r.u16('total')
      const n = r.count('entries', Limits.QUERY_COUNT_MAX)
      const entries: IntroEntry[] = []
      for (let i = 0; i < n; i++) entries.push(readEntry(r))
      m = { type: 'introductions', txid, total, entries }
      break
    }
    case MessageType.ERROR:
      m = { type: 'error', txid, code: r.u16('code'), retryAfter: r.u16('retryAfter') }
      break
    case MessageType.CHALLENGE:
    case MessageType.CHALLENGE_REPLY: {
      const token = r.copy(Limits.CHALLENGE_TOKEN_BYTES, 'token')
      const publicKey = r.copy(Limits.PUBLIC_KEY_BYTES, 'publicKey')
      const network = r.str8('network', Limits.NETWORK_MAX, 1)
      if (!isValidNetwork(network)) throw new WireError('WIRE_BAD_STRING', 'network')
      const name = type === MessageType.CHALLENGE ? 'challenge' : 'challenge-reply'
      m = { type: name, txid, token, publicKey, network }
      break
    }
    case MessageType.STATS_REQUEST:
      m = { type: 'stats-request', txid, cookie: r.copy(Limits.COOKIE_BYTES, 'cookie') }
      break
    case MessageType.STATS_REPLY: {
      const n = r.count('stats', Limits.STATS_MAX)
      const stats: Stat[] = []
      for (let i = 0; i < n; i++) {
        const name = r.str8('stat name', Limits.STAT_NAME_MAX, 1)
        if (!STAT_NAME_RE.test(name)) throw new WireError('WIRE_BAD_STRING', 'stat name')
        stats.push({ name, value: r.u64('stat value') })
      }
      m = { type: 'stats-reply', txid, stats }
      break
    }
    default:
      throw new WireError('WIRE_BAD_TYPE', `${type}`)
  }
  r.end()
  return m
}

function writeQuery(w: Writer, q: Query): void {
  if (!isValidNetwork(q.network)) throw new WireError('WIRE_BAD_STRING', 'network')
  if (q.count < 1 || q.count > Limits.QUERY_COUNT_MAX) {
    throw new WireError('WIRE_BAD_VALUE', `count must be 1..${Limits.QUERY_COUNT_MAX}`)
  }
  w.bytes(q.cookie, Limits.COOKIE_BYTES, 'cookie')
  w.str8(q.network, 'network', Limits.NETWORK_MAX, 1)
  w.u8(q.kind === 'server' ? 1 : 0, 'kind')
  w.u8(MODES.indexOf(q.mode), 'mode')
  w.u8(q.count, 'count')
  w.u16(q.offset, 'offset')
  w.u8(SORTS.indexOf(q.sort), 'sort')
  w.u8(
    (q.notFull ? QUERY_NOT_FULL : 0) |
      (q.exclude !== null ? QUERY_EXCLUDE : 0) |
      (q.unproven === true ? QUERY_UNPROVEN : 0),
    'flags',
  )
  w.str8(q.world, 'world', Limits.WORLD_MAX)
  w.str8(q.version, 'version', Limits.VERSION_MAX)
  w.count(q.tags.length, 'tags', Limits.QUERY_TAGS_MAX)
  for (const t of q.tags) w.str8(t, 'tag', Limits.TAG_MAX, 1)
  if (q.exclude !== null) w.bytes(q.exclude, Limits.PUBLIC_KEY_BYTES, 'exclude')
}

function readQuery(r: Reader, txid: number): Query {
  const cookie = r.copy(Limits.COOKIE_BYTES, 'cookie')
  const network = r.str8('network', Limits.NETWORK_MAX, 1)
  if (!isValidNetwork(network)) throw new WireError('WIRE_BAD_STRING', 'network')
  const kindByte = r.u8('kind')
  if (kindByte > 1) throw new WireError('WIRE_BAD_VALUE', 'kind')
  const mode = MODES[r.u8('mode')]
  if (mode === undefined) throw new WireError('WIRE_BAD_VALUE', 'mode')
  const count = r.u8('count')
  if (count < 1 || count > Limits.QUERY_COUNT_MAX) throw new WireError('WIRE_BAD_VALUE', 'count')
  const offset = r.u16('offset')
  const sort = SORTS[r.u8('sort')]
  if (sort === undefined) throw new WireError('WIRE_BAD_VALUE', 'sort')
  const flags = r.u8('flags')
  if ((flags & ~(QUERY_NOT_FULL | QUERY_EXCLUDE | QUERY_UNPROVEN)) !== 0)
    throw new WireError('WIRE_BAD_VALUE', 'flags')
  const world = r.str8('world', Limits.WORLD_MAX)
  const version = r.str8('version', Limits.VERSION_MAX)
  const n = r.count('tags', Limits.QUERY_TAGS_MAX)
  const tags: string[] = []
  for (let i = 0; i < n; i++) tags.push(r.str8('tag', Limits.TAG_MAX, 1))
  const exclude = (flags & QUERY_EXCLUDE) !== 0 ? r.copy(Limits.PUBLIC_KEY_BYTES, 'exclude') : null
  return {
    type: 'query',
    txid,
    cookie,
    network,
    kind: kindByte === 1 ? 'server' : 'peer',
    mode,
    count,
    offset,
    sort,
    notFull: (flags & QUERY_NOT_FULL) !== 0,
    // Present only when set, so a v1 query without the flag decodes exactly as before.
    ...((flags & QUERY_UNPROVEN) !== 0 ? { unproven: true } : {}),
    world,
    version,
    tags,
    exclude,
  }
}

function writeEntry(w: Writer, e: IntroEntry): void {
  writeEndpoint(w, e.observed, 'observed')
  const proof = e.proven !== undefined
  w.u8((e.verified ? ENTRY_VERIFIED : 0) | (proof ? ENTRY_PROOF : 0), 'entry flags')
  if (proof) {
    w.u8(e.proven ?? 0, 'proven')
    w.u16(Math.min(e.proofAge ?? 0, 0xffff), 'proofAge')
  }
  w.u16(Math.min(e.age, 0xffff), 'age')
  if (e.record.byteLength > Limits.RECORD_MAX)
    throw new WireError('WIRE_MESSAGE_TOO_LARGE', 'record')
  w.u16(e.record.byteLength, 'record length')
  w.raw(e.record)
}

function readEntry(r: Reader): IntroEntry {
  const observed = readEndpoint(r, 'observed')
  const flags = r.u8('entry flags')
  if ((flags & ~(ENTRY_VERIFIED | ENTRY_PROOF)) !== 0) {
    throw new WireError('WIRE_BAD_VALUE', 'entry flags')
  }
  const verified = (flags & ENTRY_VERIFIED) !== 0
  let proof: { proven: number; proofAge: number } | null = null
  if ((flags & ENTRY_PROOF) !== 0) {
    const proven = r.u8('proven')
    // §8.6: the mask and the verified bit must agree.
    if ((proven !== 0) !== verified) throw new WireError('WIRE_BAD_VALUE', 'proven')
    proof = { proven, proofAge: r.u16('proofAge') }
  }
  const age = r.u16('age')
  const len = r.u16('record length')
  if (len > Limits.RECORD_MAX) throw new WireError('WIRE_MESSAGE_TOO_LARGE', 'record')
  return { observed, verified, ...proof, age, record: r.copy(len, 'record') }
}

/** Encoded size of one introductions entry. */
export function entrySize(e: IntroEntry): number {
  const proof = e.proven !== undefined ? 3 : 0
  return 1 + (e.observed.family === 4 ? 4 : 16) + 2 + 1 + proof + 2 + 2 + e.record.byteLength
}

/** Bytes of an introductions message before its entries (type, txid, total, count). */
export const INTRODUCTIONS_HEADER = 1 + 4 + 2 + 1

/**
 * Keep as many leading entries as fit in `maxBytes` once encoded (UDP replies stay within
 * MAX_DATAGRAM). `total` is left as is so the asker knows more matched.
 */
export function fitIntroductions(m: Introductions, maxBytes: number): Introductions {
  let size = INTRODUCTIONS_HEADER
  let n = 0
  for (const e of m.entries) {
    const s = entrySize(e)
    if (size + s > maxBytes) break
    size += s
    n++
  }
  return n === m.entries.length ? m : { ...m, entries: m.entries.slice(0, n) }
}

/** Peek at the txid of a message without decoding it (0 when too short). */
export function peekTxid(buf: Uint8Array): number {
  if (buf.byteLength < 5) return 0
  return new DataView(buf.buffer, buf.byteOffset, 5).getUint32(1)
}
