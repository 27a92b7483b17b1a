import { type Logger, silentLogger } from '../log.js'
import type { FloodGate } from '../throttle/types.js'
import { HttpApi, type HttpApiOptions } from './http-api.js'
import { HttpListener, type HttpListenerOptions } from './http-listener.js'
import { ListingListener, type ListingListenerOptions } from './listing-listener.js'
import type { ListingSpec } from './listing-render.js'
import { type TrackerMetrics, createMetrics } from './metrics.js'
import { ProcessHealth, type ProcessSource } from './process-health.js'
import { RateHistory, RateWindow } from './rates.js'
import { CPU_SECONDS_STAT, historyKeeps } from './status-json.js'
import type { TrackerView } from './view.js'
import { WebPages, type WebPagesOptions } from './web-pages.js'

/*
 * The observers of one tracker: the HTTP listener (status page, JSON API, metrics, health) and
 * the listing ports, composed over a TrackerView. The Daemon (or a test) starts them once its
 * own sockets are bound and closes them first on shutdown.
 */

export interface ObserveOptions {
  /** Literal addresses to bind, as the tracker's UDP/TCP listeners. */
  hosts: readonly string[]
  /** HTTP port: 0 = any free port, null = no HTTP listener. */
  http: number | null
  /** Addresses the HTTP listener binds instead of `hosts` (config `http.host`). */
  httpHosts?: readonly string[] | null
  listing: readonly ListingSpec[]
  /** Shown on the status page and in `metatracker_info`. */
  version: string
  /** Rates on the status page cover this window, sampled every `rateStepMs`. */
  rateWindowMs?: number
  rateStepMs?: number
  /** The status page's charts cover this window (default an hour), one point per step (a minute). */
  historyWindowMs?: number
  historyStepMs?: number
  /** The status page and server browser (web-pages.ts). */
  pages?: Partial<WebPagesOptions>
  httpApi?: Partial<HttpApiOptions>
  httpListener?: Partial<Omit<HttpListenerOptions, 'hosts' | 'port'>>
  listingListener?: Partial<Omit<ListingListenerOptions, 'hosts'>>
}

export interface ObserveDeps {
  logger?: Logger
  /** Per-source admission for HTTP requests and listing connections. */
  flood?: FloodGate
  /** Addresses whose status page, /healthz and /metrics requests skip `flood` (HttpListenerDeps). */
  exempt?: (address: string) => boolean
  /** Reverse proxies whose X-Forwarded-For names the HTTP client (HttpListenerDeps). */
  trustProxy?: (address: string) => boolean
  /** Where process health comes from (tests); the running process by default. */
  processSource?: ProcessSource
}

export class Observers {
  readonly metrics: TrackerMetrics
  readonly #http: HttpListener | null
  readonly #listing: ListingListener | null
  readonly #timer: NodeJS.Timeout
  readonly #health: ProcessHealth
  #closing: Promise<void> | null = null

  private constructor(
    metrics: TrackerMetrics,
    http: HttpListener | null,
    listing: ListingListener | null,
    timer: NodeJS.Timeout,
    health: ProcessHealth,
  ) {
    this.metrics = metrics
    this.#http = http
    this.#listing = listing
    this.#timer = timer
    this.#health = health
  }

  static async start(
    view: TrackerView,
    options: ObserveOptions,
    deps: ObserveDeps = {},
  ): Promise<Observers> {
    const logger = deps.logger ?? silentLogger
    const step = options.rateStepMs ?? 5_000
    const rates = new RateWindow(options.rateWindowMs ?? 60_000, step)
    const historyStep = options.historyStepMs ?? 60_000
    const hour = new RateHistory(options.historyWindowMs ?? 3_600_000, historyStep, historyKeeps)
    const health = new ProcessHealth(deps.processSource)
    const sample = (): void => {
      const now = view.clock.now()
      const stats = view.stats()
      const p = health.sample(now)
      rates.record(now, stats)
      hour.record(now, [...stats, { name: CPU_SECONDS_STAT, value: p.cpuSeconds }])
    }
    sample()
    const timer = setInterval(sample, Math.min(step, historyStep))
    timer.unref()
    const metrics = createMetrics(view, options.version)
    let http: HttpListener | null = null
    let listing: ListingListener | null = null
    try {
      if (options.http !== null) {
        const pages = new WebPages(
          { view, version: options.version, minute: rates, hour, health },
          options.pages,
        )
        const api = new HttpApi(view, pages, metrics, {
          version: options.version,
          ...options.httpApi,
        })
        http = await HttpListener.start(
          api,
          {
            hosts: options.httpHosts ?? options.hosts,
            port: options.http,
            ...options.httpListener,
          },
          {
            logger,
            metrics,
            ...(deps.flood === undefined ? {} : { flood: deps.flood }),
            ...(deps.exempt === undefined ? {} : { exempt: deps.exempt }),
            ...(deps.trustProxy === undefined ? {} : { trustProxy: deps.trustProxy }),
          },
        )
      }
      if (options.listing.length > 0) {
        listing = await ListingListener.start(
          view,
          options.listing,
          { hosts: options.hosts, ...options.listingListener },
          { logger, metrics, ...(deps.flood === undefined ? {} : { flood: deps.flood }) },
        )
      }
    } catch (err) {
      clearInterval(timer)
      health.close()
      await http?.close()
      throw err
    }
    return new Observers(metrics, http, listing, timer, health)
  }

  /** The bound HTTP port, null when HTTP is disabled. */
  get httpPort(): number | null {
    return this.#http?.port ?? null
  }

  /** Bound listing ports, in the order of `options.listing`. */
  get listingPorts(): number[] {
    return this.#listing?.ports() ?? []
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer)
      this.#health.close()
      await Promise.all([this.#http?.close(), this.#listing?.close()])
    })()
    return this.#closing
  }
}
