import { readFile, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { TrackerError, isTrackerError } from '../../errors.js'
import { tempPrefix, writeFileAtomicFrom } from '../../fs-atomic.js'
import { CheckpointFile } from './file.js'
import {
  CHUNK_TARGET_BYTES,
  type Checkpoint,
  type CheckpointEntry,
  type CheckpointHeader,
  decodeCheckpoint,
  encodeChunk,
  encodeHeader,
} from './format.js'

/*
 * Where a checkpoint lives: one file in the data directory, written atomically, and set aside
 * (never deleted) when it cannot be read back.
 */

export const CHECKPOINT_FILE = 'checkpoint.bin'

/** What a save writes: the header, the entries, then (optionally) more entries read later. */
export interface CheckpointSnapshot extends CheckpointHeader {
  entries: Iterable<CheckpointEntry>
  /** Entries to append after `entries` (a restore's not yet restored remainder: restorer.ts). */
  rest?: AsyncIterable<CheckpointEntry>
}

/** Ms a save gathers and encodes entries at most before it writes a chunk (and yields). */
export const SAVE_SLICE_MS = 4

/**
 * Write the checkpoint atomically (src/fs-atomic.ts: temp file, fsync, rename, directory fsync;
 * mode 0600). A crash at any point leaves either the old or the new file, never half of one.
 * Returns the bytes written; a failure is a CHECKPOINT_WRITE_FAILED.
 */
export async function writeCheckpoint(dir: string, c: CheckpointSnapshot): Promise<number> {
  return (await writeCheckpointStream(dir, c)).bytes
}

/**
 * `writeCheckpoint` a chunk at a time (format.ts): each chunk is encoded (a few ms) and written
 * before the next is encoded, so the event loop runs between chunks and the file is never
 * whole in memory. Returns the bytes and entries written.
 */
export async function writeCheckpointStream(
  dir: string,
  c: CheckpointSnapshot,
): Promise<{ bytes: number; entries: number }> {
  const final = join(dir, CHECKPOINT_FILE)
  let bytes = 0
  let entries = 0
  async function* pieces(): AsyncGenerator<Uint8Array> {
    const header = encodeHeader(c)
    let previous: Uint8Array = header.digest
    yield header.bytes
    let batch: CheckpointEntry[] = []
    let size = 0
    const cut = (): Uint8Array => {
      const chunk = encodeChunk(previous, batch)
      previous = chunk.digest
      entries += batch.length
      batch = []
      size = 0
      return chunk.bytes
    }
    // A chunk is cut at CHUNK_TARGET_BYTES or after SAVE_SLICE_MS of gathering (the entries may
    // be made as they are read: held.ts), whichever comes first; writing it yields to the loop.
    let t0 = performance.now()
    for (const e of c.entries) {
      batch.push(e)
      size += 37 + e.record.byteLength
      if (
        size >= CHUNK_TARGET_BYTES ||
        (batch.length % 16 === 0 && performance.now() - t0 >= SAVE_SLICE_MS)
      ) {
        yield cut()
        t0 = performance.now()
      }
    }
    if (c.rest !== undefined) {
      for await (const e of c.rest) {
        batch.push(e)
        size += 37 + e.record.byteLength
        if (size >= CHUNK_TARGET_BYTES) yield cut()
      }
    }
    if (batch.length > 0) yield cut()
    yield cut() // the end marker
  }
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of pieces()) {
      bytes += piece.byteLength
      yield piece
    }
  }
  try {
    await writeFileAtomicFrom(final, counted(), { mode: 0o600 })
  } catch (err) {
    if (isTrackerError(err)) throw err
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new TrackerError('CHECKPOINT_WRITE_FAILED', `cannot write ${final}: ${code}`, {
      cause: err,
    })
  }
  return { bytes, entries }
}

export type ReadResult =
  | { status: 'none' }
  | { status: 'read'; checkpoint: Checkpoint }
  | { status: 'corrupt'; error: TrackerError; keptAs: string }

/**
 * Read and check the checkpoint file of `dir` (records stay undecoded). A file that is corrupt
 * (or of an unknown version) is never deleted: it is renamed to `checkpoint.corrupt-<time>`
 * (`nowMs`) and `status: 'corrupt'` says where. Leftover temp files of an interrupted write are
 * removed first. An unreadable file is a CHECKPOINT_READ_FAILED.
 */
export async function readCheckpoint(dir: string, nowMs: number): Promise<ReadResult> {
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
  try {
    return { status: 'read', checkpoint: decodeCheckpoint(bytes) }
  } catch (err) {
    if (!isTrackerError(err)) throw err
    const keptAs = join(dir, `checkpoint.corrupt-${stamp(nowMs)}`)
    await rename(path, keptAs)
    return { status: 'corrupt', error: err, keptAs }
  }
}

export type OpenResult =
  | { status: 'none' }
  | { status: 'open'; file: CheckpointFile }
  | { status: 'corrupt'; error: TrackerError; keptAs: string }

/**
 * Open the checkpoint file of `dir` to be read a chunk at a time (file.ts), after checking it
 * whole; a corrupt file is set aside as `readCheckpoint` does. The caller closes the file.
 */
export async function openCheckpoint(dir: string, nowMs: number): Promise<OpenResult> {
  await removeTempFiles(dir)
  const path = join(dir, CHECKPOINT_FILE)
  try {
    return { status: 'open', file: await CheckpointFile.open(path) }
  } catch (err) {
    if (isTrackerError(err)) {
      const keptAs = join(dir, `checkpoint.corrupt-${stamp(nowMs)}`)
      await rename(path, keptAs)
      return { status: 'corrupt', error: err, keptAs }
    }
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { status: 'none' }
    throw new TrackerError('CHECKPOINT_READ_FAILED', `cannot read ${path}: ${code ?? 'error'}`, {
      cause: err,
    })
  }
}

async function removeTempFiles(dir: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return
  }
  const prefix = tempPrefix(CHECKPOINT_FILE)
  for (const name of names) {
    if (name.startsWith(prefix)) await unlink(join(dir, name)).catch(() => undefined)
  }
}

/** 2026-01-02T03-04-05-678Z: an ISO time that is a portable file name. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, '-')
}
