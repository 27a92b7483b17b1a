import { randomBytes } from 'node:crypto'
import { link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface WriteAtomicOptions {
  /** Mode of the new file; 0o600 unless given. */
  mode?: number
  /**
   * Refuse to replace an existing `path` (the error's code is EEXIST): the new file is linked in
   * place of renamed, which fails when the name exists, still never showing half a file.
   */
  exclusive?: boolean
}

/**
 * The one atomic write of the project: `data` goes to a temporary file beside `path`, which is
 * fsynced and renamed over `path`, then the directory is fsynced so the rename itself survives a
 * power failure. A crash at any point leaves either the old file or the new one, never half of
 * one; the temporary file is always removed and an error is rethrown as is (callers wrap it into
 * their own coded error). The directory must exist.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteAtomicOptions = {},
): Promise<void> {
  await writeFileAtomicFrom(path, [typeof data === 'string' ? Buffer.from(data) : data], options)
}

/**
 * `writeFileAtomic` for content produced piece by piece (a large file written without holding
 * it whole in memory): each piece is written as it comes, with the same temp file, fsync,
 * rename and directory fsync.
 */
export async function writeFileAtomicFrom(
  path: string,
  pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `${basename(path)}.tmp-${randomBytes(6).toString('hex')}`)
  try {
    const fh = await open(tmp, 'wx', options.mode ?? 0o600)
    try {
      for await (const piece of pieces) {
        for (let at = 0; at < piece.byteLength;) {
          at += (await fh.write(piece, at, piece.byteLength - at)).bytesWritten
        }
      }
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (options.exclusive === true) {
      await link(tmp, path)
      await rm(tmp, { force: true })
    } else await rename(tmp, path)
    await syncDirectory(dir)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    throw err
  }
}

/** The temporary name prefix `writeFileAtomic` uses for `file` (to clean up after a crash). */
export function tempPrefix(file: string): string {
  return `${file}.tmp-`
}

async function syncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try {
    await dh.sync()
  } finally {
    await dh.close()
  }
}
