import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { type Clock, systemClock } from '../clock.js'
import { COOKIE_SECRET_FILE, writeCookieSecret } from '../crypto/cookie.js'
import { isTrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { EgressBudget, createEgress } from '../throttle/egress.js'
import { FloodControl, createFloodGate } from '../throttle/flood.js'
import {
  type CheckpointEntry,
  Checkpointer,
  type RestoredEntry,
  type VerifyResult,
  dropInvalid,
  loadCheckpoint,
  restoreEntries,
  verifyEntries,
} from './checkpoint/index.js'
import type { TrackerConfig } from './options.js'
import { openStore } from '../store/open.js'
import { Daemon, type DaemonDeps } from '../tracker/daemon.js'
import { DenyList, entryDenied } from '../tracker/deny-list.js'
import { loadDenyList } from './deny-list.js'

export interface RuntimeDeps {
  logger?: Logger
  clock?: Clock
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
 * loaded before the Daemon binds, saved right after it binds, every `checkpoint.interval`
 * seconds and on stop. The internals of startTracker (src/ops/start.ts), which adds the
 * observers and is what the CLI and library users run; nothing here touches `process`.
 */
export class TrackerRuntime {
  readonly config: TrackerConfig
  readonly daemon: Daemon
  readonly deny: DenyList
  readonly #logger: Logger
  readonly #clock: Clock
  #checkpointer: Checkpointer | null = null
  #stopping: Promise<void> | null = null
  #restored: RestoredEntry[] = []
  readonly #attached: Closeable[] = []
  readonly #abort = new AbortController()
  #verified: Promise<VerifyResult | null> = Promise.resolve(null)

  private constructor(config: TrackerConfig, daemon: Daemon, deny: DenyList, deps: RuntimeDeps) {
    this.config = config
    this.daemon = daemon
    this.deny = deny
    this.#logger = deps.logger ?? silentLogger
    this.#clock = deps.clock ?? systemClock
  }

  /**
   * Build the tracker and restore its checkpoint, without binding anything. Throws on a bad
   * deny list (DENY_*) or an unreadable data directory; a corrupt checkpoint is logged, kept
   * aside and the tracker starts empty.
   */
  static async open(config: TrackerConfig, deps: RuntimeDeps = {}): Promise<TrackerRuntime> {
    const logger = deps.logger ?? silentLogger
    const clock = deps.clock ?? systemClock
    const deny = new DenyList(undefined, { logger, clock })
    if (config.denyList !== null) deny.replace(await loadDenyList(config.denyList))

    // Signatures are re-checked after binding (verifyRestored), not here: at tens of seconds
    // per 100,000 entries, checking first would keep a restarted tracker dark that long.
    const loaded = await loadCheckpoint(config.data, { clock, verify: false })
    let entries: RestoredEntry[] = []
    if (loaded.status === 'corrupt') {
      logger.error(
        { event: 'checkpoint_refused', code: loaded.error.code, keptAs: loaded.keptAs },
        `checkpoint refused (${loaded.error.message}); kept as ${loaded.keptAs}, starting empty`,
      )
    } else if (loaded.status === 'loaded') {
      entries = loaded.checkpoint.entries
      // The cookie secret file is the source of truth; the checkpoint's copy restores it when
      // the file is gone, so cookies issued before the restart stay valid.
      const secretFile = join(config.data, COOKIE_SECRET_FILE)
      if (!(await exists(secretFile))) {
        await writeCookieSecret(secretFile, loaded.checkpoint.cookieSecret)
      }
      logger.info(
        {
          event: 'checkpoint_loaded',
          entries: entries.length,
          expired: loaded.expired,
          invalid: loaded.invalid,
          savedAt: new Date(loaded.checkpoint.savedAt).toISOString(),
        },
        'checkpoint loaded',
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
    const quiet = deny.quiet
    const allowed = entries.filter(e => !entryDenied(quiet, e))
    const restored = restoreEntries(daemon.table, allowed, clock.now(), config.networks)
    if (entries.length > 0) {
      logger.info(
        { event: 'restored', restored, denied: entries.length - allowed.length },
        'entries restored',
      )
    }
    const runtime = new TrackerRuntime(config, daemon, deny, deps)
    runtime.#restored = allowed
    runtime.#registerStats()
    return runtime
  }

  /** Bind every listener, then save a first checkpoint and start the periodic ones. */
  async start(): Promise<void> {
    await this.daemon.start()
    const cp = new Checkpointer(
      { dir: this.config.data, intervalSeconds: this.config.checkpoint.interval },
      { logger: this.#logger, clock: this.#clock, snapshot: () => this.snapshot() },
    )
    this.#checkpointer = cp
    try {
      await cp.save('start')
    } catch (err) {
      await this.daemon.close()
      throw err
    }
    cp.start()
    if (this.config.checkpoint.verify && this.#restored.length > 0) {
      this.#verified = this.#verifyRestored(this.#restored).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err)
        this.#logger.error({ event: 'checkpoint_verify_failed' }, message)
        return null
      })
    }
    this.#restored = []
  }

  /** Resolves when the background check of restored records is done (null: none ran). */
  get verified(): Promise<VerifyResult | null> {
    return this.#verified
  }

  // Cheap insurance: the checkpoint is our own checksummed file, but a record that no longer
  // verifies must not be served. Runs in slices while the tracker serves.
  async #verifyRestored(entries: RestoredEntry[]): Promise<VerifyResult> {
    const result = await verifyEntries(entries, { signal: this.#abort.signal })
    const dropped = dropInvalid(this.daemon.table, result.invalid)
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
    return result
  }

  /** What a checkpoint holds now: every live entry and the cookie secret. */
  snapshot(): { savedAt: number; cookieSecret: Uint8Array; entries: CheckpointEntry[] } {
    return {
      savedAt: this.#clock.now(),
      cookieSecret: this.daemon.cookieSecret,
      entries: [...this.daemon.table.entries()],
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
      await this.#verified.catch(() => null)
      try {
        await this.#checkpointer?.stop()
      } finally {
        await this.daemon.close()
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

async function exists(path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch {
    return false
  }
}
