import { readFile, readdir, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { TrackerError, isTrackerError } from '../../errors.js'
import { tempPrefix, writeFileAtomic } from '../../fs-atomic.js'
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './format.js'

/*
 * Where a checkpoint lives: one file in the data directory, written atomically, and set aside
 * (never deleted) when it cannot be read back.
 */

export const CHECKPOINT_FILE = 'checkpoint.bin'

/**
 * Write the checkpoint atomically (src/fs-atomic.ts: temp file, fsync, rename, directory fsync;
 * mode 0600). A crash at any point leaves either the old or the new file, never half of one.
 * Returns the bytes written; a failure is a CHECKPOINT_WRITE_FAILED.
 */
export async function writeCheckpoint(dir: string, c: Checkpoint): Promise<number> {
  const bytes = encodeCheckpoint(c)
  const final = join(dir, CHECKPOINT_FILE)
  try {
    await writeFileAtomic(final, bytes, { mode: 0o600 })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new TrackerError('CHECKPOINT_WRITE_FAILED', `cannot write ${final}: ${code}`, {
      cause: err,
    })
  }
  return bytes.byteLength
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
