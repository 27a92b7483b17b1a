import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Clock } from '../../clock.js'
import type { BatchVerifier } from '../../crypto/verifier.js'
import { latin1, recordKeyLength } from '../../wire/layout.js'
import { type SignedRecord, decodeRecord } from '../../wire/record.js'
import type { CheckpointFile } from './file.js'
import type { SavedProof } from '../../table/proof.js'
import type { CheckpointEntry } from './format.js'
import {
  type DropTarget,
  type RestoreTarget,
  type RestoredEntry,
  VERIFY_BATCH,
  type VerifyResult,
  dropInvalid,
} from './restore.js'

/*
 * Restore while serving (docs/operations.md, "Warm restart"): the tracker binds first, then
 * this puts the checkpoint back a chunk at a time in slices of a quarter ms, yielding to the
 * event loop between slices. Two lanes:
 *
 *   restore  read chunk i, decode each record, put back what is live, allowed and of a served
 *            network (ClientTable#insertTrusted: a held higher seq and a remembered withdrawal
 *            win over the file, so a record replayed while the key is not restored yet loses
 *            once the restore reaches it)
 *   verify   once the restore is done, read each chunk again, decode again
 *            (a few µs beside a verification's ~100 µs, and no decoded table held in memory),
 *            check the signatures in batches through the BatchVerifier (a worker pool, or in
 *            this thread) and drop the entries whose record fails (dropInvalid)
 *
 * Stopped part way (the tracker stops), `remainder()` hands a save what was not restored yet,
 * read from the file where the restore stood, so a stop during the restore loses nothing.
 */

export interface RestoreOptions {
  /** Ms a slice of the restore runs before yielding to the event loop (default 0.25). */
  sliceMs?: number
  /** Entries a slice restores at most (default: no cap; tests make it small). */
  sliceEntries?: number
  /** Ms of the first slice, run before the tracker's start resolves (default 20). */
  firstSliceMs?: number
  /** Records per verification batch (default VERIFY_BATCH). */
  verifyBatch?: number
  /** Batches handed to the verifier before waiting for one to come back (default 4). */
  verifyInFlight?: number
  /** Awaited between two slices (tests hold the restore window open here). */
  between?: () => Promise<void>
}

/** What the restore needs of the table (ClientTable implements it). */
export interface RestoreTable extends RestoreTarget, DropTarget {
  peek(
    key: string,
  ): { readonly rec: string; readonly key: string; readonly seq: number } | undefined
  isReplay(signed: SignedRecord): boolean
}

export interface RestoreDeps {
  file: CheckpointFile
  table: RestoreTable
  /** null: no verification (checkpoint.verify false). */
  verifier: BatchVerifier | null
  /** False for an entry the deny list refuses. */
  allowed: (e: RestoredEntry) => boolean
  /** The networks served ([] = all). */
  networks: readonly string[]
  clock: Clock
  /** The record decoder (decodeRecord; tests count its calls). */
  decode?: (bytes: Uint8Array) => SignedRecord
  /**
   * Seconds a saved proof of address is put back for at most (the longest re-check interval of
   * a proven server); 0 or absent: restored entries start unproven.
   */
  proofMaxAge?: number
}

export interface RestoreProgress {
  /** Entries in the checkpoint. */
  total: number
  /** Entries the restore has looked at. */
  read: number
  restored: number
  expired: number
  /** Records that no longer decode. */
  undecodable: number
  denied: number
  /** Another network, no port, or refused by the table (a held newer seq, a full block). */
  refused: number
  /** Signatures checked, failed, and entries dropped for it. */
  verified: number
  failed: number
  dropped: number
  /** Ms from the first slice to the restore's end (0 while restoring). */
  ms: number
}

/** Entries restored between two looks at the clock (a few µs each). */
const CHECK_EVERY = 4

export class Restore {
  readonly progress: RestoreProgress
  readonly #d: RestoreDeps
  readonly #decode: (bytes: Uint8Array) => SignedRecord
  readonly #o: Required<Omit<RestoreOptions, 'between'>> & {
    between: (() => Promise<void>) | undefined
  }
  /** The cursor: chunk #ci, entry #ei of it; #current holds chunk #ci once read. */
  #ci = 0
  #ei = 0
  #current: CheckpointEntry[] | null = null
  #stopping = false
  #stopSignal = (): void => undefined
  readonly #stopped = new Promise<void>(resolve => {
    this.#stopSignal = resolve
  })
  #finished = false
  #failure: unknown = null
  #readers = 0
  #lanes = 0
  #wake: (() => void) | null = null
  #started = 0
  #done: Promise<RestoreProgress> = Promise.resolve(this.progressOf())
  #verified: Promise<VerifyResult | null> = Promise.resolve(null)

  constructor(deps: RestoreDeps, options: RestoreOptions = {}) {
    this.#d = deps
    this.#decode = deps.decode ?? decodeRecord
    this.#o = {
      sliceMs: options.sliceMs ?? 0.25,
      sliceEntries: options.sliceEntries ?? Infinity,
      firstSliceMs: options.firstSliceMs ?? 20,
      verifyBatch: Math.max(1, options.verifyBatch ?? VERIFY_BATCH),
      verifyInFlight: Math.max(1, options.verifyInFlight ?? 4),
      between: options.between,
    }
    const z = { read: 0, restored: 0, expired: 0, undecodable: 0, denied: 0, refused: 0 }
    this.progress = { total: deps.file.entries, ...z, verified: 0, failed: 0, dropped: 0, ms: 0 }
  }

  /** True until every entry has been looked at (or the restore stopped). */
  get restoring(): boolean {
    return !this.#finished
  }

  /** Resolves when the restore lane ends; rejects with what stopped it when a read failed. */
  get done(): Promise<RestoreProgress> {
    return this.#done
  }

  /** Resolves when the verification lane ends (null: no verifier). */
  get verified(): Promise<VerifyResult | null> {
    return this.#verified
  }

  /** Run the first slice, then the rest in the background (`done`, `verified`). */
  async start(): Promise<void> {
    this.#started = performance.now()
    this.#lanes = 1
    let firstDone = (): void => undefined
    const first = new Promise<void>(resolve => {
      firstDone = resolve
    })
    this.#done = (async () => {
      try {
        await this.#step(this.#o.firstSliceMs)
        firstDone()
        while (!this.#finished) {
          await yieldToLoop()
          if (this.#o.between !== undefined) await Promise.race([this.#o.between(), this.#stopped])
          if (this.#stopping) break
          await this.#step(this.#o.sliceMs)
        }
      } catch (err) {
        this.#failure = err
        throw err
      } finally {
        firstDone()
        this.#finished = true
        this.progress.ms = performance.now() - this.#started
        this.#notify()
        this.#laneEnded()
      }
      return this.progressOf()
    })()
    // A failed read is reported through `done` (the runtime logs it), never unhandled.
    this.#done.catch(() => undefined)
    if (this.#d.verifier !== null) {
      this.#lanes++
      this.#verified = this.#verifyLane(this.#d.verifier).finally(() => {
        this.#laneEnded()
      })
    }
    await first
  }

  /** Stop at the next slice; resolves when both lanes have stopped (the cursor stands still). */
  async stop(): Promise<void> {
    this.#stopping = true
    this.#stopSignal()
    this.#notify()
    await this.#done.catch(() => undefined)
    await this.#verified.catch(() => undefined)
  }

  /**
   * What was not restored yet, from where the restore stands now (taken at once, read later), as
   * the file holds it less what the table says it would refuse: expired, withdrawn (a replay it
   * remembers) or held at a higher seq. Empty when the restore read it all, or failed.
   */
  remainder(): AsyncIterable<CheckpointEntry> {
    const from = { ci: this.#ci, ei: this.#ei, current: this.#current }
    const file = this.#d.file
    if (this.#failure !== null || from.ci >= file.chunks) return (async function* () {})()
    this.#readers++
    return this.#rest(from.ci, from.ei, from.current)
  }

  async *#rest(
    ci: number,
    ei: number,
    current: CheckpointEntry[] | null,
  ): AsyncGenerator<CheckpointEntry> {
    const file = this.#d.file
    try {
      for (let i = ci; i < file.chunks; i++) {
        const chunk = i === ci && current !== null ? current : await file.chunk(i)
        const nowSeconds = this.#d.clock.now() / 1000
        for (let j = i === ci ? ei : 0; j < chunk.length; j++) {
          const e = chunk[j]
          if (e !== undefined && this.#worthKeeping(e, nowSeconds)) yield e
        }
      }
    } finally {
      this.#readers--
      this.#closeWhenIdle()
    }
  }

  /** Close the file now (the tracker is closing). */
  async close(): Promise<void> {
    await this.#d.file.close()
  }

  progressOf(): RestoreProgress {
    return { ...this.progress }
  }

  #worthKeeping(e: CheckpointEntry, nowSeconds: number): boolean {
    let signed: SignedRecord
    try {
      signed = this.#decode(e.record)
    } catch {
      return false
    }
    if (signed.record.expiresAt <= nowSeconds) return false
    const keyLen = recordKeyLength(signed.bytes)
    const held = keyLen < 0 ? undefined : this.#d.table.peek(latin1(e.record.subarray(0, keyLen)))
    // Held at the same seq: restored since the save began (not in its table), so kept.
    if (held !== undefined) return held.seq <= signed.record.seq
    return !this.#d.table.isReplay(signed)
  }

  /** One slice: read chunk #ci if needed, restore entries until the budget is spent. */
  async #step(budgetMs: number): Promise<void> {
    const file = this.#d.file
    if (this.#ci >= file.chunks) {
      this.#finished = true
      return
    }
    let t0 = performance.now()
    if (this.#current === null) {
      this.#current = await file.chunk(this.#ci)
      // Reading and parsing a chunk (a fraction of a ms) is a slice of its own when the budget is
      // a short one: the entries are restored from the next slice on.
      if (budgetMs < this.#o.firstSliceMs) return
      t0 = performance.now()
    }
    const chunk = this.#current
    const now = this.#d.clock.now()
    let n = 0
    while (this.#ei < chunk.length) {
      const e = chunk[this.#ei++]
      if (e !== undefined) this.#restoreOne(e, now)
      n++
      if (n >= this.#o.sliceEntries) break
      if (n % CHECK_EVERY === 0 && performance.now() - t0 >= budgetMs) break
    }
    if (this.#ei >= chunk.length) {
      this.#ci++
      this.#ei = 0
      this.#current = null
      this.#notify()
      if (this.#ci >= file.chunks) this.#finished = true
    }
  }

  #restoreOne(e: CheckpointEntry, now: number): void {
    const p = this.progress
    p.read++
    const r = this.#restorable(e, now / 1000)
    if (r === null) return
    const rec = r.signed.record
    const networks = this.#d.networks
    if ((networks.length > 0 && !networks.includes(rec.network)) || e.observed.port === 0) {
      p.refused++
    } else if (
      this.#d.table.insertTrusted(r.signed, e.observed, Math.min(e.lastSeen, now), this.#proof(e))
    ) {
      p.restored++
    } else p.refused++
  }

  #proof(e: CheckpointEntry): SavedProof | undefined {
    const maxAge = this.#d.proofMaxAge ?? 0
    if (maxAge <= 0 || e.proven === undefined || e.provenAt === undefined) return undefined
    return { mask: e.proven, at: e.provenAt, maxAge }
  }

  /** The decoded entry when it is live and allowed (counted when not, unless `quiet`). */
  #restorable(e: CheckpointEntry, nowSeconds: number, quiet = false): RestoredEntry | null {
    const p = this.progress
    let signed: SignedRecord
    try {
      signed = this.#decode(e.record)
    } catch {
      if (!quiet) p.undecodable++
      return null
    }
    if (signed.record.expiresAt <= nowSeconds) {
      if (!quiet) p.expired++
      return null
    }
    const r = { ...e, signed, publicKey: signed.record.publicKey }
    if (!this.#d.allowed(r)) {
      if (!quiet) p.denied++
      return null
    }
    return r
  }

  /** Check the signatures of chunk i once the restore is past it, in batches. */
  async #verifyLane(verifier: BatchVerifier): Promise<VerifyResult> {
    const started = performance.now()
    const invalid: RestoredEntry[] = []
    const inFlight = new Set<Promise<void>>()
    const p = this.progress
    let failure: { err: unknown } | undefined
    const submit = async (batch: RestoredEntry[]): Promise<void> => {
      while (inFlight.size >= this.#o.verifyInFlight) await Promise.race(inFlight)
      const job = verifier.verifyBatch(batch.map(e => e.signed)).then(ok => {
        batch.forEach((e, j) => {
          p.verified++
          if (ok[j] === true) return
          p.failed++
          invalid.push(e)
          p.dropped += dropInvalid(this.#d.table, [e])
        })
      })
      // A rejection (the verifier was closed) is kept and rethrown below, never unhandled.
      const tracked: Promise<void> = job
        .catch((err: unknown) => {
          failure ??= { err }
        })
        .finally(() => inFlight.delete(tracked))
      inFlight.add(tracked)
      await yieldToLoop()
    }
    const file = this.#d.file
    try {
      // After the restore: until then the main thread's time goes to putting entries back
      // (an in-thread verifier would halve it), and a record is verified once it is held.
      while (!this.#finished) await this.#progressed()
      for (let i = 0; i < file.chunks && !this.#halted(); i++) {
        if (this.#ci <= i || this.#halted()) break
        this.#readers++
        let chunk: CheckpointEntry[]
        try {
          chunk = await file.chunk(i)
        } finally {
          this.#readers--
        }
        let batch: RestoredEntry[] = []
        for (const e of chunk) {
          if (this.#halted()) break
          const r = this.#restorable(e, this.#d.clock.now() / 1000, true)
          if (r === null) continue
          const rec = r.signed.record
          if (this.#d.networks.length > 0 && !this.#d.networks.includes(rec.network)) continue
          batch.push(r)
          if (batch.length >= this.#o.verifyBatch) {
            await submit(batch)
            batch = []
          }
        }
        if (batch.length > 0 && !this.#halted()) await submit(batch)
      }
    } finally {
      await Promise.allSettled(inFlight)
    }
    if (failure !== undefined) throw failure.err
    const ms = performance.now() - started
    return { checked: p.verified, invalid, ms, aborted: this.#stopping }
  }

  /** Asked to stop (a method: the flag changes across awaits). */
  #halted(): boolean {
    return this.#stopping
  }

  #progressed(): Promise<void> {
    return new Promise(resolve => {
      this.#wake = resolve
    })
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }

  #laneEnded(): void {
    this.#lanes--
    this.#closeWhenIdle()
  }

  #closeWhenIdle(): void {
    if (this.#lanes === 0 && this.#readers === 0 && this.#ci >= this.#d.file.chunks) {
      this.#d.file.close().catch(() => undefined)
    }
  }
}
