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
}

export interface Checkpoint {
  /** ms since the epoch. */
  savedAt: number
  /** The cookie secret (32 bytes): cookies issued before a restart stay valid after it. */
  cookieSecret: Uint8Array
  entries: CheckpointEntry[]
}

/*
 * File format, version 1 (all integers big-endian):
 *
 *   magic    8 bytes  "MTCKPT\r\n" (the CR LF catches text-mode mangling)
 *   version  u16      1
 *   savedAt  u64      ms since the epoch
 *   secret   32 bytes cookie secret
 *   count    u32      entries
 *   entries  count x { lastSeen u64 ms, observed endpoint (wire §4), u16 length, record bytes }
 *   sha256   32 bytes over every byte before it
 *
 * Binary rather than JSON: records are bytes (hex would double them) and one pass of a Reader
 * over a buffer is cheap; the checksum makes truncation and damage detectable before parsing.
 */
const MAGIC = new Uint8Array([0x4d, 0x54, 0x43, 0x4b, 0x50, 0x54, 0x0d, 0x0a])
export const CHECKPOINT_VERSION = 1
const DIGEST_BYTES = 32
const HEADER_BYTES = MAGIC.byteLength + 2 + 8 + COOKIE_SECRET_BYTES + 4

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  if (c.cookieSecret.byteLength !== COOKIE_SECRET_BYTES) {
    throw new TypeError('the cookie secret is 32 bytes')
  }
  let size = HEADER_BYTES + DIGEST_BYTES
  for (const e of c.entries) size += 8 + 19 + 2 + e.record.byteLength
  const w = new Writer(size)
  w.raw(MAGIC)
  w.u16(CHECKPOINT_VERSION, 'version')
  w.u64(c.savedAt, 'savedAt')
  w.raw(c.cookieSecret)
  w.u32(c.entries.length, 'count')
  for (const e of c.entries) {
    w.u64(Math.max(0, Math.floor(e.lastSeen)), 'lastSeen')
    writeEndpoint(w, e.observed, 'observed')
    w.u16(e.record.byteLength, 'record length')
    w.raw(e.record)
  }
  const body = w.finish()
  const out = new Uint8Array(body.byteLength + DIGEST_BYTES)
  out.set(body)
  out.set(sha256(body), body.byteLength)
  return out
}

/**
 * Decode a checkpoint file. Throws CHECKPOINT_CORRUPT (wrong magic, truncated, checksum
 * mismatch, malformed entry) or CHECKPOINT_VERSION; records are returned as stored (not yet
 * decoded or verified: see restore.ts).
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const corrupt = (why: string): TrackerError => new TrackerError('CHECKPOINT_CORRUPT', why)
  if (bytes.byteLength < MAGIC.byteLength || !startsWith(bytes, MAGIC)) {
    throw corrupt('not a metatracker checkpoint (bad magic)')
  }
  if (bytes.byteLength < HEADER_BYTES + DIGEST_BYTES) {
    throw corrupt(`truncated: ${bytes.byteLength} bytes is shorter than the header`)
  }
  const version = (bytes[MAGIC.byteLength] ?? 0) * 256 + (bytes[MAGIC.byteLength + 1] ?? 0)
  if (version !== CHECKPOINT_VERSION) {
    throw new TrackerError(
      'CHECKPOINT_VERSION',
      `checkpoint format version ${version}; this build reads version ${CHECKPOINT_VERSION}`,
    )
  }
  const body = bytes.subarray(0, bytes.byteLength - DIGEST_BYTES)
  if (!sha256(body).equals(bytes.subarray(bytes.byteLength - DIGEST_BYTES))) {
    throw corrupt('checksum mismatch: the file is truncated or damaged')
  }
  try {
    const r = new Reader(body)
    r.bytes(MAGIC.byteLength, 'magic')
    r.u16('version')
    const savedAt = r.u64('savedAt')
    const cookieSecret = r.copy(COOKIE_SECRET_BYTES, 'secret')
    const count = r.u32('count')
    // Each entry takes at least 8 + 7 + 2 bytes: a count beyond that is a lie, not a budget.
    if (count > r.remaining / 17) throw corrupt(`entry count ${count} exceeds the file`)
    const entries: CheckpointEntry[] = []
    for (let i = 0; i < count; i++) {
      const lastSeen = r.u64('lastSeen')
      const observed = readEndpoint(r, 'observed')
      const length = r.u16('record length')
      if (length > Limits.RECORD_MAX) throw corrupt(`entry ${i}: record of ${length} bytes`)
      entries.push({ lastSeen, observed, record: r.copy(length, 'record') })
    }
    r.end()
    return { savedAt, cookieSecret, entries }
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

/** The checksum of a checkpoint: SHA-256 over every byte before it. */
export function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}
