import { constants as fsConstants } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { type Clock, systemClock } from '../clock.js'
import { COOKIE_SECRET_FILE, writeCookieSecret } from '../crypto/cookie.js'
import type { BatchVerifier } from '../crypto/verifier.js'
import { TrackerError, isTrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { EgressBudget, createEgress } from '../throttle/egress.js'
import { FloodControl, createFloodGate } from '../throttle/flood.js'
import {
  Checkpointer,
  type CheckpointFile,
  type CheckpointSnapshot,
  Restore,
  type RestoreOptions,
  type RestoreProgress,
  type VerifyResult,
  heldEntries,
  openCheckpoint,
} from './checkpoint/index.js'
import type { TrackerConfig } from './options.js'
import { openStore } from '../store/open.js'
import { Daemon, type DaemonDeps } from '../tracker/daemon.js'
import { DenyList, entryDenied } from '../tracker/deny-list.js'
import { loadDenyList } from './deny-list.js'

export interface RuntimeDeps {
  logger?: Logger
  clock?: Clock
  /** How the checkpoint is restored while serving (slice sizes; tests hold the window open). */
  restore?: RestoreOptions
}

/** Something the runtime closes when it stops (observers: HTTP, listing ports). */
export interface Closeable {
  close(): Promise<void>
}

export type DenyReload =
  | { ok: true; keys: number; addresses: number; dropped: number }
  | { ok: false; code: string; message: string }

/**
 * A tracker with its operations around it (docs/operations.md): flood control and the egress
 * budget from the config, the deny list (reloadable), and warm restart — the checkpoint is
 * checked before the Daemon binds, restored in slices while it serves (restorer.ts), saved every
 * `checkpoint.interval` seconds and on stop. The internals of startTracker (src/ops/start.ts),
 * which adds the observers and is what the CLI and library users run; nothing here touches
 * `process`.
 */
export class TrackerRuntime {
  readonly config: TrackerConfig
  readonly daemon: Daemon
  readonly deny: DenyList
  readonly #logger: Logger
  readonly #clock: Clock
  #checkpointer: Checkpointer | null = null
  #stopping: Promise<void> | null = null
  #restore: Restore | null = null
  readonly #attached: Closeable[] = []
  readonly #abort = new AbortController()
  #verified: Promise<VerifyResult | null> = Promise.resolve(null)
  #restored: Promise<RestoreProgress | null> = Promise.resolve(null)

  private constructor(config: TrackerConfig, daemon: Daemon, deny: DenyList, deps: RuntimeDeps) {
    this.config = config
    this.daemon = daemon
    this.deny = deny
    this.#logger = deps.logger ?? silentLogger
    this.#clock = deps.clock ?? systemClock
  }

  /**
   * Build the tracker and open its checkpoint (checked whole, nothing restored yet), without
   * binding anything. Throws on a bad deny list (DENY_*) or an unreadable data directory; a
   * corrupt checkpoint is logged, kept aside and the tracker starts empty.
   */
  static async open(config: TrackerConfig, deps: RuntimeDeps = {}): Promise<TrackerRuntime> {
    const logger = deps.logger ?? silentLogger
    const clock = deps.clock ?? systemClock
    const deny = new DenyList(undefined, { logger, clock })
    if (config.denyList !== null) deny.replace(await loadDenyList(config.denyList))

    const opened = await openCheckpoint(config.data, clock.now())
    let file: CheckpointFile | null = null
    if (opened.status === 'corrupt') {
      logger.error(
        { event: 'checkpoint_refused', code: opened.error.code, keptAs: opened.keptAs },
        `checkpoint refused (${opened.error.message}); kept as ${opened.keptAs}, starting empty`,
      )
    } else if (opened.status === 'open') {
      file = opened.file
      // The cookie secret file is the source of truth; the checkpoint's copy restores it when
      // the file is gone, so cookies issued before the restart stay valid.
      const secretFile = join(config.data, COOKIE_SECRET_FILE)
      if (!(await exists(secretFile))) await writeCookieSecret(secretFile, file.cookieSecret)
      logger.info(
        {
          event: 'checkpoint_loaded',
          entries: file.entries,
          version: file.version,
          savedAt: new Date(file.savedAt).toISOString(),
        },
        'checkpoint opened; it is restored once the listeners are bound',
      )
    }

    const daemonDeps: Partial<DaemonDeps> = {
      logger,
      clock,
      deny,
      flood: createFloodGate(config.flood, { clock, logger }),
      egress: createEgress(config.egress, { clock }),
    }
    if (config.store !== 'memory') {
      // A shared store (docs/scale-out.md): the daemon's table becomes its replica.
      daemonDeps.openStore = table =>
        openStore(config.store, {
          table,
          clock,
          logger,
          maxEntries: config.maxEntries,
          maxBytes: config.maxBytes,
          perBlock: config.perBlock,
          perWideBlock: config.perWideBlock,
          maxTtl: config.maxTtl,
          serverTtl: Math.min(config.maxTtl, config.serverGrace * config.announceInterval),
          replayMemory: config.replayMemory,
        })
    }
    const daemon = new Daemon(config, daemonDeps)
    const runtime = new TrackerRuntime(config, daemon, deny, deps)
    if (file !== null) {
      // Restored records are re-checked in the background, in batches: on the worker pool
      // when the daemon has one (docs/operations.md, "Warm restart").
      const verifier: BatchVerifier = daemon.verifier // VERIFIER SEAM: inlineVerifier before the pool
      runtime.#restore = new Restore(
        {
          file,
          table: daemon.table,
          verifier: config.checkpoint.verify ? verifier : null,
          allowed: e => !entryDenied(deny.quiet, e),
          networks: config.networks,
          clock,
          // A proof outlives no re-check of a proven server (docs/protocol.md §9).
          proofMaxAge: Math.max(config.recheck.empty, config.recheck.open, config.recheck.full),
        },
        deps.restore,
      )
    }
    runtime.#registerStats()
    return runtime
  }

  /**
   * Bind every listener, run the first slice of the restore, then save a first checkpoint
   * (unless the restore goes on: the file it reads is that checkpoint) and start the periodic
   * ones. The rest of the restore and the re-verification run in the background.
   */
  async start(): Promise<void> {
    await this.daemon.start()
    const cp = new Checkpointer(
      { dir: this.config.data, intervalSeconds: this.config.checkpoint.interval },
      { logger: this.#logger, clock: this.#clock, snapshot: () => this.snapshot() },
    )
    this.#checkpointer = cp
    const restore = this.#restore
    try {
      if (restore !== null) await this.#startRestore(restore)
      if (restore?.restoring === true) await writable(this.config.data)
      else await cp.save('start')
    } catch (err) {
      await this.#restore?.stop()
      await this.daemon.close()
      await this.#restore?.close()
      throw err
    }
    cp.start()
  }

  async #startRestore(restore: Restore): Promise<void> {
    await restore.start()
    this.#restored = restore.done.then(
      p => {
        if (p.total > 0) {
          const fields = { event: 'restored', restored: p.restored, denied: p.denied }
          const others = `expired ${p.expired}, refused ${p.refused}, undecodable ${p.undecodable}`
          this.#logger.info(fields, `entries restored in ${Math.round(p.ms)} ms (${others})`)
        }
        return p
      },
      (err: unknown) => {
        const code = isTrackerError(err) ? err.code : 'CHECKPOINT_READ_FAILED'
        const message = err instanceof Error ? err.message : String(err)
        this.#logger.error(
          { event: 'checkpoint_restore_failed', code, ...restore.progressOf() },
          `restore stopped part way (${message}); what was restored stays`,
        )
        return restore.progressOf()
      },
    )
    this.#verified = restore.verified.then(
      result => {
        if (result !== null) this.#logVerified(result, restore.progress.dropped)
        return result
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err)
        this.#logger.error({ event: 'checkpoint_verify_failed' }, message)
        return null
      },
    )
  }

  /** Resolves when the background check of restored records is done (null: none ran). */
  get verified(): Promise<VerifyResult | null> {
    return this.#verified
  }

  /** Resolves when the restore has put back what it could (null: nothing to restore). */
  get restored(): Promise<RestoreProgress | null> {
    return this.#restored
  }

  /** Is the checkpoint still being restored (the table partial)? */
  get restoring(): boolean {
    return this.#restore?.restoring ?? false
  }

  /** Where the restore stands (null: nothing to restore). */
  restoreProgress(): RestoreProgress | null {
    return this.#restore?.progressOf() ?? null
  }

  // Cheap insurance: the checkpoint is our own checked file, but a record that no longer
  // verifies must not be served.
  #logVerified(result: VerifyResult, dropped: number): void {
    const fields = {
      event: 'checkpoint_verified',
      checked: result.checked,
      invalid: result.invalid.length,
      dropped,
      ms: Math.round(result.ms),
      aborted: result.aborted,
    }
    if (result.invalid.length > 0) this.#logger.warn(fields, 'restored records failed verification')
    else this.#logger.info(fields, 'restored records verified')
  }

  /**
   * What a checkpoint holds now: every live entry and the cookie secret, then, while a restore
   * runs (or was stopped part way), the part of the old checkpoint not restored yet. The table's
   * references are taken here, at once, and each entry serialised when the writer reaches it
   * (checkpoint/held.ts says which version of an entry changed meanwhile is saved).
   */
  snapshot(): CheckpointSnapshot {
    const rest = this.#restore?.remainder()
    return {
      savedAt: this.#clock.now(),
      cookieSecret: this.daemon.cookieSecret,
      entries: heldEntries(this.daemon.table),
      ...(rest === undefined ? {} : { rest }),
    }
  }

  /** Save a checkpoint now (e.g. before an operator copies the data directory). */
  async checkpoint(reason = 'request'): Promise<void> {
    await this.#checkpointer?.save(reason)
  }

  /**
   * Re-read the deny list (SIGHUP). On success the new list replaces the old one and held
   * entries it denies are dropped; on any error the old list stays in force and the error is
   * logged with its line number.
   */
  async reloadDenyList(): Promise<DenyReload> {
    const path = this.config.denyList
    if (path === null) {
      this.#logger.info({ event: 'reload', denyList: null }, 'reload: no deny list configured')
      return { ok: true, keys: 0, addresses: 0, dropped: 0 }
    }
    try {
      const rules = await loadDenyList(path)
      this.deny.replace(rules)
      const quiet = this.deny.quiet
      const dropped = this.daemon.table.dropWhere(e => entryDenied(quiet, e))
      const result = {
        ok: true as const,
        keys: rules.keys.size,
        addresses: rules.addresses,
        dropped,
      }
      this.#logger.info({ event: 'reload', denyList: path, ...result }, 'deny list reloaded')
      return result
    } catch (err) {
      if (!isTrackerError(err)) throw err
      this.#logger.error(
        { event: 'reload_failed', denyList: path, code: err.code },
        `${err.message}; the previous deny list stays in force`,
      )
      return { ok: false, code: err.code, message: err.message }
    }
  }

  /**
   * Stop, in the one order that loses nothing acknowledged (docs/operations.md, "Stopping"):
   * stop reading (the daemon's listeners and every attached observer), then the last
   * checkpoint, then release the rest. An announce answered before the listeners stopped is in
   * the table, so in the checkpoint; one that arrives later gets no answer. Idempotent.
   */
  stop(reason = 'stop'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#logger.info({ event: 'stopping', reason }, 'stopping')
      this.#abort.abort()
      // Nothing may change the table once the final snapshot is taken: the listeners first.
      await Promise.all([
        this.daemon.pause(),
        ...this.#attached.map(o =>
          o.close().catch((err: unknown) => {
            this.#closeFailed(err)
          }),
        ),
      ])
      // The restore stands still from here: the last checkpoint writes back what it did not
      // reach yet (snapshot's remainder).
      await this.#restore?.stop()
      try {
        await this.#checkpointer?.stop()
      } finally {
        await this.daemon.close()
        await this.#restore?.close()
      }
    })()
    return this.#stopping
  }

  /**
   * Close `observer` (an HTTP or listing listener, say) when the tracker stops, together with
   * its own listeners and before the last checkpoint. Attached after `stop()` began: closed at
   * once.
   */
  attach(observer: Closeable): void {
    this.#attached.push(observer)
    if (this.#stopping === null) return
    observer.close().catch((err: unknown) => {
      this.#closeFailed(err)
    })
  }

  #closeFailed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err)
    this.#logger.error({ event: 'observer_close_failed' }, message)
  }

  // Only what the core's counters do not already say (dropped_flood, rate_limited,
  // dropped_egress, denied... are counted by the handlers): a stats reply holds 64 values.
  #registerStats(): void {
    const stats = this.daemon.stats
    const restore = this.#restore
    if (restore !== null) {
      // The restore window (docs/operations.md, "Warm restart"): 1 while the table is partial.
      stats.gauge('restoring', () => (restore.restoring ? 1 : 0))
      stats.gauge('restore_pending', () => restore.progress.total - restore.progress.read)
      stats.gauge('restore_restored', () => restore.progress.restored)
      stats.gauge('restore_verified', () => restore.progress.verified)
    }
    const flood = this.daemon.flood
    if (flood instanceof FloodControl) stats.gauge('flood_sources', () => flood.sources)
    const egress = this.daemon.egress
    if (egress instanceof EgressBudget) {
      const dropped = egress.counts.droppedPackets
      stats.gauge('egress_dropped_server', () => dropped.server)
      stats.gauge('egress_dropped_signed', () => dropped.signed)
      stats.gauge('egress_dropped_cookie', () => dropped.cookie)
      const sent = egress.counts.sentBytes
      // Reply bytes sent, all classes: the status page charts its rate (status-json.ts).
      stats.gauge('egress_bytes', () => sent.server + sent.signed + sent.cookie)
    }
  }
}

/** Throws CHECKPOINT_WRITE_FAILED when the data directory cannot be written. */
async function writable(dir: string): Promise<void> {
  try {
    await access(dir, fsConstants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new TrackerError('CHECKPOINT_WRITE_FAILED', `cannot write ${dir}: ${code}`, {
      cause: err,
    })
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
