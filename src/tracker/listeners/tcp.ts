import { type Server, type Socket, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Egress } from '../../throttle/types.js'
import type { HandlerContext } from '../handlers/index.js'
import { type Source, sourceFrom } from '../handlers/context.js'
import { Connection, type TcpLimits, resetSocket } from './tcp-connection.js'

export type { TcpLimits } from './tcp-connection.js'

/** An idle connection younger than this (since its last byte) is not evicted for a newcomer. */
const IDLE_GRACE_MS = 1000

/**
 * The most connections one source may hold: `maxPerSource`, and never more than a quarter of
 * `maxConnections` (at least 1), so that one address or /64 always leaves room for others.
 */
export function perSourceCap(limits: Pick<TcpLimits, 'maxConnections' | 'maxPerSource'>): number {
  return Math.max(1, Math.min(limits.maxPerSource, Math.floor(limits.maxConnections / 4)))
}

/**
 * What connection caps count as one source: an IPv4 address (IPv4-mapped IPv6 included, as
 * sourceFrom normalises it), or an IPv6 /64 — the smallest block one subscriber usually gets.
 */
export function sourceKey(src: Pick<Source, 'family' | 'address' | 'ip16'>): string {
  if (src.family === 4) return src.address
  let key = ''
  for (let i = 0; i < 8; i++) key += (src.ip16[i] ?? 0).toString(16).padStart(2, '0')
  return `${key}/64`
}

/**
 * One TCP listener: length-prefixed frames (§10) of at most MAX_REQUEST bytes, each answered in
 * order through the egress budget (`wait`: delayed, not dropped; a refusal closes the
 * connection). A framing violation closes the connection. Memory per connection is bounded: one
 * chunk of decoded frames, `maxPending` replies and about `maxWriteBuffer` bytes of replies
 * (plus the one that crossed it), then reading pauses.
 *
 * Against connection exhaustion (slowloris), docs/protocol.md §10 and docs/operations.md:
 * - one source (IPv4 address, IPv6 /64) holds at most perSourceCap connections;
 * - a frame must be complete within `frameTimeoutMs` of its first byte, whatever the pace of
 *   its bytes; silence longer than `idleTimeoutMs` closes the connection;
 * - at `maxConnections`, a newcomer evicts (pickVictim) a connection whose frame is past half
 *   its deadline, else an idle one of a source holding more than the newcomer's, else the
 *   oldest connection of a source holding at least two more; only when none exists is the
 *   newcomer refused.
 * Refusals, evictions and frame timeouts reset the connection (RST) and are counted.
 */
export class TcpListener {
  readonly #server: Server
  readonly #ctx: HandlerContext
  readonly #egress: Egress
  readonly #limits: TcpLimits
  readonly #now: () => number
  readonly #perSourceCap: number
  /** Open connections, oldest first (insertion order). */
  readonly #connections = new Set<Connection>()
  /** Source key → connections it holds; an entry is deleted when its count reaches 0. */
  readonly #perSource = new Map<string, number>()
  #closing: Promise<void> | null = null

  private constructor(server: Server, ctx: HandlerContext, egress: Egress, limits: TcpLimits) {
    this.#server = server
    this.#ctx = ctx
    this.#egress = egress
    this.#limits = limits
    this.#now = limits.now ?? (() => performance.now())
    this.#perSourceCap = perSourceCap(limits)
    server.on('connection', socket => {
      try {
        this.#accept(socket)
      } catch (err) {
        // Never let a bug here take the listener down: count it and drop the connection.
        ctx.stats.inc('internal_errors')
        ctx.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'tcp accept failed',
        )
        socket.destroy()
      }
    })
    server.on('error', err => {
      ctx.logger.error({ err: err.message }, 'tcp listener error')
    })
  }

  static async start(
    host: string,
    port: number,
    ctx: HandlerContext,
    egress: Egress,
    limits: TcpLimits,
    ipv6Only = host.includes(':'),
  ): Promise<TcpListener> {
    const server = createServer({ allowHalfOpen: false, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(err)
      }
      server.once('error', onError)
      server.listen({ host, port, ipv6Only, exclusive: true }, () => {
        server.off('error', onError)
        resolve()
      })
    })
    return new TcpListener(server, ctx, egress, limits)
  }

  get port(): number {
    const a = this.#server.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }

  get host(): string {
    const a = this.#server.address()
    return a !== null && typeof a === 'object' ? a.address : ''
  }

  get connections(): number {
    return this.#connections.size
  }

  /** Sources holding at least one connection (bounded by maxConnections). */
  get sources(): number {
    return this.#perSource.size
  }

  #accept(socket: Socket): void {
    const stats = this.#ctx.stats
    socket.on('error', () => undefined)
    const src = sourceFrom(socket.remoteAddress, socket.remotePort, this.#ctx.memo)
    if (this.#closing !== null || src === null) {
      socket.destroy()
      return
    }
    const key = sourceKey(src)
    const held = this.#perSource.get(key) ?? 0
    if (held >= this.#perSourceCap) {
      stats.inc('tcp_refused_source')
      resetSocket(socket)
      return
    }
    if (this.#connections.size >= this.#limits.maxConnections) {
      const victim = this.#pickVictim(held)
      if (victim === null) {
        stats.inc('tcp_refused')
        resetSocket(socket)
        return
      }
      stats.inc('tcp_evicted')
      victim.close(true)
    }
    stats.inc('tcp_connections')
    const conn = new Connection(socket, src, key, this.#ctx, this.#egress, this.#limits, this.#now)
    this.#connections.add(conn)
    // Read again: the victim may have been of the same source.
    this.#perSource.set(key, (this.#perSource.get(key) ?? 0) + 1)
    conn.onRelease = () => {
      this.#connections.delete(conn)
      const n = (this.#perSource.get(key) ?? 1) - 1
      if (n <= 0) this.#perSource.delete(key)
      else this.#perSource.set(key, n)
    }
  }

  /**
   * The connection to close so that a newcomer whose source holds `held` connections gets in,
   * or null to refuse the newcomer. One pass over the open connections (at most
   * maxConnections), only when the listener is full. In order:
   * 1. the slowest frame past half its deadline (misbehaving, whoever sent it);
   * 2. an idle connection (nothing half-received or queued, silent for IDLE_GRACE_MS at least,
   *    so a newcomer's request has time to arrive) of a source holding at least as many as the
   *    newcomer will: the source holding the most first, then the longest idle;
   * 3. the oldest connection of the source holding the most, if that is at least two more than
   *    the newcomer's (the swap makes the shares more even, never less).
   */
  #pickVictim(held: number): Connection | null {
    const now = this.#now()
    const slowAfter = this.#limits.frameTimeoutMs / 2
    const grace = Math.min(IDLE_GRACE_MS, slowAfter)
    let slow: Connection | null = null
    let idle: Connection | null = null
    let idleWeight = held
    let heavy: Connection | null = null
    let heavyWeight = held + 1
    for (const c of this.#connections) {
      if (c.frameStart !== null && now - c.frameStart >= slowAfter) {
        if (slow === null || c.frameStart < (slow.frameStart ?? 0)) slow = c
        continue
      }
      const weight = this.#perSource.get(c.key) ?? 0
      if (
        c.quiet &&
        now - c.lastActive >= grace &&
        (weight > idleWeight ||
          (weight === idleWeight && idle !== null && c.lastActive < idle.lastActive))
      ) {
        idle = c
        idleWeight = weight
      }
      if (weight > heavyWeight) {
        heavy = c
        heavyWeight = weight
      }
    }
    return slow ?? idle ?? heavy
  }

  /** Idempotent: stops accepting, closes every connection. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closing = new Promise<void>(resolve => {
      this.#server.close(() => {
        resolve()
      })
      for (const c of [...this.#connections]) c.close(false)
      this.#connections.clear()
      this.#perSource.clear()
    })
    return this.#closing
  }
}
