import { type Server, type Socket, createServer } from 'node:net'
import type { Egress } from '../../throttle/types.js'
import { Limits } from '../../wire/constants.js'
import { FrameDecoder, encodeFrame } from '../../wire/framing.js'
import { type HandlerContext, handleRequest } from '../handlers/index.js'
import { type Source, sourceFrom } from '../handlers/context.js'

export interface TcpLimits {
  /** Connections at once; more are closed on arrival (counted). */
  maxConnections: number
  /** Milliseconds of silence before a connection is closed. */
  idleTimeoutMs: number
  /** Replies in flight (waiting for egress or the socket) before reading pauses. */
  maxPending: number
  /** Bytes of replies held (waiting for egress, or in the socket's write buffer) before reading pauses. */
  maxWriteBuffer: number
}

/**
 * One TCP listener: length-prefixed frames (§10) of at most MAX_REQUEST bytes, each answered in
 * order through the egress budget (`wait`: delayed, not dropped; a refusal closes the
 * connection). A framing violation closes the connection. Memory per connection is bounded: one
 * chunk of decoded frames, `maxPending` replies and about `maxWriteBuffer` bytes of replies
 * (plus the one that crossed it), then reading pauses.
 */
export class TcpListener {
  readonly #server: Server
  readonly #ctx: HandlerContext
  readonly #egress: Egress
  readonly #limits: TcpLimits
  readonly #connections = new Set<Socket>()
  #closing: Promise<void> | null = null

  private constructor(server: Server, ctx: HandlerContext, egress: Egress, limits: TcpLimits) {
    this.#server = server
    this.#ctx = ctx
    this.#egress = egress
    this.#limits = limits
    server.on('connection', socket => {
      this.#accept(socket)
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

  #accept(socket: Socket): void {
    const stats = this.#ctx.stats
    socket.on('error', () => undefined)
    const src = sourceFrom(socket.remoteAddress, socket.remotePort)
    if (this.#closing !== null || src === null) {
      socket.destroy()
      return
    }
    if (this.#connections.size >= this.#limits.maxConnections) {
      stats.inc('tcp_refused')
      socket.destroy()
      return
    }
    stats.inc('tcp_connections')
    this.#connections.add(socket)
    socket.on('close', () => {
      this.#connections.delete(socket)
    })
    socket.setTimeout(this.#limits.idleTimeoutMs, () => {
      stats.inc('tcp_idle_closed')
      socket.destroy()
    })
    new Connection(socket, src, this.#ctx, this.#egress, this.#limits)
  }

  /** Idempotent: stops accepting, closes every connection. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closing = new Promise<void>(resolve => {
      this.#server.close(() => {
        resolve()
      })
      for (const s of this.#connections) s.destroy()
      this.#connections.clear()
    })
    return this.#closing
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

  constructor(
    readonly socket: Socket,
    readonly src: Source,
    readonly ctx: HandlerContext,
    readonly egress: Egress,
    readonly limits: TcpLimits,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk)
    })
    socket.on('drain', () => {
      this.#pump()
    })
  }

  #onData(chunk: Buffer): void {
    let frames: Uint8Array[]
    try {
      frames = this.#decoder.push(chunk)
    } catch {
      // §10: a bad length closes the connection without reading the body.
      this.ctx.stats.inc('tcp_framing_errors')
      this.socket.destroy()
      return
    }
    for (const f of frames) this.#backlog.push(f)
    this.#pump()
  }

  #pump(): void {
    const { socket } = this
    while (
      this.#at < this.#backlog.length &&
      this.#pending < this.limits.maxPending &&
      this.#held() <= this.limits.maxWriteBuffer &&
      !socket.destroyed
    ) {
      const frame = this.#backlog[this.#at++] as Uint8Array
      const reply = handleRequest(this.ctx, frame, this.src, 'tcp')
      if (reply !== null) this.#send(reply.bytes, reply.priority)
    }
    if (this.#at >= this.#backlog.length) {
      this.#backlog = []
      this.#at = 0
    }
    const busy =
      this.#at < this.#backlog.length ||
      this.#pending >= this.limits.maxPending ||
      this.#held() > this.limits.maxWriteBuffer
    if (busy) socket.pause()
    else if (socket.isPaused()) socket.resume()
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
