import { randomBytes } from 'node:crypto'
import { type Socket, connect } from 'node:net'
import { TrackerError } from '../../errors.js'
import { Limits } from '../../wire/constants.js'
import { FrameDecoder, encodeFrame } from '../../wire/framing.js'
import { type Message, decodeMessage, encodeMessage } from '../../wire/messages.js'
import { abortable, abortedError, withDeadline } from '../deadline.js'
import { tryAddresses } from '../eyeballs.js'
import { type Resolver, resolveAll, systemResolver } from '../resolve.js'
import { type TrackerAddress, trackerLabel } from '../trackers.js'
import { type Timers, systemTimers } from '../timing.js'

export interface TcpTransportOptions {
  timers?: Timers
  resolve?: Resolver
}

export interface TcpExchangeOptions {
  /** Milliseconds for the whole exchange: connect, every request and every reply. */
  timeout: number
  signal?: AbortSignal
}

/** Requests per connection: enough for ten pages of a list, small enough to bound the reply. */
export const TCP_MAX_REQUESTS = 16

/** The cookie field on TCP is ignored by trackers (§8.2): send zeros. */
export const TCP_COOKIE = new Uint8Array(Limits.COOKIE_BYTES)

/**
 * Framed request/reply over one short-lived TCP connection per exchange (§10): for answers too
 * large for a datagram, such as a long `list`. Requests are pipelined; replies must come back
 * in order with matching txids. Each reply frame is capped by the frame decoder, and at most
 * TCP_MAX_REQUESTS are sent, so a hostile tracker cannot make the client buffer without bound.
 */
export class TcpTransport {
  readonly #timers: Timers | undefined
  readonly #resolve: Resolver
  readonly #open = new Map<Socket, (err: Error) => void>()
  #closed = false

  constructor(options: TcpTransportOptions = {}) {
    this.#timers = options.timers
    this.#resolve = options.resolve ?? systemResolver
  }

  /**
   * Send every request made by `build` (one per txid it is given) and resolve with the replies
   * in the same order. Error replies are returned as they are (see expectReply).
   */
  async exchange(
    tracker: TrackerAddress,
    build: (txids: number[]) => Message[],
    count: number,
    options: TcpExchangeOptions,
  ): Promise<Message[]> {
    if (this.#closed) throw new TrackerError('CLIENT_CLOSED')
    const label = trackerLabel(tracker)
    const port = tracker.tcp
    if (port === null) throw new TrackerError('CLIENT_UNREACHABLE', `${label} has no TCP port`)
    if (count < 1 || count > TCP_MAX_REQUESTS) {
      throw new TrackerError('CLIENT_BAD_OPTION', `1..${TCP_MAX_REQUESTS} requests per exchange`)
    }
    const txids: number[] = []
    const seen = new Set<number>()
    while (txids.length < count) {
      const t = randomBytes(4).readUInt32BE(0)
      if (t !== 0 && !seen.has(t)) {
        seen.add(t)
        txids.push(t)
      }
    }
    const requests = build(txids)
    const frames = requests.map(m => encodeFrame(encodeMessage(m)))
    return withDeadline(
      options.timeout,
      options.signal,
      async signal => {
        const hosts = await abortable(resolveAll(this.#resolve, tracker.host), signal)
        // Every address of the name, Happy Eyeballs order (RFC 8305), until one connects.
        return tryAddresses(
          hosts,
          (host, sig, committed) =>
            this.#run(host.address, port, frames, txids, sig, label, committed),
          { signal, timers: this.#timers ?? systemTimers },
        )
      },
      `${label} (tcp)`,
      this.#timers,
    )
  }

  #run(
    address: string,
    port: number,
    frames: Uint8Array[],
    txids: number[],
    signal: AbortSignal,
    label: string,
    committed: () => void,
  ): Promise<Message[]> {
    return new Promise<Message[]>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortedError(signal))
        return
      }
      const socket = connect({ host: address, port })
      const decoder = new FrameDecoder()
      const replies: Message[] = []
      let done = false
      const finish = (err: Error | null): void => {
        if (done) return
        done = true
        signal.removeEventListener('abort', onAbort)
        this.#open.delete(socket)
        socket.destroy()
        if (err === null) resolve(replies)
        else reject(err)
      }
      const onAbort = (): void => {
        finish(abortedError(signal))
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.#open.set(socket, finish)
      socket.on('connect', () => {
        committed()
        for (const f of frames) socket.write(f)
      })
      socket.on('data', (chunk: Buffer) => {
        let got: Uint8Array[]
        try {
          got = decoder.push(chunk)
        } catch (cause) {
          finish(new TrackerError('CLIENT_BAD_REPLY', `${label}: bad frame`, { cause }))
          return
        }
        for (const frame of got) {
          let m: Message
          try {
            m = decodeMessage(frame)
          } catch (cause) {
            finish(new TrackerError('CLIENT_BAD_REPLY', `${label}: unreadable reply`, { cause }))
            return
          }
          if (m.txid !== txids[replies.length]) {
            finish(new TrackerError('CLIENT_BAD_REPLY', `${label}: reply out of order`))
            return
          }
          replies.push(m)
          if (replies.length === txids.length) {
            finish(null)
            return
          }
        }
      })
      socket.on('error', (cause: NodeJS.ErrnoException) => {
        // §10: a tracker resets connections it refuses (connection cap, per-source share) or
        // evicts; that is not a bad reply, and not an unreachable tracker either.
        if (cause.code === 'ECONNRESET' || cause.code === 'EPIPE') {
          finish(
            new TrackerError(
              'TRANSPORT_REFUSED',
              `${label} reset the connection after ${replies.length} of ${txids.length} replies: retry later`,
              { cause },
            ),
          )
        } else {
          finish(new TrackerError('CLIENT_UNREACHABLE', `${label}: ${cause.message}`, { cause }))
        }
      })
      socket.on('close', () => {
        finish(
          new TrackerError(
            'TRANSPORT_CLOSED',
            `${label} closed the connection after ${replies.length} of ${txids.length} replies`,
          ),
        )
      })
      if (this.#closed) finish(new TrackerError('CLIENT_CLOSED'))
    })
  }

  /** Idempotent: ends open connections; their exchanges reject with CLIENT_CLOSED. */
  close(): Promise<void> {
    this.#closed = true
    for (const finish of [...this.#open.values()]) finish(new TrackerError('CLIENT_CLOSED'))
    return Promise.resolve()
  }
}
