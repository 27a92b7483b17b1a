import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { TrackerError } from '../errors.js'
import type { SignedRecord } from '../wire/record.js'
import { verifyRecord } from './record-sign.js'
import type { BatchVerifier } from './verifier.js'
import { packBatch } from './verify-pool-batch.js'
import type { BatchRequest, WorkerMessage } from './verify-pool-worker.js'

/*
 * Signature checks on every core: a pool of worker_threads, each verifying batches of records
 * with node:crypto under the strict rule (src/crypto/verify-pool-batch.ts, the same verifyBytes
 * as verifyRecord). docs/operations.md, "Verify workers", says how to size it.
 *
 * - Records wait in two bounded-or-awaited queues: `trySubmit` (announces) is refused, never
 *   queued, once `maxQueue` records wait or are in flight, so the caller answers "busy";
 *   `verifyBatch` (bulk work such as restored records) is never refused, goes after announces,
 *   and its caller bounds it by awaiting one batch before the next.
 * - A batch is one transferred ArrayBuffer; each worker holds at most PIPELINE batches, so it
 *   never idles waiting for the main thread, and everything else waits in the queues.
 * - Workers start on demand: the first when FIRST_WORKER_BACKLOG records wait in one turn (or
 *   FIRST_WORKER_AFTER were checked without one), then one more each time all are busy and
 *   records wait, up to `workers`; an idle or lightly used tracker holds no thread. Until the
 *   first is ready, records are verified on the calling thread (the same check), so nothing
 *   waits on a thread starting. `warm()` starts one at once.
 * - A worker that dies has its batches verified on the main thread and is replaced on demand;
 *   after MAX_FAILED_STARTS workers in a row die before they are ready, none is started again
 *   and every record is verified on the main thread (slower, never wrong).
 */

/** Batches a worker holds at once (one running, one waiting in its port). */
const PIPELINE = 2

/** Records waiting in one turn that start the first worker. */
const FIRST_WORKER_BACKLOG = 64

/** Records checked on the calling thread after which the first worker starts anyway. */
const FIRST_WORKER_AFTER = 1024

/** Workers in a row that die before they are ready, after which no more are started. */
const MAX_FAILED_STARTS = 3

export interface VerifyPoolOptions {
  /** Most worker threads (at least 1). */
  workers: number
  /** Records waiting or in flight before `trySubmit` refuses (default 4096). */
  maxQueue?: number
  /** Most records in one batch (default 64). */
  batchMax?: number
  /** Starts one worker (default: the worker file beside this one); tests inject failing ones. */
  spawn?: () => Worker
}

/** A verifier that can refuse work: what the tracker's announce path needs. */
export interface QueueingVerifier extends BatchVerifier {
  /** Verify one record; null when the queue is full (the caller answers busy). */
  trySubmit(record: SignedRecord): Promise<boolean> | null
  /** The `maxQueue` records `trySubmit` admits at once. */
  readonly capacity: number
}

export interface VerifyPoolStats {
  /** Workers started and ready. */
  workers: number
  /** Workers started, not ready yet. */
  starting: number
  /** Records waiting for a worker. */
  queued: number
  /** Records in a worker. */
  inFlight: number
  /** Batches sent to workers (or verified in-thread while none was ready) since start. */
  batches: number
  /** `trySubmit` calls refused because the queue was full. */
  refused: number
  /** Workers that died and were replaced. */
  restarts: number
  /** Records verified on the calling thread because no worker was ready yet. */
  inThread: number
}

/**
 * The worker count `auto` stands for: every core up to 8, none on a single core (a worker there
 * only adds hand-offs). Past about 8 workers the main thread (decoding, state checks, sockets)
 * is the limit, not the verify rate: docs/operations.md, "Verify workers".
 */
export function autoVerifyWorkers(cores = availableParallelism()): number {
  return cores < 2 ? 0 : Math.min(cores, 8)
}

interface Job {
  record: SignedRecord
  /** Counted against `capacity` (a `trySubmit`). */
  urgent: boolean
  resolve: (ok: boolean) => void
  reject: (err: Error) => void
}

interface Slot {
  worker: Worker
  ready: boolean
  /** Batch id → its jobs, in record order. */
  batches: Map<number, Job[]>
}

/** The worker entry beside this file: `.ts` when running from source (tsx), `.js` in dist. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./verify-pool-worker${ext}`, import.meta.url)
}

/**
 * A worker from source needs tsx inside it too: Node 20 hands its module hooks to no worker, so
 * a one-line bootstrap registers tsx (a dev dependency, only ever reached from source) first.
 */
function spawnWorker(): Worker {
  const url = workerUrl()
  if (!url.pathname.endsWith('.ts')) return new Worker(url)
  const api = import.meta.resolve('tsx/esm/api')
  const code =
    `import(${JSON.stringify(api)})` +
    `.then(m => { m.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(code, { eval: true })
}

class Queue {
  #items: Job[] = []
  #head = 0
  get length(): number {
    return this.#items.length - this.#head
  }
  push(job: Job): void {
    this.#items.push(job)
  }
  take(n: number): Job[] {
    const out = this.#items.slice(this.#head, this.#head + n)
    this.#head += out.length
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return out
  }
  drain(): Job[] {
    return this.take(this.length)
  }
}

export class VerifyPool implements QueueingVerifier {
  readonly capacity: number
  readonly #maxWorkers: number
  readonly #batchMax: number
  readonly #startWorker: () => Worker
  readonly #urgent = new Queue()
  readonly #bulk = new Queue()
  readonly #slots: Slot[] = []
  #urgentHeld = 0
  #inFlight = 0
  #batches = 0
  #refused = 0
  #restarts = 0
  #inThread = 0
  #failedStarts = 0
  #waitingReady: (() => void)[] = []
  #nextId = 1
  #scheduled = false
  #closed = false
  #closing: Promise<void> | null = null
  #idle: (() => void) | null = null

  constructor(options: VerifyPoolOptions) {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new RangeError('a verify pool has at least one worker')
    }
    this.#maxWorkers = options.workers
    this.capacity = Math.max(1, options.maxQueue ?? 4096)
    this.#batchMax = Math.max(1, options.batchMax ?? 64)
    this.#startWorker = options.spawn ?? spawnWorker
  }

  get stats(): VerifyPoolStats {
    return {
      workers: this.#slots.filter(s => s.ready).length,
      starting: this.#slots.filter(s => !s.ready).length,
      queued: this.#urgent.length + this.#bulk.length,
      inFlight: this.#inFlight,
      batches: this.#batches,
      refused: this.#refused,
      restarts: this.#restarts,
      inThread: this.#inThread,
    }
  }

  /**
   * Start a worker if none is, and resolve once one is ready (or none can start, or the pool
   * closes).
   */
  warm(): Promise<void> {
    if (this.#closed || this.#slots.some(s => s.ready)) return Promise.resolve()
    if (this.#slots.length === 0 && !this.#spawn()) return Promise.resolve()
    return new Promise(resolve => {
      this.#waitingReady.push(resolve)
    })
  }

  trySubmit(record: SignedRecord): Promise<boolean> | null {
    if (this.#closed) return Promise.reject(closedError())
    if (this.#urgentHeld >= this.capacity) {
      this.#refused++
      return null
    }
    this.#urgentHeld++
    return new Promise<boolean>((resolve, reject) => {
      this.#urgent.push({ record, urgent: true, resolve, reject })
      this.#schedule()
    })
  }

  verifyBatch(records: readonly SignedRecord[]): Promise<boolean[]> {
    if (this.#closed) return Promise.reject(closedError())
    const all = Promise.all(
      records.map(
        record =>
          new Promise<boolean>((resolve, reject) => {
            this.#bulk.push({ record, urgent: false, resolve, reject })
          }),
      ),
    )
    this.#schedule()
    return all
  }

  /** Refuse new work, fail what waits (VERIFY_POOL_CLOSED), finish what runs, end the threads. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      for (const resolve of this.#waitingReady.splice(0)) resolve()
      for (const job of [...this.#urgent.drain(), ...this.#bulk.drain()])
        this.#reject(job, closedError())
      if (this.#inFlight > 0) {
        await new Promise<void>(resolve => {
          this.#idle = resolve
        })
      }
      await Promise.all(this.#slots.map(s => s.worker.terminate()))
      this.#slots.length = 0
    })()
    return this.#closing
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return
    this.#scheduled = true
    // After the current turn: records arriving in one burst of datagrams share a batch.
    setImmediate(() => {
      this.#scheduled = false
      this.#pump()
    })
  }

  #queued(): number {
    return this.#urgent.length + this.#bulk.length
  }

  #take(n: number): Job[] {
    const jobs = this.#urgent.take(n)
    if (jobs.length < n) jobs.push(...this.#bulk.take(n - jobs.length))
    return jobs
  }

  #pump(): void {
    if (this.#closed) return
    const ready = this.#slots.filter(s => s.ready)
    if (ready.length === 0) {
      // The first thread starts once the work is more than a trickle: records waiting in one
      // turn, or many checked here already. A lightly used tracker never starts one.
      const busy = this.#queued() >= FIRST_WORKER_BACKLOG || this.#inThread >= FIRST_WORKER_AFTER
      if (this.#slots.length === 0 && busy) this.#spawn()
      // No thread ready: the same check on this thread, one batch per turn.
      const jobs = this.#take(this.#batchMax)
      if (jobs.length > 0) {
        this.#batches++
        this.#inThread += jobs.length
        for (const job of jobs) this.#resolve(job, verifyRecord(job.record))
      }
      if (this.#queued() > 0) this.#schedule()
      return
    }
    let free = ready.filter(s => s.batches.size < PIPELINE)
    while (this.#queued() > 0 && free.length > 0) {
      // Spread what waits over the free workers, whole batches where there is enough.
      const share = Math.ceil(this.#queued() / free.length)
      for (const slot of free) {
        const jobs = this.#take(Math.min(this.#batchMax, share))
        if (jobs.length === 0) break
        this.#post(slot, jobs)
      }
      free = ready.filter(s => s.batches.size < PIPELINE)
    }
    const starting = this.#slots.length > ready.length
    if (this.#queued() > 0 && !starting && this.#slots.length < this.#maxWorkers) this.#spawn()
  }

  #post(slot: Slot, jobs: Job[]): void {
    const id = this.#nextId++
    let buf: ArrayBuffer
    try {
      buf = packBatch(jobs.map(j => j.record))
    } catch {
      for (const job of jobs) this.#resolve(job, verifyRecord(job.record))
      return
    }
    slot.batches.set(id, jobs)
    // A thread with work keeps the process alive until its answers are in.
    if (slot.batches.size === 1) slot.worker.ref()
    this.#inFlight += jobs.length
    this.#batches++
    const request: BatchRequest = { id, buf }
    slot.worker.postMessage(request, [buf])
  }

  /** Start one more worker; false when none may start. */
  #spawn(): boolean {
    // Threads that cannot start (a broken install): every record is checked on this thread.
    if (this.#failedStarts >= MAX_FAILED_STARTS) return false
    const worker = this.#startWorker()
    const slot: Slot = { worker, ready: false, batches: new Map() }
    this.#slots.push(slot)
    // Referenced while it starts and while it holds batches; an idle one never keeps the
    // process alive.
    worker.on('message', (m: WorkerMessage) => {
      if ('ready' in m) {
        slot.ready = true
        worker.unref()
        this.#failedStarts = 0
        for (const resolve of this.#waitingReady.splice(0)) resolve()
        this.#pump()
        return
      }
      const jobs = slot.batches.get(m.id)
      if (jobs === undefined) return
      slot.batches.delete(m.id)
      if (slot.batches.size === 0) worker.unref()
      this.#settle(jobs, i => m.ok[i] === 1)
    })
    const lost = (): void => {
      const at = this.#slots.indexOf(slot)
      if (at < 0) return
      this.#slots.splice(at, 1)
      if (!this.#closed) this.#restarts++
      if (!slot.ready) this.#failedStarts++
      // Its batches are checked here: an answer is never lost with a thread.
      for (const jobs of slot.batches.values()) this.#settle(jobs, i => verifyJob(jobs[i]))
      slot.batches.clear()
      if (this.#waitingReady.length > 0 && this.#slots.length === 0 && !this.#spawn()) {
        for (const resolve of this.#waitingReady.splice(0)) resolve()
      }
      if (this.#queued() > 0) this.#schedule()
    }
    worker.on('error', lost)
    worker.on('exit', lost)
    return true
  }

  #resolve(job: Job, ok: boolean): void {
    if (job.urgent) this.#urgentHeld--
    job.resolve(ok)
  }

  #reject(job: Job, err: Error): void {
    if (job.urgent) this.#urgentHeld--
    job.reject(err)
  }

  #settle(jobs: Job[], ok: (i: number) => boolean): void {
    this.#inFlight -= jobs.length
    jobs.forEach((job, i) => {
      this.#resolve(job, ok(i))
    })
    if (this.#inFlight === 0 && this.#idle !== null) this.#idle()
    this.#pump()
  }
}

function verifyJob(job: Job | undefined): boolean {
  return job !== undefined && verifyRecord(job.record)
}

function closedError(): TrackerError {
  return new TrackerError('VERIFY_POOL_CLOSED', 'the verify pool is closed')
}
