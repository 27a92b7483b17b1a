import { type Clock, systemClock } from '../clock.js'
import { loadOrCreateCookieSecret } from '../crypto/cookie.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { ClientTable } from '../table/client-table.js'
import { type Egress, type FloodGate, openFloodGate, unlimitedEgress } from '../throttle/types.js'
import { type HandlerContext, deriveSampleKey } from './handlers/index.js'
import { createMemo } from './handlers/context.js'
import { type DaemonOptions, resolveOptions } from './options.js'
import { type DenyPolicy, allowAll } from './policy.js'
import { Stats } from './stats.js'
import { TcpListener } from './transport/tcp.js'
import { UdpListener } from './transport/udp.js'

/** Collaborators of a daemon; every one has a permissive default. */
export interface DaemonDeps {
  clock: Clock
  logger: Logger
  egress: Egress
  flood: FloodGate
  deny: DenyPolicy
  /** A cookie secret to use instead of the one in the data directory (tests). */
  cookieSecret: Uint8Array
}

export interface ListenerAddress {
  transport: 'udp' | 'tcp'
  host: string
  port: number
}

/** Where a started daemon listens. `udp`/`tcp`: the port of the first host (null = none). */
export interface DaemonAddresses {
  udp: number | null
  tcp: number | null
  hosts: string[]
  listeners: ListenerAddress[]
}

/**
 * One tracker: the client table, stats, cookie secret and one UDP + one TCP listener per host,
 * over the same transport-free handlers. `new Daemon(options, deps)` builds the table (so a
 * checkpoint can be restored into it); `start()` loads the cookie secret and binds; `close()`
 * is idempotent. Never touches `process`.
 */
export class Daemon {
  readonly options: DaemonOptions
  readonly table: ClientTable
  readonly stats = new Stats()
  readonly clock: Clock
  readonly logger: Logger
  readonly egress: Egress
  readonly flood: FloodGate
  readonly deny: DenyPolicy
  #secret: Uint8Array | null
  #udp: UdpListener[] = []
  #tcp: TcpListener[] = []
  #started: Promise<void> | null = null
  #closing: Promise<void> | null = null

  constructor(options: Partial<DaemonOptions> = {}, deps: Partial<DaemonDeps> = {}) {
    this.options = resolveOptions(options)
    this.clock = deps.clock ?? systemClock
    this.logger = deps.logger ?? silentLogger
    this.egress = deps.egress ?? unlimitedEgress
    this.flood = deps.flood ?? openFloodGate
    this.deny = deps.deny ?? allowAll
    this.#secret = deps.cookieSecret ?? null
    if (this.#secret !== null && this.#secret.byteLength !== 32) {
      throw new TrackerError('CONFIG_BAD_OPTION', 'cookieSecret must be 32 bytes')
    }
    this.table = new ClientTable({
      maxEntries: this.options.maxEntries,
      maxBytes: this.options.maxBytes,
      maxTtl: this.options.maxTtl,
      perBlockMax: this.options.perBlockMax,
      clock: this.clock,
    })
    const t = this.table
    this.stats.gauge('table_entries', () => t.size)
    this.stats.gauge('table_bytes', () => t.bytes)
    this.stats.gauge('table_blocks', () => t.blocks)
    this.stats.gauge('table_evicted', () => t.counts.evicted)
    this.stats.gauge('table_expired', () => t.counts.expired)
    this.stats.gauge('udp_received', () => this.#udp.reduce((n, l) => n + l.counts.received, 0))
    this.stats.gauge('udp_queue_overflow', () =>
      this.#udp.reduce((n, l) => n + l.counts.overflow, 0),
    )
    this.stats.gauge('udp_oversize', () => this.#udp.reduce((n, l) => n + l.counts.oversize, 0))
    this.stats.gauge('tcp_open', () => this.#tcp.reduce((n, l) => n + l.connections, 0))
  }

  /** Build and start a daemon in one step. */
  static async start(
    options: Partial<DaemonOptions> = {},
    deps: Partial<DaemonDeps> = {},
  ): Promise<Daemon> {
    const d = new Daemon(options, deps)
    await d.start()
    return d
  }

  /** The 32-byte cookie secret (persisted in the data directory); set once started. */
  get cookieSecret(): Uint8Array {
    if (this.#secret === null) throw new TrackerError('TRACKER_DATA_DIR', 'daemon not started')
    return this.#secret
  }

  /** Load the cookie secret and bind every listener; resolves when all are bound. */
  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    this.#secret ??= await loadOrCreateCookieSecret(this.options.dataDir)
    const ctx: HandlerContext = {
      options: this.options,
      table: this.table,
      stats: this.stats,
      clock: this.clock,
      logger: this.logger,
      flood: this.flood,
      deny: this.deny,
      cookieSecret: this.#secret,
      sampleKey: deriveSampleKey(this.#secret),
      memo: createMemo(),
    }
    const o = this.options
    const limits = {
      maxConnections: o.tcpMaxConnections,
      maxPerSource: o.tcpMaxPerSource,
      idleTimeoutMs: o.tcpIdleTimeout * 1000,
      frameTimeoutMs: o.tcpFrameTimeout * 1000,
      maxPending: o.tcpMaxPending,
      maxWriteBuffer: o.tcpMaxBuffer,
    }
    try {
      let udpPort = o.udpPort
      let tcpPort = o.tcpPort
      for (const host of o.hosts) {
        if (udpPort !== null) {
          const l = await bindOrFail('udp', host, udpPort, () =>
            UdpListener.start(host, udpPort ?? 0, ctx, this.egress),
          )
          this.#udp.push(l)
          // With port 0, later hosts take the port the first one got: one port to publish.
          udpPort = l.port
        }
        if (tcpPort !== null) {
          const l = await bindOrFail('tcp', host, tcpPort, () =>
            TcpListener.start(host, tcpPort ?? 0, ctx, this.egress, limits),
          )
          this.#tcp.push(l)
          tcpPort = l.port
        }
      }
    } catch (err) {
      await this.#closeListeners()
      throw err
    }
    this.logger.info({ ...this.addresses() }, 'tracker listening')
  }

  addresses(): DaemonAddresses {
    const listeners: ListenerAddress[] = [
      ...this.#udp.map(l => ({ transport: 'udp' as const, host: l.host, port: l.port })),
      ...this.#tcp.map(l => ({ transport: 'tcp' as const, host: l.host, port: l.port })),
    ]
    return {
      udp: this.#udp[0]?.port ?? null,
      tcp: this.#tcp[0]?.port ?? null,
      hosts: [...this.options.hosts],
      listeners,
    }
  }

  /** Idempotent: closes every listener and the egress budget. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#started?.catch(() => undefined)
      await this.#closeListeners()
      await this.egress.close()
      this.logger.info({}, 'tracker closed')
    })()
    return this.#closing
  }

  async #closeListeners(): Promise<void> {
    const all = [...this.#udp, ...this.#tcp]
    this.#udp = []
    this.#tcp = []
    await Promise.all(all.map(l => l.close()))
  }
}

async function bindOrFail<T>(
  transport: string,
  host: string,
  port: number,
  bind: () => Promise<T>,
): Promise<T> {
  try {
    return await bind()
  } catch (cause) {
    throw new TrackerError(
      'TRACKER_BIND_FAILED',
      `cannot bind ${transport} ${host.includes(':') ? `[${host}]` : host}:${port}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    )
  }
}
