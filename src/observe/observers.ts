import { type Logger, silentLogger } from '../log.js'
import type { FloodGate } from '../throttle/types.js'
import { HttpApi, type HttpApiOptions } from './http-api.js'
import { HttpListener, type HttpListenerOptions } from './http-listener.js'
import { ListingListener, type ListingListenerOptions } from './listing-listener.js'
import type { ListingSpec } from './listing-render.js'
import { type TrackerMetrics, createMetrics } from './metrics.js'
import { RateWindow } from './rates.js'
import type { TrackerView } from './view.js'

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
}

export class Observers {
  readonly metrics: TrackerMetrics
  readonly #http: HttpListener | null
  readonly #listing: ListingListener | null
  readonly #timer: NodeJS.Timeout
  #closing: Promise<void> | null = null

  private constructor(
    metrics: TrackerMetrics,
    http: HttpListener | null,
    listing: ListingListener | null,
    timer: NodeJS.Timeout,
  ) {
    this.metrics = metrics
    this.#http = http
    this.#listing = listing
    this.#timer = timer
  }

  static async start(
    view: TrackerView,
    options: ObserveOptions,
    deps: ObserveDeps = {},
  ): Promise<Observers> {
    const logger = deps.logger ?? silentLogger
    const step = options.rateStepMs ?? 5_000
    const rates = new RateWindow(options.rateWindowMs ?? 60_000, step)
    rates.record(view.clock.now(), view.stats())
    const timer = setInterval(() => {
      rates.record(view.clock.now(), view.stats())
    }, step)
    timer.unref()
    const metrics = createMetrics(view, options.version)
    let http: HttpListener | null = null
    let listing: ListingListener | null = null
    try {
      if (options.http !== null) {
        const api = new HttpApi(view, rates, metrics, {
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
      await http?.close()
      throw err
    }
    return new Observers(metrics, http, listing, timer)
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
      await Promise.all([this.#http?.close(), this.#listing?.close()])
    })()
    return this.#closing
  }
}
