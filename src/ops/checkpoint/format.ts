import { createHash } from 'node:crypto'
import { COOKIE_SECRET_BYTES } from '../../crypto/cookie.js'
import { TrackerError, isTrackerError } from '../../errors.js'
import { Limits } from '../../wire/constants.js'
import { type Endpoint, readEndpoint, writeEndpoint } from '../../wire/endpoint.js'
import { Reader } from '../../wire/reader.js'
import { Writer } from '../../wire/writer.js'

/** One held entry, as the table snapshots it (the Daemon's `EntrySnapshot`). */
export interface CheckpointEntry {
  /** The exact signed record bytes. */
  record: Uint8Array
  observed: Endpoint
  /** When the tracker last received the record, ms since the epoch. */
  lastSeen: number
  /**
   * The endpoints proven reachable when saved (bit i = endpoint i, src/table/proof.ts) and the
   * Unix seconds of that proof; absent when none (and in version 1 files).
   */
  proven?: number
  provenAt?: number
}

export interface Checkpoint {
  /** ms since the epoch. */
  savedAt: number
  /** The cookie secret (32 bytes): cookies issued before a restart stay valid after it. */
  cookieSecret: Uint8Array
  entries: CheckpointEntry[]
}

/*
 * File format, version 2 (all integers big-endian): a header, then the entries in chunks, so a
 * checkpoint is written and read a chunk at a time without the whole file in memory, each chunk
 * checked before any of it is used (docs/operations.md, "Warm restart"):
 *
 *   header   magic 8 bytes "MTCKPT\r\n" (the CR LF catches text-mode mangling)
 *            version u16 = 2, savedAt u64 ms, secret 32 bytes
 *            digest 32 bytes: SHA-256 of the header bytes before it
 *   chunk*   count u32 (>= 1), length u32 (payload bytes, at most CHUNK_MAX_BYTES)
 *            payload: count x { lastSeen u64 ms, observed endpoint (wire §4), proven u8 (endpoint
 *            mask), provenAt u32 (Unix seconds, 0 = never), u16 length, record }
 *            digest 32 bytes: SHA-256(previous digest || count || length || payload)
 *   end      count u32 = 0, length u32 = 0, digest as for a chunk; nothing after it
 *
 * The digests chain, so a chunk dropped, repeated or moved breaks every digest after it, and a
 * file cut anywhere lacks its end marker. Version 1 (one checksum over the whole file, which
 * had to be read whole before anything could be used) is still read: decodeCheckpointV1.
 */
const MAGIC = new Uint8Array([0x4d, 0x54, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a])
export const CHECKPOINT_VERSION = 2
export const DIGEST_BYTES = 32
/** magic, version, savedAt, secret (v2 then adds its digest). */
const HEADER_FIELDS = MAGIC.byteLength + 2 + 8 + COOKIE_SECRET_BYTES
export const HEADER_BYTES = HEADER_FIELDS + DIGEST_BYTES
export const CHUNK_HEAD_BYTES = 8
/**
 * Payload bytes a writer aims for in one chunk: about 400 entries, a ms or two to encode or
 * to parse, the longest the event loop waits for either.
 */
export const CHUNK_TARGET_BYTES = 64 * 1024
/** Payload bytes a reader accepts in one chunk: a larger length is a lie, not a budget. */
export const CHUNK_MAX_BYTES = 4 * 1024 * 1024
/** Each entry takes at least 8 + 7 + 5 + 2 bytes (version 1: no proof, 5 fewer). */
const ENTRY_MIN_BYTES = 22
const V1_ENTRY_MIN_BYTES = 17

export const corrupt = (why: string): TrackerError => new TrackerError('CHECKPOINT_CORRUPT', why)

/** The version of a checkpoint from its first bytes; throws CHECKPOINT_CORRUPT on bad magic. */
export function checkpointVersion(bytes: Uint8Array): number {
  if (bytes.byteLength < MAGIC.byteLength + 2 || !startsWith(bytes, MAGIC)) {
    throw corrupt('not a metatracker checkpoint (bad magic)')
  }
  const version = (bytes[MAGIC.byteLength] ?? 0) * 256 + (bytes[MAGIC.byteLength + 1] ?? 0)
  if (version !== 1 && version !== CHECKPOINT_VERSION) {
    throw new TrackerError(
      'CHECKPOINT_VERSION',
      `checkpoint format version ${version}; this build reads versions 1 and ${CHECKPOINT_VERSION}`,
    )
  }
  return version
}

export interface CheckpointHeader {
  savedAt: number
  cookieSecret: Uint8Array
}

export function encodeHeader(h: CheckpointHeader): { bytes: Uint8Array; digest: Buffer } {
  if (h.cookieSecret.byteLength !== COOKIE_SECRET_BYTES) {
    throw new TypeError('the cookie secret is 32 bytes')
  }
  const w = new Writer(HEADER_BYTES)
  w.raw(MAGIC)
  w.u16(CHECKPOINT_VERSION, 'version')
  w.u64(h.savedAt, 'savedAt')
  w.raw(h.cookieSecret)
  const fields = w.finish()
  const digest = sha256(fields)
  const bytes = new Uint8Array(HEADER_BYTES)
  bytes.set(fields)
  bytes.set(digest, HEADER_FIELDS)
  return { bytes, digest }
}

/** Parse and check a version 2 header (HEADER_BYTES long). */
export function decodeHeader(bytes: Uint8Array): CheckpointHeader & { digest: Buffer } {
  if (checkpointVersion(bytes) !== CHECKPOINT_VERSION || bytes.byteLength < HEADER_BYTES) {
    throw corrupt(`truncated: ${bytes.byteLength} bytes is shorter than the header`)
  }
  const digest = sha256(bytes.subarray(0, HEADER_FIELDS))
  if (!digest.equals(bytes.subarray(HEADER_FIELDS, HEADER_BYTES))) {
    throw corrupt('checksum mismatch in the header: the file is damaged')
  }
  const r = new Reader(bytes.subarray(MAGIC.byteLength + 2, HEADER_FIELDS))
  const savedAt = r.u64('savedAt')
  const cookieSecret = r.copy(COOKIE_SECRET_BYTES, 'secret')
  return { savedAt, cookieSecret, digest }
}

/**
 * One chunk (or, with no entries, the end marker) chained to the digest before it. Returns the
 * bytes and this chunk's digest.
 */
export function encodeChunk(
  previous: Uint8Array,
  entries: readonly CheckpointEntry[],
): { bytes: Uint8Array; digest: Buffer } {
  let size = CHUNK_HEAD_BYTES + DIGEST_BYTES
  for (const e of entries) size += 8 + 19 + 5 + 2 + e.record.byteLength
  const w = new Writer(size)
  w.u32(entries.length, 'count')
  w.u32(0, 'length')
  for (const e of entries) {
    w.u64(Math.max(0, Math.floor(e.lastSeen)), 'lastSeen')
    writeEndpoint(w, e.observed, 'observed')
    const proven = e.proven !== undefined && e.provenAt !== undefined ? e.proven & 0xff : 0
    w.u8(proven, 'proven')
    w.u32(
      proven === 0 ? 0 : Math.max(0, Math.min(0xffffffff, Math.floor(e.provenAt ?? 0))),
      'provenAt',
    )
    w.u16(e.record.byteLength, 'record length')
    w.raw(e.record)
  }
  const body = w.finish()
  new DataView(body.buffer, body.byteOffset).setUint32(4, body.byteLength - CHUNK_HEAD_BYTES)
  const digest = chunkDigest(previous, body)
  const bytes = new Uint8Array(body.byteLength + DIGEST_BYTES)
  bytes.set(body)
  bytes.set(digest, body.byteLength)
  return { bytes, digest }
}

/** The digest of a chunk: SHA-256 of the previous digest, the chunk head and payload. */
export function chunkDigest(previous: Uint8Array, headAndPayload: Uint8Array): Buffer {
  return createHash('sha256').update(previous).update(headAndPayload).digest()
}

/** A chunk head: entries and payload bytes; throws CHECKPOINT_CORRUPT on an impossible one. */
export function readChunkHead(head: Uint8Array, at: number): { count: number; length: number } {
  const v = new DataView(head.buffer, head.byteOffset, CHUNK_HEAD_BYTES)
  const count = v.getUint32(0)
  const length = v.getUint32(4)
  if (
    length > CHUNK_MAX_BYTES ||
    count * ENTRY_MIN_BYTES > length ||
    (count === 0) !== (length === 0)
  ) {
    throw corrupt(`chunk at byte ${at}: ${count} entries in ${length} bytes`)
  }
  return { count, length }
}

/** The entries of a checked chunk payload (records copied out; `v1`: no proof fields). */
export function decodeEntries(
  payload: Uint8Array,
  count: number,
  at: number,
  v1 = false,
): CheckpointEntry[] {
  try {
    const r = new Reader(payload)
    const entries: CheckpointEntry[] = []
    for (let i = 0; i < count; i++) {
      const lastSeen = r.u64('lastSeen')
      const observed = readEndpoint(r, 'observed')
      const proven = v1 ? 0 : r.u8('proven')
      const provenAt = v1 ? 0 : r.u32('provenAt')
      const length = r.u16('record length')
      if (length > Limits.RECORD_MAX) throw corrupt(`entry ${i}: record of ${length} bytes`)
      const e: CheckpointEntry = { lastSeen, observed, record: r.copy(length, 'record') }
      if (proven !== 0 && provenAt !== 0) {
        e.proven = proven
        e.provenAt = provenAt
      }
      entries.push(e)
    }
    r.end()
    return entries
  } catch (err) {
    if (isTrackerError(err) && err.code === 'CHECKPOINT_CORRUPT') throw err
    const detail = err instanceof Error ? err.message : String(err)
    throw corrupt(`malformed chunk at byte ${at}: ${detail}`)
  }
}

/** Entries per chunk `encodeCheckpoint` aims for (a writer cuts at CHUNK_TARGET_BYTES). */
const ENCODE_CHUNK_ENTRIES = 1024

/** A whole version 2 file in memory (tests, small tables; the daemon streams: store.ts). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const header = encodeHeader(c)
  const parts: Uint8Array[] = [header.bytes]
  let previous: Uint8Array = header.digest
  for (let i = 0; i < c.entries.length; i += ENCODE_CHUNK_ENTRIES) {
    const chunk = encodeChunk(previous, c.entries.slice(i, i + ENCODE_CHUNK_ENTRIES))
    parts.push(chunk.bytes)
    previous = chunk.digest
  }
  parts.push(encodeChunk(previous, []).bytes)
  // A plain Uint8Array: Buffer#slice would share memory with the caller's copy.
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

/**
 * Decode a whole checkpoint file of either version. Throws CHECKPOINT_CORRUPT (wrong magic,
 * truncated, checksum mismatch, malformed entry) or CHECKPOINT_VERSION; records are returned as
 * stored (not yet decoded or verified: see restore.ts).
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (checkpointVersion(bytes) === 1) return decodeCheckpointV1(bytes)
  const header = decodeHeader(bytes)
  let previous: Uint8Array = header.digest
  let at = HEADER_BYTES
  const entries: CheckpointEntry[] = []
  for (;;) {
    if (bytes.byteLength - at < CHUNK_HEAD_BYTES + DIGEST_BYTES) {
      throw corrupt(`truncated at byte ${at}: no end marker`)
    }
    const { count, length } = readChunkHead(bytes.subarray(at, at + CHUNK_HEAD_BYTES), at)
    const end = at + CHUNK_HEAD_BYTES + length
    if (bytes.byteLength - end < DIGEST_BYTES) throw corrupt(`truncated in the chunk at ${at}`)
    const digest = chunkDigest(previous, bytes.subarray(at, end))
    if (!digest.equals(bytes.subarray(end, end + DIGEST_BYTES))) {
      throw corrupt(`checksum mismatch in the chunk at byte ${at}: the file is damaged`)
    }
    if (count === 0) {
      if (end + DIGEST_BYTES !== bytes.byteLength) throw corrupt('bytes after the end marker')
      return { savedAt: header.savedAt, cookieSecret: header.cookieSecret, entries }
    }
    for (const e of decodeEntries(bytes.subarray(at + CHUNK_HEAD_BYTES, end), count, at)) {
      entries.push(e)
    }
    previous = digest
    at = end + DIGEST_BYTES
  }
}

/*
 * Version 1, read only:
 *
 *   magic 8 bytes, version u16 = 1, savedAt u64, secret 32 bytes, count u32,
 *   entries count x { lastSeen u64 ms, observed endpoint, u16 length, record bytes },
 *   sha256 32 bytes over every byte before it.
 */
const V1_HEADER_BYTES = HEADER_FIELDS + 4

export function decodeCheckpointV1(bytes: Uint8Array): Checkpoint {
  if (bytes.byteLength < V1_HEADER_BYTES + DIGEST_BYTES) {
    throw corrupt(`truncated: ${bytes.byteLength} bytes is shorter than the header`)
  }
  const body = bytes.subarray(0, bytes.byteLength - DIGEST_BYTES)
  if (!sha256(body).equals(bytes.subarray(bytes.byteLength - DIGEST_BYTES))) {
    throw corrupt('checksum mismatch: the file is truncated or damaged')
  }
  try {
    const r = new Reader(body)
    r.bytes(MAGIC.byteLength + 2, 'magic and version')
    const savedAt = r.u64('savedAt')
    const cookieSecret = r.copy(COOKIE_SECRET_BYTES, 'secret')
    const count = r.u32('count')
    if (count > r.remaining / V1_ENTRY_MIN_BYTES)
      throw corrupt(`entry count ${count} exceeds the file`)
    const rest = r.bytes(r.remaining, 'entries')
    return { savedAt, cookieSecret, entries: decodeEntries(rest, count, V1_HEADER_BYTES, true) }
  } catch (err) {
    if (isTrackerError(err) && err.code === 'CHECKPOINT_CORRUPT') throw err
    const detail = err instanceof Error ? err.message : String(err)
    throw corrupt(`malformed content: ${detail}`)
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}
