import { type Datagram, DatagramSocket } from '../../net/datagram-socket.js'
import type { Egress } from '../../throttle/types.js'
import { Limits } from '../../wire/constants.js'
import { type HandlerContext, type Reply, serveRequest } from '../handlers/index.js'
import { sourceFrom } from '../handlers/context.js'

/**
 * One UDP listener: datagrams from the bounded DatagramSocket queue, through the handler, replies
 * through the egress budget (`admit`: a reply over budget is dropped and counted, never queued).
 */
export class UdpListener {
  readonly #socket: DatagramSocket
  readonly #ctx: HandlerContext
  readonly #egress: Egress

  private constructor(socket: DatagramSocket, ctx: HandlerContext, egress: Egress) {
    this.#socket = socket
    this.#ctx = ctx
    this.#egress = egress
    socket.consume(d => {
      this.#step(d)
    })
  }

  static async start(
    host: string,
    port: number,
    ctx: HandlerContext,
    egress: Egress,
    recvBuffer = 0,
    ipv6Only = true,
  ): Promise<UdpListener> {
    const socket = await DatagramSocket.bind({
      host,
      port,
      maxDatagram: Limits.MAX_DATAGRAM,
      maxQueue: 8192,
      receiveBufferSize: recvBuffer,
      ipv6Only,
    })
    return new UdpListener(socket, ctx, egress)
  }

  get port(): number {
    return this.#socket.port
  }

  get host(): string {
    return this.#socket.host
  }

  /**
   * Send a datagram the tracker originates (a reachability challenge, src/tracker/prover.ts)
   * from this socket; the caller has checked its scope and budgets. False when not sent.
   */
  sendTo(bytes: Uint8Array, port: number, address: string): boolean {
    if (!this.#egress.admit(bytes.byteLength, 'signed')) {
      this.#ctx.stats.inc('dropped_egress')
      return false
    }
    this.#socket.send(bytes, port, address)
    return true
  }

  /** The receive buffer the kernel granted (bytes; 0 = unknown). */
  get recvBuffer(): number {
    return this.#socket.recvBuffer
  }

  /** The requested receive buffer size was refused by the kernel. */
  get recvBufferRefused(): boolean {
    return this.#socket.recvBufferRefused
  }

  /** Datagram counters of the socket (received, oversize, overflow, sent, sendErrors). */
  get counts(): Readonly<DatagramSocket['counts']> {
    return this.#socket.counts
  }

  /**
   * One datagram, synchronously (the socket hands each poll's batch over in one drain): the
   * handler, then the reply path.
   */
  #step(d: Datagram): void {
    const ctx = this.#ctx
    try {
      const src = sourceFrom(d.address, d.port, ctx.memo)
      if (src === null) {
        ctx.stats.inc('dropped_source_port')
        return
      }
      const reply = serveRequest(ctx, d.data, src, 'udp')
      if (reply === null) return
      if (reply instanceof Promise) {
        // Verified on the pool: sent when the answer is back, through the same reply path.
        void reply.then(r => {
          if (r !== null) this.#late(r, d.port, d.address)
        })
        return
      }
      this.#reply(reply, d.port, d.address)
    } catch (err) {
      // serveRequest never throws; this guards the egress and send calls.
      ctx.stats.inc('internal_errors')
      ctx.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'udp listener step failed',
      )
    }
  }

  /**
   * The one way a reply leaves: through the egress budget (`admit`: a reply over budget is
   * dropped and counted, never queued), then the socket. A reply computed later (after an
   * asynchronous step) takes the same path.
   */
  #reply(reply: Reply, port: number, address: string): void {
    if (!this.#egress.admit(reply.bytes.byteLength, reply.priority)) {
      this.#ctx.stats.inc('dropped_egress')
      return
    }
    this.#socket.send(reply.bytes, port, address)
    this.#ctx.stats.inc('replies_udp')
  }

  /** A reply that came after its datagram: the socket may have closed meanwhile (lost, counted). */
  #late(reply: Reply, port: number, address: string): void {
    try {
      this.#reply(reply, port, address)
    } catch (err) {
      this.#ctx.stats.inc('internal_errors')
      this.#ctx.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'udp late reply failed',
      )
    }
  }

  /** Idempotent: stops reading and closes the socket. */
  async close(): Promise<void> {
    await this.#socket.close()
  }
}
