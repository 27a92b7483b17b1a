import type { Socket } from 'node:net'
import type { Egress } from '../../throttle/types.js'
import { Limits } from '../../wire/constants.js'
import { FrameDecoder, encodeFrame } from '../../wire/framing.js'
import { type HandlerContext, type Reply, serveRequest } from '../handlers/index.js'
import type { Source } from '../handlers/context.js'

/*
 * One TCP connection of the listener (tcp.ts): framing, the frame deadline, replies in order
 * through the egress budget, and the limits on what it may hold (docs/protocol.md §10).
 */

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

/**
 * Close with a reset (RST): the peer learns at once that it was refused, and no state lingers.
 * A socket already shutting down (the peer's FIN seen, or our end() called) is only destroyed:
 * a reset cannot follow a shutdown (libuv refuses it, and the handle would never close).
 */
export function resetSocket(socket: Socket): void {
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
export class Connection {
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
      const reply = serveRequest(this.ctx, frame, this.src, 'tcp')
      if (reply instanceof Promise) {
        // Verified on the pool: its place in the reply order is kept, its bytes come later.
        this.#sendLater(reply)
        continue
      }
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

  /**
   * A reply still to come (a signature on the verify pool), in its place among the replies:
   * the chain waits for it. It counts as pending at once (reading pauses at maxPending), its
   * bytes once known. None (the daemon paused) closes the connection.
   */
  #sendLater(reply: Promise<Reply | null>): void {
    this.#pending++
    let held = 0
    const { socket, ctx } = this
    this.#chain = this.#chain
      .then(() => reply)
      .then(async r => {
        if (r === null) {
          socket.destroy()
          return
        }
        const framed = encodeFrame(r.bytes)
        held = framed.byteLength
        this.#pendingBytes += held
        try {
          await this.egress.wait(framed.byteLength, r.priority)
        } catch {
          ctx.stats.inc('tcp_egress_refused')
          socket.destroy()
          return
        }
        if (socket.destroyed) return
        socket.write(framed, () => {
          this.#pump()
        })
        ctx.stats.inc('replies_tcp')
      })
      .finally(() => {
        this.#pending--
        this.#pendingBytes -= held
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
