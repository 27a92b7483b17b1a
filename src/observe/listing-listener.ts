import { listenOn } from '../net/bind.js'
import { reuseMs, timed } from './reuse.js'
import { open } from 'node:fs/promises'
import { type Server, type Socket, createServer } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import { type FloodGate, openFloodGate } from '../throttle/types.js'
import { endpointFrom } from '../wire/endpoint.js'
import {
  type ListingSpec,
  renderInfo,
  renderJson,
  renderText,
  renderVerbose,
} from './listing-render.js'
import type { TrackerMetrics } from './metrics.js'
import { ANY_SERVER, type TrackerView, type ViewEntry, type ViewSelection } from './view.js'

/*
 * MetaServerII's human ports: connect, receive a listing, the tracker closes. Bounded: a
 * connection cap per port, one deadline per connection for the whole write, an output cap, and
 * one rendering per port per `cacheMs` however many clients connect. Input is read and
 * discarded (closing a socket with unread input would reset it and could cut the listing).
 */

export interface ListingListenerOptions {
  hosts: readonly string[]
  /** Open connections per port; more are refused (closed at once). */
  maxConnections: number
  /** A connection must have received everything within this time, ms. */
  writeTimeoutMs: number
  /** Largest output per connection, bytes. */
  maxOutputBytes: number
  /** Most servers considered for one listing (before the byte cap). */
  maxItems: number
  /** How long one rendering is reused at least, ms (longer when it was costly: reuse.ts). */
  cacheMs: number
  /** After the listing is written, how long to wait for the peer to close, ms. */
  lingerMs: number
}

export const DEFAULT_LISTING_OPTIONS: Omit<ListingListenerOptions, 'hosts'> = {
  maxConnections: 64,
  writeTimeoutMs: 10_000,
  maxOutputBytes: 1024 * 1024,
  maxItems: 20_000,
  cacheMs: 1_000,
  lingerMs: 2_000,
}

export interface ListingListenerDeps {
  logger?: Logger
  flood?: FloodGate
  metrics?: TrackerMetrics
}

/** Produces (and caches briefly) what one listing port sends. */
export class ListingSource {
  readonly #view: TrackerView
  readonly #spec: ListingSpec
  readonly #opts: Omit<ListingListenerOptions, 'hosts'>
  #cached: { at: number; validMs: number; output: Promise<Buffer> } | null = null

  constructor(view: TrackerView, spec: ListingSpec, opts: Omit<ListingListenerOptions, 'hosts'>) {
    this.#view = view
    this.#spec = spec
    this.#opts = opts
  }

  output(): Promise<Buffer> {
    const now = this.#view.clock.now()
    const c = this.#cached
    if (c !== null && now - c.at < c.validMs && now >= c.at) return c.output
    // Rendering is synchronous up to its first await (reading an info file): that is its cost.
    const { value: output, costMs } = timed(() => this.#render(now))
    this.#cached = { at: now, validMs: reuseMs(this.#opts.cacheMs, costMs), output }
    return output
  }

  async #render(now: number): Promise<Buffer> {
    const { kind, network } = this.#spec
    const max = this.#opts.maxOutputBytes
    if (kind === 'info') {
      const content = await readCapped(this.#spec.file, max)
      return Buffer.from(renderInfo(content, this.#view.operator, now, max))
    }
    const sel = serversByPlayers(this.#view, network, this.#opts.maxItems)
    const data = {
      operator: this.#view.operator,
      now,
      network,
      total: sel.total,
      entries: sel.entries,
    }
    const text =
      kind === 'text'
        ? renderText(data, max)
        : kind === 'verbose'
          ? renderVerbose(data, max)
          : renderJson(data, max)
    return Buffer.from(text)
  }
}

/**
 * Servers of one network, or of every network merged, most players first (ties by key), at most
 * `max` of them; `total` counts all that matched.
 */
export function serversByPlayers(
  view: TrackerView,
  network: string | undefined,
  max: number,
): ViewSelection {
  const one = (n: string): ViewSelection =>
    view.select({
      ...ANY_SERVER,
      network: n,
      kind: 'server',
      mode: 'list',
      count: max,
      offset: 0,
      sort: 'players',
      seed: new Uint8Array(32),
    })
  if (network !== undefined) return one(network)
  let total = 0
  let all: ViewEntry[] = []
  for (const n of view.networks('server').sort()) {
    const sel = one(n)
    total += sel.total
    all = all.concat(sel.entries)
  }
  all.sort(
    (a, b) =>
      (b.record.server?.players ?? 0) - (a.record.server?.players ?? 0) ||
      a.record.network.localeCompare(b.record.network) ||
      Buffer.compare(a.record.publicKey, b.record.publicKey),
  )
  return { total, entries: all.slice(0, max) }
}

/** The file's first `max` bytes as UTF-8, or null when it cannot be read. */
async function readCapped(path: string | undefined, max: number): Promise<string | null> {
  if (path === undefined || path === '') return null
  try {
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(max)
      const { bytesRead } = await fh.read(buf, 0, max, 0)
      return buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await fh.close()
    }
  } catch {
    return null
  }
}

export class ListingListener {
  readonly #servers: { spec: ListingSpec; servers: Server[] }[]
  readonly #sockets = new Set<Socket>()
  #closing: Promise<void> | null = null

  private constructor(servers: { spec: ListingSpec; servers: Server[] }[]) {
    this.#servers = servers
  }

  static async start(
    view: TrackerView,
    specs: readonly ListingSpec[],
    options: Pick<ListingListenerOptions, 'hosts'> & Partial<ListingListenerOptions>,
    deps: ListingListenerDeps = {},
  ): Promise<ListingListener> {
    const opts = { ...DEFAULT_LISTING_OPTIONS, ...options }
    const logger = deps.logger ?? silentLogger
    const all: { spec: ListingSpec; servers: Server[] }[] = []
    const listener = new ListingListener(all)
    try {
      for (const spec of specs) {
        const source = new ListingSource(view, spec, opts)
        const entry = { spec, servers: [] as Server[] }
        all.push(entry)
        let port = spec.port
        for (const host of opts.hosts) {
          const server = createServer({ pauseOnConnect: false }, socket => {
            listener.#accept(socket, spec, source, opts, { ...deps, logger })
          })
          server.maxConnections = opts.maxConnections
          server.on('drop', () =>
            deps.metrics?.listingConnections.inc({ kind: spec.kind, outcome: 'refused' }),
          )
          entry.servers.push(server)
          port = await listenOn(server, `listing ${spec.kind}`, host, port, opts.hosts)
        }
        logger.info({ kind: spec.kind, port, hosts: opts.hosts }, 'listing port listening')
      }
    } catch (err) {
      await listener.close()
      throw err
    }
    return listener
  }

  /** Bound ports, in the order of the specs. */
  ports(): number[] {
    return this.#servers.map(({ servers }) => {
      const addr = servers[0]?.address()
      return addr !== null && addr !== undefined && typeof addr === 'object' ? addr.port : 0
    })
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = this.#servers.flatMap(({ servers }) =>
        servers.map(
          s =>
            new Promise<void>(resolve => {
              s.close(() => {
                resolve()
              })
            }),
        ),
      )
      for (const s of this.#sockets) s.destroy()
      await Promise.all(closed)
    })()
    return this.#closing
  }

  #accept(
    socket: Socket,
    spec: ListingSpec,
    source: ListingSource,
    opts: Omit<ListingListenerOptions, 'hosts'>,
    deps: ListingListenerDeps & { logger: Logger },
  ): void {
    const count = (outcome: string): void => {
      deps.metrics?.listingConnections.inc({ kind: spec.kind, outcome })
    }
    if (this.#closing !== null) {
      socket.destroy()
      return
    }
    const remote = endpointFrom(socket.remoteAddress ?? '', socket.remotePort ?? 0)
    const flood = deps.flood ?? openFloodGate
    if (flood.check(remote?.address ?? 'unknown').action !== 'pass') {
      count('refused')
      socket.destroy()
      return
    }
    this.#sockets.add(socket)
    const deadline = setTimeout(() => {
      count('timeout')
      socket.destroy()
    }, opts.writeTimeoutMs)
    deadline.unref()
    socket.on('error', () => {
      // A peer that resets or vanishes is normal here; the socket is closed below.
    })
    socket.on('close', () => {
      clearTimeout(deadline)
      this.#sockets.delete(socket)
    })
    socket.resume() // read and discard anything sent
    source.output().then(
      buf => {
        if (socket.destroyed) return
        socket.end(buf, () => {
          count('served')
          // Everything is handed to the kernel; give the peer a moment to close first.
          setTimeout(() => socket.destroy(), opts.lingerMs).unref()
        })
      },
      (err: unknown) => {
        count('failed')
        deps.logger.error({ err: String(err), kind: spec.kind }, 'listing failed')
        socket.destroy()
      },
    )
  }
}
