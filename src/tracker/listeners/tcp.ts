import { type Server, type Socket, createServer } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Egress } from '../../throttle/types.js'
import { Limits } from '../../wire/constants.js'
import { FrameDecoder, encodeFrame } from '../../wire/framing.js'
import { type HandlerContext, handleRequest } from '../handlers/index.js'
import { type Source, sourceFrom } from '../handlers/context.js'

export interface TcpLimits {
  /** Connections at once; a newcomer beyond it evicts a slow or idle one, or is refused. */
  maxConnections: number
  /**
   * Connections at once from one source (an IPv4 address, an IPv6 /64); never more than a
   * quarter of maxConnections (see perSourceCap).
   */
  maxPerSource: number
  /** Milliseconds of silence before a connection is closed. */
  idleTimeoutMs: number
  /** Milliseconds a frame (header and body) may take from its first byte to its last. */
  frameTimeoutMs: number
  /** Replies in flight (waiting for egress or the socket) before reading pauses. */
  maxPending: number
  /** Bytes of replies held (waiting for egress, or in the socket's write buffer) before reading pauses. */
  maxWriteBuffer: number
  /** Monotonic milliseconds; performance.now by default (tests inject their own). */
  now?: () => number
}

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

/**
 * Close with a reset (RST): the peer learns at once that it was refused, and no state lingers.
 * A socket already shutting down (the peer's FIN seen, or our end() called) is only destroyed:
 * a reset cannot follow a shutdown (libuv refuses it, and the handle would never close).
 */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.readableEnded || socket.writableEnded || !socket.writable) {
    socket.destroy()
    return
  }
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

/** Per-connection state, kept in our own object (never added to the Socket). */
class Connection {
  readonly #decoder = new FrameDecoder(Limits.MAX_REQUEST)
  /** Frames received but not yet handled (at most one chunk's worth while paused). */
  #backlog: Uint8Array[] = []
  #at = 0
  #pending = 0
  /** Bytes of replies waiting for the egress budget. */
  #pendingBytes = 0
  #chain: Promise<void> = Promise.resolve()
  /** Set once a frame went unanswered: nothing more is read, the connection ends. */
  #ending = false
  #frameTimer: NodeJS.Timeout | null = null
  /** Milliseconds the current frame had taken when reading paused (null: not paused mid-frame). */
  #frameElapsed: number | null = null
  #released = false
  /** When the frame being received got its first byte (null: between frames). */
  frameStart: number | null = null
  /** When a byte last arrived (or the connection was accepted). */
  lastActive: number
  /** Set by the listener: forget this connection (called once). */
  onRelease: () => void = () => undefined

  constructor(
    readonly socket: Socket,
    readonly src: Source,
    readonly key: string,
    readonly ctx: HandlerContext,
    readonly egress: Egress,
    readonly limits: TcpLimits,
    readonly now: () => number,
  ) {
    this.lastActive = now()
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#onData(chunk)
      } catch (err) {
        this.#fail(err)
      }
    })
    socket.on('drain', () => {
      try {
        this.#pump()
      } catch (err) {
        this.#fail(err)
      }
    })
    socket.on('close', () => {
      this.#release()
    })
    socket.setTimeout(limits.idleTimeoutMs, () => {
      ctx.stats.inc('tcp_idle_closed')
      socket.destroy()
    })
  }

  /** Nothing half-received, nothing waiting to be handled or sent: closing it loses nothing. */
  get quiet(): boolean {
    return (
      this.frameStart === null &&
      this.#at >= this.#backlog.length &&
      this.#pending === 0 &&
      this.socket.writableLength === 0
    )
  }

  /** Close now (`reset`: with RST, as for an eviction) and forget it at once. */
  close(reset: boolean): void {
    this.#release()
    if (reset) resetSocket(this.socket)
    else this.socket.destroy()
  }

  #release(): void {
    if (this.#released) return
    this.#released = true
    this.#stopFrameClock()
    this.onRelease()
  }

  #fail(err: unknown): void {
    this.ctx.stats.inc('internal_errors')
    this.ctx.logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      'tcp connection failed',
    )
    this.socket.destroy()
  }

  #onData(chunk: Buffer): void {
    if (this.#ending) return
    const at = this.now()
    this.lastActive = at
    const midFrame = this.#decoder.buffered > 0
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(chunk)
    } catch {
      // §10: a bad length closes the connection without reading the body.
      this.ctx.stats.inc('tcp_framing_errors')
      this.socket.destroy()
      return
    }
    // The frame clock runs from the first byte of a frame: a chunk that completes frames and
    // leaves a partial one starts the next frame's clock now; bytes that only continue the
    // current frame never extend it (§10).
    if (this.#decoder.buffered === 0) this.#stopFrameClock()
    else if (!midFrame || frames.length > 0) this.#startFrameClock(at)
    for (const f of frames) this.#backlog.push(f)
    this.#pump()
  }

  /** Start the frame clock as if the frame's first byte came `elapsed` ms before `at`. */
  #startFrameClock(at: number, elapsed = 0): void {
    this.#stopFrameClock()
    this.frameStart = at - elapsed
    this.#frameTimer = setTimeout(
      () => {
        this.#frameTimer = null
        if (this.socket.destroyed) return
        this.ctx.stats.inc('tcp_frame_timeouts')
        this.close(true)
      },
      Math.max(0, this.limits.frameTimeoutMs - elapsed),
    )
  }

  #stopFrameClock(): void {
    if (this.#frameTimer !== null) clearTimeout(this.#frameTimer)
    this.#frameTimer = null
    this.frameStart = null
    this.#frameElapsed = null
  }

  #pump(): void {
    const { socket } = this
    if (this.#ending) return
    while (
      this.#at < this.#backlog.length &&
      this.#pending < this.limits.maxPending &&
      this.#held() <= this.limits.maxWriteBuffer &&
      !socket.destroyed
    ) {
      const frame = this.#backlog[this.#at++] as Uint8Array
      const reply = handleRequest(this.ctx, frame, this.src, 'tcp')
      if (reply === null) {
        // §10: a frame the tracker will not answer (denied or flooding source) ends the
        // connection once the replies before it are sent, so replies never shift frames.
        this.#endAfterReplies()
        return
      }
      this.#send(reply.bytes, reply.priority)
    }
    if (this.#at >= this.#backlog.length) {
      this.#backlog = []
      this.#at = 0
    }
    if (socket.destroyed) return
    const busy =
      this.#at < this.#backlog.length ||
      this.#pending >= this.limits.maxPending ||
      this.#held() > this.limits.maxWriteBuffer
    if (busy) {
      // While we do not read, a half-received frame waits on us, not on the peer: its clock
      // stops, and goes on from where it stood when reading resumes.
      if (!socket.isPaused()) {
        socket.pause()
        if (this.frameStart !== null) {
          const elapsed = this.now() - this.frameStart
          this.#stopFrameClock()
          this.#frameElapsed = elapsed
        }
      }
    } else if (socket.isPaused()) {
      socket.resume()
      if (this.#frameElapsed !== null) this.#startFrameClock(this.now(), this.#frameElapsed)
    }
  }

  #endAfterReplies(): void {
    const { socket } = this
    this.#ending = true
    this.#backlog = []
    this.#at = 0
    socket.pause()
    this.#stopFrameClock()
    this.#chain = this.#chain.then(() => {
      if (!socket.destroyed) socket.end()
    })
  }

  /** Reply bytes this connection holds: waiting for egress, or not yet taken by the kernel. */
  #held(): number {
    return this.#pendingBytes + this.socket.writableLength
  }

  #send(bytes: Uint8Array, priority: Parameters<Egress['wait']>[1]): void {
    const framed = encodeFrame(bytes)
    this.#pending++
    this.#pendingBytes += framed.byteLength
    const { socket, ctx } = this
    this.#chain = this.#chain
      .then(() => this.egress.wait(framed.byteLength, priority))
      .then(
        () => {
          if (socket.destroyed) return
          // The callback runs once the kernel took the bytes: reading may resume then ('drain'
          // alone is not enough, it only follows a write that crossed the high-water mark).
          socket.write(framed, () => {
            this.#pump()
          })
          ctx.stats.inc('replies_tcp')
        },
        () => {
          ctx.stats.inc('tcp_egress_refused')
          socket.destroy()
        },
      )
      .finally(() => {
        this.#pending--
        this.#pendingBytes -= framed.byteLength
        this.#pump()
      })
      .catch((err: unknown) => {
        ctx.stats.inc('internal_errors')
        ctx.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'tcp reply failed',
        )
        socket.destroy()
      })
  }
}
