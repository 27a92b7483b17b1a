import { type Clock, systemClock } from '../clock.js'
import { loadOrCreateCookieSecret } from '../crypto/cookie.js'
import { type BatchVerifier, inlineVerifier } from '../crypto/verifier.js'
import { VerifyPool, autoVerifyWorkers } from '../crypto/verify-pool.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import type { ClientTable } from '../table/client-table.js'
import type { SecretRing } from '../store/secrets.js'
import type { TableStore } from '../store/types.js'
import { boundHeapGrowth } from '../table/heap.js'
import { CookieBudget } from '../throttle/flood.js'
import {
  type CookieGate,
  type Egress,
  type FloodGate,
  openFloodGate,
  unlimitedEgress,
} from '../throttle/types.js'
import { type HandlerContext, VerifyGate, deriveSampleKey } from './handlers/index.js'
import { createAddressMatcher } from './handlers/allow-list.js'
import { createMemo } from './handlers/context.js'
import { type DaemonOptions, resolveOptions } from './options.js'
import { type DenyPolicy, allowAll } from './policy.js'
import { Stats } from './stats.js'
import { addressInUse, bindOrFail, ipv6OnlyFor } from '../net/bind.js'
import { type TcpLimits, TcpListener } from './listeners/tcp.js'
import { UdpListener } from './listeners/udp.js'
import type { Endpoint } from '../wire/endpoint.js'
import { isLoopbackHost } from './challenge-scope.js'
import { createProver, createTable } from './engine.js'
import type { Prover } from './prover.js'

/** Milliseconds between two re-check scans of the listed servers (src/tracker/prover.ts). */
const RECHECK_TICK_MS = 1000

/** Tries at binding UDP and TCP on one free port when both are 0. */
const PAIR_ATTEMPTS = 8

/** Collaborators of a daemon; every one has a permissive default. */
export interface DaemonDeps {
  clock: Clock
  logger: Logger
  egress: Egress
  flood: FloodGate
  /** The global cookie-reply budget (default: from `cookieRate` and `cookieBlockRate`). */
  cookies: CookieGate
  deny: DenyPolicy
  /** A cookie secret to use instead of the one in the data directory (tests). */
  cookieSecret: Uint8Array
  /**
   * Opens a shared store with the daemon's table as its replica (docs/scale-out.md), at start;
   * closed by close(). Absent: the table alone (the embedded default).
   */
  openStore: (table: ClientTable) => Promise<TableStore & { secrets?: SecretRing }>
}

export interface ListenerAddress {
  transport: 'udp' | 'tcp'
  host: string
  port: number
  /** UDP: the receive buffer the kernel granted, bytes (0 = unknown). */
  recvBuffer?: number
}

/** Where a started daemon listens. `udp`/`tcp`: the port of the first host (null = none). */
export interface DaemonAddresses {
  udp: number | null
  tcp: number | null
  hosts: string[]
  listeners: ListenerAddress[]
}

/**
 * One tracker: the client table, stats, cookie secret, the verify pool and one UDP + one TCP
 * listener per host, over the same transport-free handlers. `new Daemon(options, deps)` builds the table (so a
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
  readonly cookies: CookieGate
  readonly deny: DenyPolicy
  /** Proof of address: challenges, replies, re-checks (docs/protocol.md §9). */
  readonly prover: Prover
  /**
   * Signature checks in batches: the worker pool (`verifyWorkers`, docs/operations.md "Verify
   * workers"), or the main thread when it is 0. Fresh announces go through it, and so may other
   * bulk work (restored records); closed by `close()`.
   */
  readonly verifier: BatchVerifier
  readonly #pool: VerifyPool | null
  #gate: VerifyGate | null = null
  #recheckTimer: NodeJS.Timeout | null = null
  #secret: Uint8Array | null
  readonly #openStore: DaemonDeps['openStore'] | null
  #store: (TableStore & { secrets?: SecretRing }) | null = null
  #ctx: HandlerContext | null = null
  #udp: UdpListener[] = []
  #tcp: TcpListener[] = []
  #started: Promise<void> | null = null
  #pausing: Promise<void> | null = null
  #closing: Promise<void> | null = null

  constructor(options: Partial<DaemonOptions> = {}, deps: Partial<DaemonDeps> = {}) {
    this.options = resolveOptions(options)
    this.clock = deps.clock ?? systemClock
    this.logger = deps.logger ?? silentLogger
    this.egress = deps.egress ?? unlimitedEgress
    this.flood = deps.flood ?? openFloodGate
    this.cookies =
      deps.cookies ??
      new CookieBudget(
        { rate: this.options.cookieRate, blockRate: this.options.cookieBlockRate },
        { clock: this.clock },
      )
    this.deny = deps.deny ?? allowAll
    this.#secret = deps.cookieSecret ?? null
    this.#openStore = deps.openStore ?? null
    if (this.#secret !== null && this.#secret.byteLength !== 32) {
      throw new TrackerError('CONFIG_BAD_OPTION', 'cookieSecret must be 32 bytes')
    }
    this.table = createTable(this.options, this.clock)
    this.prover = createProver(this.options, {
      table: this.table,
      deny: this.deny,
      clock: this.clock,
      stats: this.stats,
    })
    const workers =
      this.options.verifyWorkers === 'auto' ? autoVerifyWorkers() : this.options.verifyWorkers
    this.#pool = workers > 0 ? new VerifyPool({ workers }) : null
    this.verifier = this.#pool ?? inlineVerifier
    const pool = this.#pool
    this.stats.gauge('verify_workers', () => pool?.stats.workers ?? 0)
    this.stats.gauge('verify_queue', () => pool?.stats.queued ?? 0)
    this.stats.gauge('verify_in_flight', () => pool?.stats.inFlight ?? 0)
    this.stats.gauge('verify_batches', () => pool?.stats.batches ?? 0)
    const t = this.table
    this.stats.gauge('table_entries', () => t.size)
    this.stats.gauge('table_bytes', () => t.bytes)
    this.stats.gauge('table_blocks', () => t.blocks)
    this.stats.gauge('table_evicted', () => t.counts.evicted)
    this.stats.gauge('table_expired', () => t.counts.expired)
    this.stats.gauge('table_protected', () => t.protectedSize)
    this.stats.gauge('table_wide_block_full', () => t.counts.wideBlockFull)
    this.stats.gauge('table_replays_refused', () => t.counts.staleReplays)
    this.stats.gauge('table_replay_memory_dropped', () => t.replayMemory.counts.dropped)
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

  /**
   * What the handlers read and change (`handleRequest`'s first argument), for a transport the
   * ops floor adds around the daemon (HTTP registration, src/ops/daemon-view.ts): null before
   * `start()` and once paused, when no request may change the table.
   */
  get handlerContext(): HandlerContext | null {
    return this.#pausing === null ? this.#ctx : null
  }

  /** Load the cookie secret and bind every listener; resolves when all are bound. */
  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    // Garbage between collections within a share of the live heap: maxBytes bounds RSS.
    boundHeapGrowth()
    this.#secret ??= await loadOrCreateCookieSecret(this.options.data)
    this.#gate = this.#pool === null ? null : new VerifyGate(this.#pool)
    const store = this.#openStore === null ? null : await this.#openStore(this.table)
    this.#store = store
    const ctx: HandlerContext = {
      options: this.options,
      table: this.table,
      stats: this.stats,
      clock: this.clock,
      logger: this.logger,
      flood: this.flood,
      cookies: this.cookies,
      operators: createAddressMatcher(this.options.operatorAllow),
      deny: this.deny,
      cookieSecret: this.#secret,
      sampleKey: deriveSampleKey(this.#secret),
      memo: createMemo(),
      prover: this.prover,
      verify: this.#gate,
      store: store?.shared === true ? store : null,
    }
    const ring = store?.secrets
    if (ring !== undefined) {
      // Every front-end of a shared store issues cookies and challenge tokens with the shared
      // secret and accepts the previous one too (docs/scale-out.md §4).
      let sample: [number, Uint8Array] = [0, ctx.sampleKey]
      this.prover.useTokens(ring.challengeTokens, (e, mask, at) => {
        store?.prove?.(e, mask, at)
      })
      Object.defineProperties(ctx, {
        cookieSecret: { get: () => ring.cookieSecret },
        previousCookieSecret: { get: () => ring.previousCookieSecret },
        sampleKey: {
          get: () => {
            if (sample[0] !== ring.generation) {
              sample = [ring.generation, deriveSampleKey(ring.cookieSecret)]
            }
            return sample[1]
          },
        },
      })
    }
    this.#ctx = ctx
    const o = this.options
    const limits = {
      maxConnections: o.tcpMaxConnections,
      maxPerSource: o.tcpMaxPerSource,
      idleTimeoutMs: o.tcpIdleTimeout * 1000,
      frameTimeoutMs: o.tcpFrameTimeout * 1000,
      maxPending: o.tcpMaxPending,
      maxWriteBuffer: o.tcpMaxBuffer,
    }
    // Both on port 0: TCP takes the port UDP got, as clients assume one port for both
    // (docs/operations.md). Another socket may hold that TCP port: then try another pair.
    const pair = o.udp === 0 && o.tcp === 0
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#bind(ctx, limits, pair)
        break
      } catch (err) {
        await this.#closeListeners()
        if (!pair || attempt >= PAIR_ATTEMPTS || !addressInUse(err)) throw err
        this.logger.debug({ attempt, err: (err as Error).message }, 'port pair taken, retrying')
      }
    }
    if (this.options.challenge.rate > 0) {
      this.prover.attach((bytes, to) => this.#sendChallenge(bytes, to))
      this.#recheckTimer = setInterval(() => {
        try {
          this.prover.recheck()
        } catch (err) {
          this.stats.inc('internal_errors')
          this.logger.error({ err: (err as Error).message }, 'recheck failed')
        }
      }, RECHECK_TICK_MS)
      this.#recheckTimer.unref()
    }
    this.logger.info({ ...this.addresses() }, 'tracker listening')
  }

  /**
   * A challenge leaves from a UDP listener of the target's family: for a loopback target one on
   * loopback or a wildcard address, for any other target one not on loopback. None: not sent.
   */
  #sendChallenge(bytes: Uint8Array, to: Endpoint): boolean {
    const loop = isLoopbackHost(to.address)
    let address = to.address
    let l = this.#udp.find(u => {
      const family = u.host.includes(':') ? 6 : 4
      if (family !== to.family) return false
      const wildcard = u.host === '0.0.0.0' || u.host === '::'
      return wildcard || isLoopbackHost(u.host) === loop
    })
    // IPv4 through a dual-stack `::` socket (the only host, so not IPv6-only: src/net/bind.ts).
    if (l === undefined && to.family === 4 && !ipv6OnlyFor('::', this.options.host)) {
      l = this.#udp.find(u => u.host === '::')
      address = `::ffff:${to.address}`
    }
    if (l === undefined) return false
    try {
      return l.sendTo(bytes, to.port, address)
    } catch (err) {
      // A socket that cannot send there (closing, no route): not sent, never a failed request.
      this.logger.debug({ err: (err as Error).message, to: to.address }, 'challenge not sent')
      return false
    }
  }

  /** One UDP and one TCP listener per host, all on one port per transport. */
  async #bind(ctx: HandlerContext, limits: TcpLimits, pair: boolean): Promise<void> {
    const o = this.options
    let udpPort = o.udp
    let tcpPort = o.tcp
    for (const host of o.host) {
      const ipv6Only = ipv6OnlyFor(host, o.host)
      if (udpPort !== null) {
        const port = udpPort
        const l = await bindOrFail('udp', host, port, () =>
          UdpListener.start(host, port, ctx, this.egress, o.udpRecvBuffer, ipv6Only),
        )
        this.#udp.push(l)
        const fields = {
          event: 'udp_recv_buffer',
          host,
          requested: o.udpRecvBuffer,
          granted: l.recvBuffer,
        }
        if (l.recvBufferRefused) this.logger.warn(fields, 'udp receive buffer request refused')
        else this.logger.info(fields, 'udp receive buffer')
        // With port 0, later hosts take the port the first one got: one port to publish.
        udpPort = l.port
        if (pair) tcpPort = l.port
      }
      if (tcpPort !== null) {
        const port = tcpPort
        const l = await bindOrFail('tcp', host, port, () =>
          TcpListener.start(host, port, ctx, this.egress, limits, ipv6Only),
        )
        this.#tcp.push(l)
        tcpPort = l.port
      }
    }
  }

  addresses(): DaemonAddresses {
    const listeners: ListenerAddress[] = [
      ...this.#udp.map(l => ({
        transport: 'udp' as const,
        host: l.host,
        port: l.port,
        recvBuffer: l.recvBuffer,
      })),
      ...this.#tcp.map(l => ({ transport: 'tcp' as const, host: l.host, port: l.port })),
    ]
    return {
      udp: this.#udp[0]?.port ?? null,
      tcp: this.#tcp[0]?.port ?? null,
      hosts: [...this.options.host],
      listeners,
    }
  }

  /**
   * Stop reading, keep the state: every UDP socket stops taking datagrams (queued ones are
   * discarded unanswered) and every TCP listener stops accepting and drops its connections
   * (requests not yet answered stay unanswered). Once it resolves no handler runs again, so the
   * table, the stats and the cookie secret hold exactly what was acknowledged: the moment for a
   * last checkpoint (docs/operations.md, "Stopping"). One-way and idempotent; `close()` follows.
   */
  pause(): Promise<void> {
    this.#pausing ??= (async () => {
      await this.#started?.catch(() => undefined)
      if (this.#recheckTimer !== null) clearInterval(this.#recheckTimer)
      this.prover.attach(null)
      await this.#closeListeners()
      // Announces still on the verify pool are dropped unanswered, and none changes the table
      // after this point.
      await this.#gate?.close()
      this.logger.info({}, 'tracker paused')
    })()
    return this.#pausing
  }

  /** Idempotent: pauses (if not yet), then closes the egress budget. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.pause()
      await this.verifier.close()
      await this.#store?.close()
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
