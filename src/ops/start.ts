import type { z } from 'zod'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import { Observers } from '../observe/observers.js'
import type { Daemon, ListenerAddress } from '../tracker/daemon.js'
import { type AddressMatcher, createAddressMatcher } from '../tracker/handlers/allow-list.js'
import { VERSION } from '../version.js'
import type { RestoreOptions, RestoreProgress, VerifyResult } from './checkpoint/index.js'
import { type TrackerConfig, type configSchema, isCheckedConfig, parseConfig } from './config.js'
import { daemonView } from './daemon-view.js'
import { type DenyReload, TrackerRuntime } from './runtime.js'

/*
 * The one owner of a running tracker's lifecycle (docs/operations.md, "Run a tracker from
 * code"): `startTracker` starts what `metatracker serve` starts, in the same order, and the
 * handle it returns stops it in the one order that loses nothing acknowledged.
 */

/** A configuration as the JSON file holds it: the same keys, every one optional. */
export type ConfigInput = z.input<typeof configSchema>

export interface TrackerDeps {
  /** Where the tracker's log lines go (default: nowhere). */
  logger?: Logger
  clock?: Clock
  /** How the checkpoint is restored while serving (slice sizes; tests hold the window open). */
  restore?: RestoreOptions
}

/** Where a started tracker listens: the JSON line `metatracker serve` prints. */
export interface Listening {
  event: 'listening'
  /** UDP and TCP ports of the first host (null = off). */
  udp: number | null
  tcp: number | null
  /** HTTP port (null = off). */
  http: number | null
  hosts: string[]
  /** Listing ports, in the order of the `listing` option. */
  listing: number[]
  /** Every UDP and TCP listener, one per host and transport. */
  listeners: ListenerAddress[]
}

/** A running tracker. */
export interface Tracker {
  /** The checked configuration it runs with. */
  readonly config: TrackerConfig
  readonly listening: Listening
  /** The protocol engine: its table and stats (read them; the tracker owns its lifecycle). */
  readonly daemon: Daemon
  /** Resolves when the background check of restored records is done (null: none ran). */
  readonly verified: Promise<VerifyResult | null>
  /**
   * Resolves when the checkpoint is restored (null: there was none). Until then the tracker
   * serves a partial table (docs/operations.md, "Warm restart").
   */
  readonly restored: Promise<RestoreProgress | null>
  /** Is the checkpoint still being restored? */
  readonly restoring: boolean
  /** Re-read the deny list (what `serve` does on SIGHUP); a bad file keeps the old list. */
  reloadDenyList(): Promise<DenyReload>
  /** Save a checkpoint now. */
  checkpoint(reason?: string): Promise<void>
  /**
   * Stop reading (UDP, TCP, HTTP, listing ports), save the last checkpoint, then close.
   * Idempotent: every call returns the same promise.
   */
  stop(reason?: string): Promise<void>
}

/**
 * Start a tracker as `metatracker serve` does: UDP and TCP listeners, HTTP, listing ports, the
 * deny list and the checkpointer. `config` holds the keys of the configuration file (checked
 * here: a bad value throws CONFIG_BAD_OPTION or CONFIG_UNKNOWN_OPTION naming the option, before
 * anything is bound), or is what `loadConfig`/`parseConfig` returned.
 */
export async function startTracker(
  config: ConfigInput | TrackerConfig,
  deps: TrackerDeps = {},
): Promise<Tracker> {
  const checked = isCheckedConfig(config) ? config : parseConfig(config)
  // The operator's pages (status page, /healthz, /metrics) skip flood control for these.
  const operators = createAddressMatcher(checked.operatorAllow)
  // Reverse proxies whose X-Forwarded-For names the HTTP client (docs/operations.md).
  const proxies = createAddressMatcher(checked.http.trustProxy, 'http.trustProxy')
  const runtime = await TrackerRuntime.open(checked, deps)
  await runtime.start()
  const observers = await startObservers(
    runtime.daemon,
    checked,
    { operators, proxies },
    deps.logger,
  ).catch(async (err: unknown) => {
    await runtime.stop('observers failed to start')
    throw err
  })
  // runtime.stop closes them with the tracker's own listeners, before the last checkpoint.
  runtime.attach(observers)
  const a = runtime.daemon.addresses()
  const listening: Listening = {
    event: 'listening',
    udp: a.udp,
    tcp: a.tcp,
    http: observers.httpPort,
    hosts: a.hosts,
    listing: observers.listingPorts,
    listeners: a.listeners,
  }
  return {
    config: checked,
    listening,
    daemon: runtime.daemon,
    get verified() {
      return runtime.verified
    },
    get restored() {
      return runtime.restored
    },
    get restoring() {
      return runtime.restoring
    },
    reloadDenyList: () => runtime.reloadDenyList(),
    checkpoint: reason => runtime.checkpoint(reason),
    stop: reason => runtime.stop(reason),
  }
}

/**
 * The observers of a started daemon (HTTP, listing ports), on the tracker's hosts (HTTP on
 * `http.host` when set). They share the daemon's flood budget, except the operator's pages
 * (status page, /healthz, /metrics) for the `operators` addresses; HTTP registration
 * (`POST /v1/announce`) goes to the daemon's handlers; `proxies` name the HTTP client.
 */
function startObservers(
  daemon: Daemon,
  config: TrackerConfig,
  matchers: { operators: AddressMatcher; proxies: AddressMatcher },
  logger?: Logger,
): Promise<Observers> {
  const { operators, proxies } = matchers
  return Observers.start(
    daemonView(daemon, config.operator, daemon.clock.now(), { announce: true }),
    {
      hosts: config.host,
      httpHosts: config.http.host,
      http: config.http.port,
      listing: config.listing,
      version: VERSION,
    },
    {
      ...(logger === undefined ? {} : { logger }),
      flood: daemon.flood,
      exempt: address => operators.matches(address),
      trustProxy: address => proxies.matches(address),
    },
  )
}
