import { randomBytes } from 'node:crypto'
import { type Socket, createSocket } from 'node:dgram'
import { type Clock, systemClock } from '../../clock.js'
import { TrackerError, WireError } from '../../errors.js'
import { Limits } from '../../wire/constants.js'
import { endpointFrom } from '../../wire/endpoint.js'
import { type Message, decodeMessage, encodeMessage, peekTxid } from '../../wire/messages.js'
import { abortable, abortedError, withDeadline } from '../deadline.js'
import { tryAddresses } from '../eyeballs.js'
import { TrackerRefusedError } from '../replies.js'
import { type ResolvedHost, type Resolver, resolveAll, systemResolver } from '../resolve.js'
import { type TrackerAddress, trackerLabel } from '../trackers.js'
import { type Timers, systemTimers } from '../timing.js'

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
  peer: string
  deliver(m: Message): void
  fail(err: Error): void
}

/** One socket connected to one tracker address (so ICMP errors reach it, §8.7 failover). */
interface Peer {
  key: string
  socket: Socket
  /** The address and port replies must come from. */
  expected: { address: string; port: number } | null
}

/** Most connected sockets kept open; the least recently used idle one is closed beyond it. */
export const UDP_MAX_PEERS = 64

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
 * Request/reply over UDP to any number of trackers through one connected socket per tracker
 * address (bounded, least recently used closed first): the kernel then delivers only that
 * address's datagrams, and an ICMP port-unreachable fails the request at once
 * (CLIENT_UNREACHABLE) instead of letting it wait for its timeout. Each request gets a fresh
 * random txid; a reply is accepted only with that txid, from the address and port the request
 * went to. A name with several addresses is tried address by address (Happy Eyeballs,
 * eyeballs.ts). Cookies (§8.2) are cached per tracker address, renewed after
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
  readonly #peers = new Map<string, Promise<Peer>>()
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
        const hosts = await abortable(resolveAll(this.#resolve, tracker.host), signal)
        return tryAddresses(
          hosts,
          async (host, sig) => {
            const peer = await abortable(this.#peer(host, port, label), sig)
            return this.#exchangeWithCookie(peer, host, port, build, sig, label)
          },
          { signal, timers: this.#timers ?? systemTimers },
        )
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
    socket: Peer,
    host: ResolvedHost,
    port: number,
    build: BuildRequest,
    signal: AbortSignal,
    label: string,
  ): Promise<Message> {
    const key = `${host.address}|${port}`
    const cookie = this.#freshCookie(key) ?? (await this.#fetchCookie(socket, key, signal, label))
    let reply = await this.#exchange(socket, txid => build(cookie, txid), signal)
    if (reply.type === 'cookie-reply') {
      // §8.2: the tracker did not accept our cookie and sent a new one: retry once with it.
      this.counts.cookieRefreshes++
      this.#storeCookie(key, reply.cookie)
      const renewed = reply.cookie
      reply = await this.#exchange(socket, txid => build(renewed, txid), signal)
      if (reply.type === 'cookie-reply') {
        this.#storeCookie(key, reply.cookie)
        throw new TrackerError('CLIENT_BAD_REPLY', `${label} refused a fresh cookie`)
      }
    }
    return reply
  }

  async #fetchCookie(
    socket: Peer,
    key: string,
    signal: AbortSignal,
    label: string,
  ): Promise<Uint8Array> {
    this.counts.cookieFetches++
    const reply = await this.#exchange(socket, txid => ({ type: 'cookie-request', txid }), signal)
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
  #exchange(socket: Peer, make: (txid: number) => Message, signal: AbortSignal): Promise<Message> {
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
        peer: socket.key,
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
      try {
        socket.socket.send(bytes, err => {
          if (err) this.#peerFailed(socket, err)
        })
      } catch (err) {
        this.#peerFailed(socket, err)
      }
    })
  }

  #newTxid(): number {
    for (;;) {
      const txid = randomBytes(4).readUInt32BE(0)
      // 0 is what peekTxid reports for a runt datagram: never use it.
      if (txid !== 0 && !this.#pending.has(txid)) return txid
    }
  }

  /** The connected socket for one tracker address, opened on first use. */
  #peer(host: ResolvedHost, port: number, label: string): Promise<Peer> {
    const key = `${host.address}|${port}`
    let p = this.#peers.get(key)
    if (p !== undefined) {
      // Least recently used last out: move it to the end of the map's order.
      this.#peers.delete(key)
      this.#peers.set(key, p)
    } else {
      p = this.#openPeer(key, host, port, label)
      this.#peers.set(key, p)
      p.catch(() => {
        if (this.#peers.get(key) === p) this.#peers.delete(key)
      })
      this.#evict()
    }
    return p
  }

  async #openPeer(key: string, host: ResolvedHost, port: number, label: string): Promise<Peer> {
    const type = host.family === 6 ? 'udp6' : 'udp4'
    const socket = createSocket({ type, ipv6Only: type === 'udp6' })
    const peer: Peer = {
      key,
      socket,
      expected: endpointFrom(host.address, port),
    }
    // Errors after the socket is set up (ICMP unreachable) fail that address's requests.
    socket.on('error', err => {
      this.#peerFailed(peer, err)
    })
    socket.on('message', (data, rinfo) => {
      this.#onDatagram(peer, data, rinfo.address, rinfo.port)
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind(0, this.#bind[host.family], () => {
          socket.connect(port, host.address, () => {
            socket.off('error', reject)
            resolve()
          })
        })
      })
    } catch (cause) {
      socket.close()
      throw new TrackerError('CLIENT_UNREACHABLE', `${label}: cannot open a UDP socket`, { cause })
    }
    if (this.#closed) {
      socket.close()
      throw new TrackerError('CLIENT_CLOSED')
    }
    return peer
  }

  /** ICMP port or host unreachable (ECONNREFUSED, EHOSTUNREACH…): fail what waits on it now. */
  #peerFailed(peer: Peer, err: unknown): void {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ECONNREFUSED' ? 'port unreachable' : (e.code ?? e.message)
    for (const [txid, p] of [...this.#pending.entries()]) {
      if (p.peer !== peer.key) continue
      this.#pending.delete(txid)
      p.fail(new TrackerError('CLIENT_UNREACHABLE', `${peer.key}: ${why}`, { cause: err }))
    }
  }

  #evict(): void {
    if (this.#peers.size <= UDP_MAX_PEERS) return
    const busy = new Set([...this.#pending.values()].map(p => p.peer))
    for (const [key, p] of this.#peers) {
      if (this.#peers.size <= UDP_MAX_PEERS) break
      if (busy.has(key)) continue
      this.#peers.delete(key)
      void p.then(
        peer => {
          peer.socket.close()
        },
        () => undefined,
      )
    }
  }

  #onDatagram(peer: Peer, data: Buffer, address: string, port: number): void {
    this.counts.received++
    const pending = this.#pending.get(peekTxid(data))
    const from = endpointFrom(address, port)
    const expected = peer.expected
    if (
      pending === undefined ||
      pending.peer !== peer.key ||
      data.byteLength > Limits.MAX_DATAGRAM ||
      from === null ||
      expected === null ||
      from.address !== expected.address ||
      from.port !== expected.port
    ) {
      this.counts.dropped++
      return
    }
    let m: Message
    try {
      m = this.#decode(data)
    } catch (err) {
      if (err instanceof WireError) {
        // A bad datagram is dropped: the request waits for a good reply or its timeout.
        this.counts.dropped++
        return
      }
      // A decoder bug surfaces to the caller instead of looking like a silent tracker.
      this.counts.internalErrors++
      pending.fail(err instanceof Error ? err : new Error(String(err)))
      return
    }
    pending.deliver(m)
  }

  /** Idempotent: closes the sockets; requests in flight reject with CLIENT_CLOSED. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    // Anything still waiting would otherwise wait for its timeout.
    for (const p of [...this.#pending.values()]) p.fail(new TrackerError('CLIENT_CLOSED'))
    this.#closing = (async () => {
      const peers = await Promise.allSettled([...this.#peers.values()])
      this.#peers.clear()
      await Promise.all(
        peers.map(p =>
          p.status === 'fulfilled'
            ? new Promise<void>(resolve => {
                p.value.socket.close(resolve)
              })
            : Promise.resolve(),
        ),
      )
    })()
    return this.#closing
  }
}
