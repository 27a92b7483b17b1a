import { type FileHandle, open } from 'node:fs/promises'
import {
  CHUNK_HEAD_BYTES,
  type CheckpointEntry,
  DIGEST_BYTES,
  HEADER_BYTES,
  checkpointVersion,
  chunkDigest,
  corrupt,
  decodeCheckpointV1,
  decodeEntries,
  decodeHeader,
  readChunkHead,
} from './format.js'

/** Where one chunk of a version 2 file is, and the digest it chains from. */
interface ChunkAt {
  at: number
  count: number
  length: number
  previous: Uint8Array
}

/** Entries per chunk when a version 1 file (read whole) is handed out in chunks. */
const V1_CHUNK_ENTRIES = 1024

/**
 * An open checkpoint file, checked whole when opened and read a chunk at a time afterwards
 * (format.ts). `open` reads every chunk once, checks its digest and keeps only where it is, so a
 * truncated or damaged file is refused before anything of it is used, at the cost of one read
 * and one SHA-256 pass, never the whole file in memory; `chunk(i)` reads chunk i again and checks
 * its digest again (the file may have been changed under the tracker since). Reads are
 * positional, so a restore and a save may read different chunks at the same time. A version 1
 * file (one checksum at its end) is read whole when opened and handed out from memory.
 */
export class CheckpointFile {
  readonly version: number
  readonly savedAt: number
  readonly cookieSecret: Uint8Array
  /** Entries in the file. */
  readonly entries: number
  readonly #fh: FileHandle | null
  readonly #chunks: ChunkAt[]
  readonly #v1: CheckpointEntry[]
  #closed = false

  private constructor(
    header: { version: number; savedAt: number; cookieSecret: Uint8Array },
    fh: FileHandle | null,
    chunks: ChunkAt[],
    v1: CheckpointEntry[],
  ) {
    this.version = header.version
    this.savedAt = header.savedAt
    this.cookieSecret = header.cookieSecret
    this.#fh = fh
    this.#chunks = chunks
    this.#v1 = v1
    this.entries = fh === null ? v1.length : chunks.reduce((n, c) => n + c.count, 0)
  }

  /**
   * Open and check `path`. Throws CHECKPOINT_CORRUPT or CHECKPOINT_VERSION for a file that is
   * not a checkpoint this build can read, and the file system's error (ENOENT...) as is.
   */
  static async open(path: string): Promise<CheckpointFile> {
    const fh = await open(path, 'r')
    try {
      const size = (await fh.stat()).size
      const head = await readAt(fh, 0, Math.min(size, HEADER_BYTES))
      const version = checkpointVersion(head)
      if (version === 1) {
        const c = decodeCheckpointV1(await readAt(fh, 0, size))
        await fh.close()
        return new CheckpointFile({ version, ...c }, null, [], c.entries)
      }
      const header = decodeHeader(head)
      const chunks = await scan(fh, size, header.digest)
      return new CheckpointFile({ version, ...header }, fh, chunks, [])
    } catch (err) {
      await fh.close().catch(() => undefined)
      throw err
    }
  }

  /** Chunks in the file. */
  get chunks(): number {
    return this.#fh === null ? Math.ceil(this.#v1.length / V1_CHUNK_ENTRIES) : this.#chunks.length
  }

  /** The entries of chunk `i`, read and checked again (CHECKPOINT_CORRUPT when changed). */
  async chunk(i: number): Promise<CheckpointEntry[]> {
    if (this.#fh === null) return this.#v1.slice(i * V1_CHUNK_ENTRIES, (i + 1) * V1_CHUNK_ENTRIES)
    const c = this.#chunks[i]
    if (c === undefined) return []
    if (this.#closed) throw corrupt('the checkpoint file was closed')
    const bytes = await readAt(this.#fh, c.at, CHUNK_HEAD_BYTES + c.length + DIGEST_BYTES)
    const body = bytes.subarray(0, CHUNK_HEAD_BYTES + c.length)
    const { count, length } = readChunkHead(body, c.at)
    const digest = chunkDigest(c.previous, body)
    if (count !== c.count || length !== c.length || !digest.equals(bytes.subarray(body.length))) {
      throw corrupt(`the chunk at byte ${c.at} changed since the file was opened`)
    }
    return decodeEntries(body.subarray(CHUNK_HEAD_BYTES), count, c.at)
  }

  /** Release the file. Idempotent; `chunk` throws afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#fh?.close()
  }
}

/** Every chunk of a version 2 file, each digest checked, up to an end marker at the file's end. */
async function scan(fh: FileHandle, size: number, first: Uint8Array): Promise<ChunkAt[]> {
  const chunks: ChunkAt[] = []
  let previous = first
  let at = HEADER_BYTES
  for (;;) {
    if (size - at < CHUNK_HEAD_BYTES + DIGEST_BYTES) {
      throw corrupt(`truncated at byte ${at}: no end marker`)
    }
    const head = await readAt(fh, at, CHUNK_HEAD_BYTES)
    const { count, length } = readChunkHead(head, at)
    if (size - at < CHUNK_HEAD_BYTES + length + DIGEST_BYTES) {
      throw corrupt(`truncated in the chunk at byte ${at}`)
    }
    const bytes = await readAt(fh, at, CHUNK_HEAD_BYTES + length + DIGEST_BYTES)
    const body = bytes.subarray(0, CHUNK_HEAD_BYTES + length)
    const digest = chunkDigest(previous, body)
    if (!digest.equals(bytes.subarray(body.length))) {
      throw corrupt(`checksum mismatch in the chunk at byte ${at}: the file is damaged`)
    }
    const next = at + bytes.byteLength
    if (count === 0) {
      if (next !== size) throw corrupt('bytes after the end marker')
      return chunks
    }
    chunks.push({ at, count, length, previous })
    previous = digest
    at = next
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got)
    if (bytesRead === 0) throw corrupt(`truncated: the file ends before byte ${position + length}`)
    got += bytesRead
  }
  return buf
}
