import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { type Clock, systemClock } from '../../clock.js'
import { verifyRecord } from '../../crypto/record-sign.js'
import type { BatchVerifier } from '../../crypto/verifier.js'
import type { TrackerError } from '../../errors.js'
import type { Endpoint } from '../../wire/endpoint.js'
import { latin1, recordKeyLength } from '../../wire/layout.js'
import { type SignedRecord, decodeRecord } from '../../wire/record.js'
import type { SavedProof } from '../../table/proof.js'
import type { CheckpointEntry } from './format.js'
import { readCheckpoint } from './store.js'

/*
 * Warm restart, in one path that decodes each record once:
 *
 *   loadCheckpoint   read the file, decode every record once, drop the undecodable and expired
 *                    (and, when asked, those whose signature fails)
 *   (caller)         drop the entries the deny list refuses (entryDenied reads `publicKey`)
 *   restoreEntries   drop other networks and unusable endpoints, put the rest in the table as
 *                    already decoded, trusted records (ClientTable#insertTrusted)
 *   verifyEntries    after binding, check the signatures of the kept decoded records in slices
 *   dropInvalid      take out of the table the entries whose record failed
 */

/** A checkpointed entry whose record has been decoded (once, by `loadCheckpoint`). */
export interface RestoredEntry extends CheckpointEntry {
  readonly signed: SignedRecord
  /** The record's public key (the deny list reads it here instead of decoding again). */
  readonly publicKey: Uint8Array
}

export interface LoadedCheckpoint {
  /** ms since the epoch. */
  savedAt: number
  cookieSecret: Uint8Array
  entries: RestoredEntry[]
}

export type LoadResult =
  | { status: 'none' }
  | {
      status: 'loaded'
      checkpoint: LoadedCheckpoint
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
  /** The record decoder (decodeRecord; tests count its calls). */
  decode?: (bytes: Uint8Array) => SignedRecord
}

/**
 * Load the checkpoint from `dir` (store.ts: a corrupt file is set aside, `status: 'corrupt'`),
 * decoding each record once and dropping expired records and any that fail to decode or verify.
 */
export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<LoadResult> {
  const clock = options.clock ?? systemClock
  const decode = options.decode ?? decodeRecord
  const read = await readCheckpoint(dir, clock.now())
  if (read.status !== 'read') return read
  const { savedAt, cookieSecret, entries } = read.checkpoint
  const started = performance.now()
  const nowSeconds = clock.now() / 1000
  const kept: RestoredEntry[] = []
  let expired = 0
  let invalid = 0
  const verify = options.verify ?? true
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]
    if (e === undefined) continue
    // Keep signals and timers alive through a long load.
    if (i % 4096 === 4095) await yieldToLoop()
    let signed: SignedRecord
    try {
      signed = decode(e.record)
    } catch {
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
    kept.push({ ...e, signed, publicKey: signed.record.publicKey })
  }
  return {
    status: 'loaded',
    checkpoint: { savedAt, cookieSecret, entries: kept },
    expired,
    invalid,
    verifyMs: performance.now() - started,
  }
}

/** What restoring needs of the table (ClientTable implements it). */
export interface RestoreTarget {
  insertTrusted(
    signed: SignedRecord,
    observed: Endpoint,
    seenMs: number,
    proof?: SavedProof,
  ): boolean
}

/**
 * Put decoded entries back into the table (a trusted local file: signatures are checked later,
 * by `verifyEntries`). Entries of another network (when `networks` is not empty), expired at
 * `now` (ms), or with no port to answer are skipped; the table refuses what its own rules
 * refuse (a held newer seq, a full block). Returns the number restored.
 */
export function restoreEntries(
  table: RestoreTarget,
  entries: Iterable<RestoredEntry>,
  now: number,
  networks: readonly string[] = [],
): number {
  const nowSeconds = Math.floor(now / 1000)
  let n = 0
  for (const e of entries) {
    const rec = e.signed.record
    if (networks.length > 0 && !networks.includes(rec.network)) continue
    if (rec.expiresAt <= nowSeconds || e.observed.port === 0) continue
    if (table.insertTrusted(e.signed, e.observed, Math.min(e.lastSeen, now))) n++
  }
  return n
}

export interface VerifyResult {
  checked: number
  /** Entries whose signature fails. */
  invalid: RestoredEntry[]
  ms: number
  /** True when the signal stopped it before the end. */
  aborted: boolean
}

/**
 * Verify the decoded records of restored entries in batches through `verifier` (a worker pool,
 * or `inlineVerifier` in this thread), yielding to the event loop between batches so a running
 * tracker keeps serving while it checks what it restored.
 */
export async function verifyEntries(
  entries: readonly RestoredEntry[],
  verifier: BatchVerifier,
  options: { signal?: AbortSignal; batch?: number } = {},
): Promise<VerifyResult> {
  const started = performance.now()
  const size = Math.max(1, options.batch ?? VERIFY_BATCH)
  const invalid: RestoredEntry[] = []
  let checked = 0
  for (let i = 0; i < entries.length; i += size) {
    if (i > 0) {
      await yieldToLoop()
      if (options.signal?.aborted === true) {
        return { checked, invalid, ms: performance.now() - started, aborted: true }
      }
    }
    const batch = entries.slice(i, i + size)
    const ok = await verifier.verifyBatch(batch.map(e => e.signed))
    batch.forEach((e, j) => {
      if (ok[j] !== true) invalid.push(e)
    })
    checked += batch.length
  }
  return { checked, invalid, ms: performance.now() - started, aborted: false }
}

/**
 * Records per verification batch: a few ms of Ed25519 in one thread (what an in-thread verifier
 * stalls the event loop for), many times a worker's per-message cost.
 */
export const VERIFY_BATCH = 32

/** What dropping needs of the table (ClientTable implements it). */
export interface DropTarget {
  peek(key: string): { readonly rec: string; readonly key: string } | undefined
  delete(key: string): boolean
}

/**
 * Delete the held entries that still carry one of these records (an entry replaced since by a
 * newer seq stays). Returns the number deleted.
 */
export function dropInvalid(table: DropTarget, invalid: readonly RestoredEntry[]): number {
  let dropped = 0
  for (const e of invalid) {
    const keyLen = recordKeyLength(e.record)
    if (keyLen < 0) continue
    const held = table.peek(latin1(e.record.subarray(0, keyLen)))
    if (held !== undefined && held.rec === latin1(e.record) && table.delete(held.key)) dropped++
  }
  return dropped
}
