import type { Clock } from '../../clock.js'
import { isTrackerError } from '../../errors.js'
import { type Logger, silentLogger } from '../../log.js'
import { type CheckpointSnapshot, writeCheckpointStream } from './store.js'

export interface CheckpointerOptions {
  dir: string
  /** Seconds between periodic checkpoints; 0 = only when asked (e.g. on stop). */
  intervalSeconds: number
}

export interface CheckpointerDeps {
  /**
   * What to save: the table's entries and the cookie secret, taken when a save starts (the
   * save then encodes and writes it a chunk at a time: store.ts).
   */
  snapshot: () => CheckpointSnapshot
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
  readonly #snapshot: () => CheckpointSnapshot
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
      // The one step of a save taken at once: the entry references (held.ts); the rest is sliced.
      const snapshotMs = Math.round(performance.now() - started)
      try {
        const { entries, bytes } = await writeCheckpointStream(this.#dir, c)
        this.counts.saved++
        const ms = Math.round(performance.now() - started)
        const fields = { event: 'checkpoint', reason, entries, bytes, ms, snapshotMs }
        this.#logger.info(fields, 'checkpoint saved')
        return { entries, bytes }
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
