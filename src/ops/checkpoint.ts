import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { type Clock, systemClock } from '../clock.js'
import { verifyRecord } from '../crypto/record-sign.js'
import { TrackerError, isTrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { Limits } from '../wire/constants.js'
import { type Endpoint, readEndpoint, writeEndpoint } from '../wire/endpoint.js'
import { Reader } from '../wire/reader.js'
import { type SignedRecord, decodeRecord } from '../wire/record.js'
import { Writer } from '../wire/writer.js'

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

export const CHECKPOINT_FILE = 'checkpoint.bin'
export const COOKIE_SECRET_BYTES = 32

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
  out.set(createHash('sha256').update(body).digest(), body.byteLength)
  return out
}

/**
 * Decode a checkpoint file. Throws CHECKPOINT_CORRUPT (wrong magic, truncated, checksum
 * mismatch, malformed entry) or CHECKPOINT_VERSION; records are returned as stored (not yet
 * decoded or verified: see `loadCheckpoint`).
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
  const digest = createHash('sha256').update(body).digest()
  if (!digest.equals(bytes.subarray(bytes.byteLength - DIGEST_BYTES))) {
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

/**
 * Write the checkpoint atomically: a temp file in the same directory, fsync, rename over the
 * old one, fsync the directory. A crash at any point leaves either the old or the new file,
 * never half of one. Returns the bytes written.
 */
export async function writeCheckpoint(dir: string, c: Checkpoint): Promise<number> {
  const bytes = encodeCheckpoint(c)
  const final = join(dir, CHECKPOINT_FILE)
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp-${randomBytes(6).toString('hex')}`)
  try {
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, final)
    await syncDirectory(dir)
  } catch (err) {
    await unlink(tmp).catch(() => undefined)
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new TrackerError('CHECKPOINT_WRITE_FAILED', `cannot write ${final}: ${code}`, {
      cause: err,
    })
  }
  return bytes.byteLength
}

async function syncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}

export type LoadResult =
  | { status: 'none' }
  | {
      status: 'loaded'
      checkpoint: Checkpoint
      /** Entries dropped because their record had expired. */
      expired: number
      /** Entries dropped because their record no longer decodes or verifies. */
      invalid: number
      /** Milliseconds spent decoding and verifying the records. */
      verifyMs: number
    }
  | { status: 'corrupt'; error: TrackerError; keptAs: string }

export interface LoadOptions {
  clock?: Clock
  /**
   * Re-verify every record's signature here (default true). It costs one Ed25519 verification
   * per entry (docs/benchmarks.md: tens of seconds per 100,000 entries on a small machine), so
   * the daemon passes false and runs `verifyEntries` in the background after binding instead.
   */
  verify?: boolean
}

/**
 * Load the checkpoint from `dir`, dropping expired records and any that fail to decode or
 * verify. A file that is corrupt (or of an unknown version) is never deleted: it is renamed
 * to `checkpoint.corrupt-<time>` and `status: 'corrupt'` says where; the tracker then starts
 * empty. Leftover temp files of an interrupted write are removed.
 */
export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const clock = options.clock ?? systemClock
  await removeTempFiles(dir)
  const path = join(dir, CHECKPOINT_FILE)
  let bytes: Uint8Array
  try {
    const buf = await readFile(path)
    // A plain view: Buffer#slice shares memory, and records are copied out with slice().
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { status: 'none' }
    throw new TrackerError('CHECKPOINT_READ_FAILED', `cannot read ${path}: ${code ?? 'error'}`, {
      cause: err,
    })
  }
  let checkpoint: Checkpoint
  try {
    checkpoint = decodeCheckpoint(bytes)
  } catch (err) {
    if (!isTrackerError(err)) throw err
    const keptAs = join(dir, `checkpoint.corrupt-${stamp(clock.now())}`)
    await rename(path, keptAs)
    return { status: 'corrupt', error: err, keptAs }
  }
  const started = performance.now()
  const nowSeconds = clock.now() / 1000
  const kept: CheckpointEntry[] = []
  let expired = 0
  let invalid = 0
  const verify = options.verify ?? true
  for (let i = 0; i < checkpoint.entries.length; i++) {
    const e = checkpoint.entries[i]
    if (e === undefined) continue
    // Keep signals and timers alive through a long load.
    if (i % 4096 === 4095) await yieldToLoop()
    const signed = tryDecode(e.record)
    if (signed === null) {
      invalid++
      continue
    }
    if (signed.record.expiresAt <= nowSeconds) {
      expired++
      continue
    }
    if (verify && !verifyRecord(signed)) {
      invalid++
      continue
    }
    kept.push(e)
  }
  return {
    status: 'loaded',
    checkpoint: { ...checkpoint, entries: kept },
    expired,
    invalid,
    verifyMs: performance.now() - started,
  }
}

function tryDecode(bytes: Uint8Array): SignedRecord | null {
  try {
    return decodeRecord(bytes)
  } catch {
    return null
  }
}

async function removeTempFiles(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  for (const name of names) {
    if (name.startsWith(`${CHECKPOINT_FILE}.tmp-`)) {
      await unlink(join(dir, name)).catch(() => undefined)
    }
  }
}

/** 2026-01-02T03-04-05-678Z: an ISO time that is a portable file name. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-')
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

export interface VerifyResult {
  checked: number
  /** Entries whose record no longer decodes or whose signature fails. */
  invalid: CheckpointEntry[]
  ms: number
  /** True when the signal stopped it before the end. */
  aborted: boolean
}

/**
 * Verify the records of checkpointed entries in slices, yielding to the event loop between
 * slices so a running tracker keeps serving while it checks what it restored.
 */
export async function verifyEntries(
  entries: readonly CheckpointEntry[],
  options: { signal?: AbortSignal; slice?: number } = {},
): Promise<VerifyResult> {
  const started = performance.now()
  const slice = options.slice ?? 256
  const invalid: CheckpointEntry[] = []
  let checked = 0
  for (const e of entries) {
    if (checked % slice === slice - 1) {
      await yieldToLoop()
      if (options.signal?.aborted === true) {
        return { checked, invalid, ms: performance.now() - started, aborted: true }
      }
    }
    checked++
    const signed = tryDecode(e.record)
    if (signed === null || !verifyRecord(signed)) invalid.push(e)
  }
  return { checked, invalid, ms: performance.now() - started, aborted: false }
}

export interface CheckpointerOptions {
  dir: string
  /** Seconds between periodic checkpoints; 0 = only when asked (e.g. on stop). */
  intervalSeconds: number
}

export interface CheckpointerDeps {
  /** What to save: the table's entries and the cookie secret, taken when a save starts. */
  snapshot: () => Checkpoint
  logger?: Logger
  clock?: Clock
}

/**
 * Saves a checkpoint every `intervalSeconds` and when asked (on SIGTERM/SIGINT, the CLI calls
 * `stop()`). Saves never overlap; a failed periodic save is logged and retried at the next
 * tick, while `save()` and `stop()` report failure to their caller.
 */
export class Checkpointer {
  readonly #dir: string
  readonly #intervalMs: number
  readonly #snapshot: () => Checkpoint
  readonly #logger: Logger
  #timer: NodeJS.Timeout | null = null
  #chain: Promise<unknown> = Promise.resolve()
  #stopped = false
  readonly counts = { saved: 0, failed: 0 }

  constructor(options: CheckpointerOptions, deps: CheckpointerDeps) {
    this.#dir = options.dir
    this.#intervalMs = options.intervalSeconds * 1000
    this.#snapshot = deps.snapshot
    this.#logger = deps.logger ?? silentLogger
  }

  start(): void {
    if (this.#timer !== null || this.#stopped || this.#intervalMs <= 0) return
    this.#timer = setInterval(() => {
      this.save('interval').catch(() => undefined) // logged in save()
    }, this.#intervalMs)
    this.#timer.unref()
  }

  /** Save now (after any save in progress). Resolves with the entries and bytes written. */
  save(reason: string): Promise<{ entries: number; bytes: number }> {
    const run = async (): Promise<{ entries: number; bytes: number }> => {
      const started = performance.now()
      const c = this.#snapshot()
      try {
        const bytes = await writeCheckpoint(this.#dir, c)
        this.counts.saved++
        const ms = Math.round(performance.now() - started)
        const fields = { event: 'checkpoint', reason, entries: c.entries.length, bytes, ms }
        this.#logger.info(fields, 'checkpoint saved')
        return { entries: c.entries.length, bytes }
      } catch (err) {
        this.counts.failed++
        const code = isTrackerError(err) ? err.code : 'CHECKPOINT_WRITE_FAILED'
        const message = err instanceof Error ? err.message : String(err)
        this.#logger.error({ event: 'checkpoint_failed', reason, code }, message)
        throw err
      }
    }
    const next = this.#chain.then(run, run)
    this.#chain = next.catch(() => undefined)
    return next
  }

  /** Stop the timer and save one last time. Idempotent: later calls only wait. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    if (this.#stopped) {
      await this.#chain
      return
    }
    this.#stopped = true
    await this.save('stop')
  }
}
