import { randomBytes } from 'node:crypto'
import { type Clock, systemClock } from '../../clock.js'
import { TrackerError, WireError } from '../../errors.js'
import { DatagramSocket } from '../../net/datagram-socket.js'
import { Limits } from '../../wire/constants.js'
import { endpointFrom } from '../../wire/endpoint.js'
import { type Message, decodeMessage, encodeMessage, peekTxid } from '../../wire/messages.js'
import { abortable, abortedError, withDeadline } from '../deadline.js'
import { TrackerRefusedError } from '../replies.js'
import { type ResolvedHost, type Resolver, resolveHost, systemResolver } from '../resolve.js'
import { type TrackerAddress, trackerLabel } from '../trackers.js'
import type { Timers } from '../timing.js'

export interface UdpTransportOptions {
  clock?: Clock
  timers?: Timers
  resolve?: Resolver
  /** A cookie older than this (ms) is replaced before use; protocol §8.2 says 60 s. */
  cookieMaxAge?: number
  /** Local addresses to bind, per family (default: any address, any port). */
  bindHost4?: string
  bindHost6?: string
  /** The reply decoder; tests substitute a faulty one (default: decodeMessage). */
  decode?: (bytes: Uint8Array) => Message
}

/** A request to send once a cookie is known. The txid is chosen by the transport. */
export type BuildRequest = (cookie: Uint8Array, txid: number) => Message

export interface UdpRequestOptions {
  /** Milliseconds for the whole exchange, cookie fetch included. */
  timeout: number
  signal?: AbortSignal
}

interface Pending {
  address: string
  port: number
  deliver(m: Message): void
  fail(err: Error): void
}

interface CachedCookie {
  cookie: Uint8Array
  at: number
}

/** Counters for diagnostics and tests. */
export interface UdpTransportCounts {
  sent: number
  received: number
  /** Datagrams that matched no pending request, came from the wrong source or did not decode. */
  dropped: number
  cookieFetches: number
  cookieRefreshes: number
  /** Replies whose decoding failed with something other than a WireError (a bug). */
  internalErrors: number
}

/**
 * Request/reply over UDP to any number of trackers through one socket per address family. Each
 * request gets a fresh random txid; a reply is accepted only with that txid, from the address
 * and port the request went to. Cookies (§8.2) are cached per tracker address, renewed after
 * `cookieMaxAge` and whenever a tracker answers a request with a cookie-reply.
 *
 * There is no retransmission: a request either gets its reply within the timeout or fails, and
 * the caller (Querier: next tracker; Announcer: backoff) decides what to do next.
 */
export class UdpTransport {
  readonly #clock: Clock
  readonly #timers: Timers | undefined
  readonly #resolve: Resolver
  readonly #cookieMaxAge: number
  readonly #bind: Record<4 | 6, string>
  readonly #decode: (bytes: Uint8Array) => Message
  readonly #sockets = new Map<4 | 6, Promise<DatagramSocket>>()
  readonly #loops: Promise<void>[] = []
  readonly #pending = new Map<number, Pending>()
  readonly #cookies = new Map<string, CachedCookie>()
  #closed = false
  #closing: Promise<void> | null = null
  readonly counts: UdpTransportCounts = {
    sent: 0,
    received: 0,
    dropped: 0,
    cookieFetches: 0,
    cookieRefreshes: 0,
    internalErrors: 0,
  }

  constructor(options: UdpTransportOptions = {}) {
    this.#clock = options.clock ?? systemClock
    this.#timers = options.timers
    this.#resolve = options.resolve ?? systemResolver
    this.#cookieMaxAge = options.cookieMaxAge ?? 60_000
    this.#bind = { 4: options.bindHost4 ?? '0.0.0.0', 6: options.bindHost6 ?? '::' }
    this.#decode = options.decode ?? decodeMessage
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Send the request `build` makes to `tracker` and resolve with its reply (which may be an
   * `error` message: see expectReply). Rejects with CLIENT_TIMEOUT, CLIENT_ABORTED,
   * CLIENT_CLOSED, CLIENT_UNREACHABLE or CLIENT_BAD_REPLY. A reply that fails to decode with
   * anything but a WireError is a bug, not a bad datagram: the request rejects with that error
   * (docs/errors.md) and `counts.internalErrors` counts it.
   */
  async request(
    tracker: TrackerAddress,
    build: BuildRequest,
    options: UdpRequestOptions,
  ): Promise<Message> {
    if (this.#closed) throw new TrackerError('CLIENT_CLOSED')
    const label = trackerLabel(tracker)
    const port = tracker.udp
    if (port === null) throw new TrackerError('CLIENT_UNREACHABLE', `${label} has no UDP port`)
    return withDeadline(
      options.timeout,
      options.signal,
      async signal => {
        const host = await abortable(resolveHost(this.#resolve, tracker.host), signal)
        const socket = await abortable(this.#socket(host.family), signal)
        return this.#exchangeWithCookie(socket, host, port, build, signal, label)
      },
      label,
      this.#timers,
    )
  }

  /** Forget the cached cookie of one tracker (tests; or after a tracker restarted). */
  forgetCookies(): void {
    this.#cookies.clear()
  }

  async #exchangeWithCookie(
    socket: DatagramSocket,
    host: ResolvedHost,
    port: number,
    build: BuildRequest,
    signal: AbortSignal,
    label: string,
  ): Promise<Message> {
    const key = `${host.address}|${port}`
    const cookie =
      this.#freshCookie(key) ?? (await this.#fetchCookie(socket, host, port, key, signal, label))
    let reply = await this.#exchange(socket, host, port, txid => build(cookie, txid), signal)
    if (reply.type === 'cookie-reply') {
      // §8.2: the tracker did not accept our cookie and sent a new one: retry once with it.
      this.counts.cookieRefreshes++
      this.#storeCookie(key, reply.cookie)
      const renewed = reply.cookie
      reply = await this.#exchange(socket, host, port, txid => build(renewed, txid), signal)
      if (reply.type === 'cookie-reply') {
        this.#storeCookie(key, reply.cookie)
        throw new TrackerError('CLIENT_BAD_REPLY', `${label} refused a fresh cookie`)
      }
    }
    return reply
  }

  async #fetchCookie(
    socket: DatagramSocket,
    host: ResolvedHost,
    port: number,
    key: string,
    signal: AbortSignal,
    label: string,
  ): Promise<Uint8Array> {
    this.counts.cookieFetches++
    const reply = await this.#exchange(
      socket,
      host,
      port,
      txid => ({ type: 'cookie-request', txid }),
      signal,
    )
    if (reply.type !== 'cookie-reply') {
      // Surface the tracker's code (RATE_LIMITED, DENIED…) the same way as for the request.
      if (reply.type === 'error') throw new TrackerRefusedError(reply.code, reply.retryAfter, label)
      throw new TrackerError(
        'CLIENT_BAD_REPLY',
        `${label} answered ${reply.type} to a cookie request`,
      )
    }
    this.#storeCookie(key, reply.cookie)
    return reply.cookie
  }

  #freshCookie(key: string): Uint8Array | null {
    const c = this.#cookies.get(key)
    if (c === undefined) return null
    if (this.#clock.now() - c.at >= this.#cookieMaxAge) {
      this.#cookies.delete(key)
      return null
    }
    return c.cookie
  }

  #storeCookie(key: string, cookie: Uint8Array): void {
    // Bounded: one entry per tracker address ever asked; trim the oldest if a caller cycles
    // through very many trackers.
    if (this.#cookies.size >= 1024 && !this.#cookies.has(key)) {
      const oldest = this.#cookies.keys().next()
      if (oldest.done !== true) this.#cookies.delete(oldest.value)
    }
    this.#cookies.set(key, { cookie, at: this.#clock.now() })
  }

  /** One datagram out, its reply in (matched by txid and source), or the signal's reason. */
  #exchange(
    socket: DatagramSocket,
    host: ResolvedHost,
    port: number,
    make: (txid: number) => Message,
    signal: AbortSignal,
  ): Promise<Message> {
    if (signal.aborted) return Promise.reject(abortedError(signal))
    if (this.#closed) return Promise.reject(new TrackerError('CLIENT_CLOSED'))
    const txid = this.#newTxid()
    const bytes = encodeMessage(make(txid))
    if (bytes.byteLength > Limits.MAX_DATAGRAM) {
      return Promise.reject(
        new WireError('WIRE_MESSAGE_TOO_LARGE', `${bytes.byteLength}-byte request`),
      )
    }
    return new Promise<Message>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(txid)
        reject(abortedError(signal))
      }
      const settle = (): void => {
        this.#pending.delete(txid)
        signal.removeEventListener('abort', onAbort)
      }
      this.#pending.set(txid, {
        address: host.address,
        port,
        deliver: m => {
          settle()
          resolve(m)
        },
        fail: err => {
          settle()
          reject(err)
        },
      })
      signal.addEventListener('abort', onAbort, { once: true })
      this.counts.sent++
      socket.send(bytes, port, host.address)
    })
  }

  #newTxid(): number {
    for (;;) {
      const txid = randomBytes(4).readUInt32BE(0)
      // 0 is what peekTxid reports for a runt datagram: never use it.
      if (txid !== 0 && !this.#pending.has(txid)) return txid
    }
  }

  #socket(family: 4 | 6): Promise<DatagramSocket> {
    let p = this.#sockets.get(family)
    if (p === undefined) {
      p = DatagramSocket.bind({ host: this.#bind[family], port: 0 }).then(
        socket => {
          if (this.#closed) {
            void socket.close()
            throw new TrackerError('CLIENT_CLOSED')
          }
          this.#loops.push(this.#receive(socket))
          return socket
        },
        (cause: unknown) => {
          this.#sockets.delete(family)
          throw new TrackerError('CLIENT_UNREACHABLE', `cannot open a UDP socket`, { cause })
        },
      )
      this.#sockets.set(family, p)
    }
    return p
  }

  async #receive(socket: DatagramSocket): Promise<void> {
    for await (const d of socket) {
      this.counts.received++
      const pending = this.#pending.get(peekTxid(d.data))
      const from = endpointFrom(d.address, d.port)
      const expected = pending === undefined ? null : endpointFrom(pending.address, pending.port)
      if (
        pending === undefined ||
        from === null ||
        expected === null ||
        from.address !== expected.address ||
        from.port !== expected.port
      ) {
        this.counts.dropped++
        continue
      }
      let m: Message
      try {
        m = this.#decode(d.data)
      } catch (err) {
        if (err instanceof WireError) {
          // A bad datagram is dropped: the request waits for a good reply or its timeout.
          this.counts.dropped++
          continue
        }
        // A decoder bug surfaces to the caller instead of looking like a silent tracker; the
        // loop goes on serving the other requests.
        this.counts.internalErrors++
        pending.fail(err instanceof Error ? err : new Error(String(err)))
        continue
      }
      pending.deliver(m)
    }
  }

  /** Idempotent: closes the sockets; requests in flight reject with CLIENT_CLOSED. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    // Anything still waiting would otherwise wait for its timeout.
    for (const p of [...this.#pending.values()]) p.fail(new TrackerError('CLIENT_CLOSED'))
    this.#closing = (async () => {
      const sockets = await Promise.allSettled([...this.#sockets.values()])
      await Promise.all(
        sockets.map(s => (s.status === 'fulfilled' ? s.value.close() : Promise.resolve())),
      )
      await Promise.allSettled(this.#loops)
    })()
    return this.#closing
  }
}
