import { DatagramSocket } from '../../net/datagram-socket.js'
import type { Egress } from '../../throttle/types.js'
import { Limits } from '../../wire/constants.js'
import { type HandlerContext, type Reply, serveRequest } from '../handlers/index.js'
import { sourceFrom } from '../handlers/context.js'

/** Datagrams handled before yielding to the event loop. */
const YIELD_EVERY = 64

/**
 * One UDP listener: datagrams from the bounded DatagramSocket queue, through the handler, replies
 * through the egress budget (`admit`: a reply over budget is dropped and counted, never queued).
 */
export class UdpListener {
  readonly #socket: DatagramSocket
  readonly #ctx: HandlerContext
  readonly #egress: Egress
  readonly #done: Promise<void>

  private constructor(socket: DatagramSocket, ctx: HandlerContext, egress: Egress) {
    this.#socket = socket
    this.#ctx = ctx
    this.#egress = egress
    this.#done = this.#run()
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

  async #run(): Promise<void> {
    const stats = this.#ctx.stats
    let batch = 0
    for await (const d of this.#socket) {
      // Queued datagrams resolve as microtasks, which never yield to the event loop: after a
      // batch, let timers, TCP connections and signals run (a full queue of announces needing
      // signature checks is seconds of work).
      if (++batch >= YIELD_EVERY) {
        batch = 0
        await new Promise(setImmediate)
      }
      try {
        const src = sourceFrom(d.address, d.port, this.#ctx.memo)
        if (src === null) {
          stats.inc('dropped_source_port')
          continue
        }
        const reply = serveRequest(this.#ctx, d.data, src, 'udp')
        if (reply === null) continue
        if (reply instanceof Promise) {
          // Verified on the pool: sent when the answer is back, through the same budget.
          void reply.then(r => {
            this.#later(r, d.port, d.address)
          })
          continue
        }
        if (!this.#egress.admit(reply.bytes.byteLength, reply.priority)) {
          stats.inc('dropped_egress')
          continue
        }
        this.#socket.send(reply.bytes, d.port, d.address)
        stats.inc('replies_udp')
      } catch (err) {
        // handleRequest never throws; this guards the egress and send calls.
        stats.inc('internal_errors')
        this.#ctx.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          'udp listener step failed',
        )
      }
    }
  }

  /** A reply that came after its datagram (a signature checked on the verify pool). */
  #later(reply: Reply | null, port: number, address: string): void {
    if (reply === null) return
    const stats = this.#ctx.stats
    try {
      if (!this.#egress.admit(reply.bytes.byteLength, reply.priority)) {
        stats.inc('dropped_egress')
        return
      }
      this.#socket.send(reply.bytes, port, address)
      stats.inc('replies_udp')
    } catch (err) {
      // A socket closed meanwhile: the reply is lost like a datagram.
      stats.inc('internal_errors')
      this.#ctx.logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'udp late reply failed',
      )
    }
  }

  /** Idempotent: stops reading and closes the socket. */
  async close(): Promise<void> {
    await this.#socket.close()
    await this.#done
  }
}
