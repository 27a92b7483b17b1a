import { type Socket, createSocket } from 'node:dgram'
import { lookup as dnsLookup } from 'node:dns'
import { isIP } from 'node:net'

/** One received datagram. `data` is owned by the receiver. */
export interface Datagram {
  data: Buffer
  address: string
  port: number
  family: 4 | 6
}

export interface DatagramSocketOptions {
  /** Address to bind; 'localhost' is not resolved: give a literal (127.0.0.1, ::1, 0.0.0.0, ::). */
  host: string
  /** 0 = any free port. */
  port: number
  /** Datagrams larger than this are dropped unread (counted in `oversize`). */
  maxDatagram?: number
  /** Datagrams waiting for the consumer; beyond it new ones are dropped (counted in `overflow`). */
  maxQueue?: number
  /** SO_RCVBUF in bytes, requested after bind when set and > 0 (0 = the kernel default). */
  receiveBufferSize?: number
  /** For an IPv6 host: refuse IPv4 (default true); false makes `::` dual-stack. */
  ipv6Only?: boolean
}

/** A synchronous consumer of datagrams (see DatagramSocket.consume). */
export type DatagramSink = (d: Datagram) => void

/**
 * node:dgram resolves the address of every send through `lookup`, by default dns.lookup, which
 * answers an IP literal on the next tick (a closure and a tick per datagram). Every address this
 * module sends to is a literal a socket reported: answered at once; a name still goes to DNS.
 */
function literalLookup(
  host: string,
  family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const v = isIP(host)
  if (v !== 0) {
    callback(null, host, v)
    return
  }
  const f = typeof family === 'number' ? family : 0
  dnsLookup(host, f, callback)
}

/**
 * `node:dgram` as a stream of datagrams with a bounded queue: a slow consumer costs dropped
 * datagrams (counted), never unbounded memory. Two views of the one queue:
 * - `consume(sink)`: the datagrams a poll of the event loop received are queued and handed to
 *   the sink synchronously in one drain per tick (one setImmediate per batch, no promise or
 *   microtask per datagram), in arrival order;
 * - the async iterator (`for await`, `next()`), one promise per datagram.
 * Sending is fire-and-forget; send errors are counted, never thrown at the caller, because a
 * UDP peer can always vanish.
 */
export class DatagramSocket implements AsyncIterable<Datagram> {
  readonly #socket: Socket
  readonly #maxDatagram: number
  readonly #maxQueue: number
  #queue: Datagram[] = []
  #head = 0
  #waiter: ((d: IteratorResult<Datagram>) => void) | null = null
  #sink: DatagramSink | null = null
  #drainScheduled = false
  #closed = false
  #closing: Promise<void> | null = null
  /**
   * Counters: received, dropped for size, dropped for a full queue, failed sends, sends handed
   * to the kernel (`sent`; a later failure the kernel reports arrives as a socket error and is
   * counted in `sendErrors`).
   */
  readonly counts = {
    received: 0,
    oversize: 0,
    overflow: 0,
    sendErrors: 0,
    sent: 0,
    /** Datagrams whose sink threw (a bug: the sink should catch what it can). */
    sinkErrors: 0,
  }

  private constructor(socket: Socket, options: DatagramSocketOptions) {
    this.#socket = socket
    this.#maxDatagram = options.maxDatagram ?? 1200
    this.#maxQueue = options.maxQueue ?? 4096
    socket.on('message', (data, rinfo) => {
      this.#onMessage(data, rinfo.address, rinfo.port, rinfo.family)
    })
    // An error on a bound UDP socket (ICMP unreachable on some platforms) must not crash.
    socket.on('error', () => {
      this.counts.sendErrors++
    })
  }

  static async bind(options: DatagramSocketOptions): Promise<DatagramSocket> {
    const type = options.host.includes(':') ? 'udp6' : 'udp4'
    const socket = createSocket({
      type,
      ipv6Only: type === 'udp6' && options.ipv6Only !== false,
      lookup: literalLookup,
    })
    const ds = new DatagramSocket(socket, options)
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.off('listening', onListening)
        socket.close()
        reject(err)
      }
      const onListening = (): void => {
        socket.off('error', onError)
        resolve()
      }
      socket.once('error', onError)
      socket.once('listening', onListening)
      socket.bind(options.port, options.host)
    })
    const wanted = options.receiveBufferSize ?? 0
    if (wanted > 0) {
      try {
        socket.setRecvBufferSize(wanted)
      } catch {
        // Refused by the kernel (or the platform): the socket keeps its default, and
        // `recvBuffer` reports what it has.
        ds.recvBufferRefused = true
      }
    }
    return ds
  }

  /** True when the requested receive buffer size could not be set. */
  recvBufferRefused = false

  get port(): number {
    return this.#socket.address().port
  }

  /**
   * The receive buffer (SO_RCVBUF) the kernel granted, in bytes; 0 when the platform cannot say.
   * Linux reports twice the request (its bookkeeping overhead), capped at net.core.rmem_max × 2.
   */
  get recvBuffer(): number {
    try {
      return this.#socket.getRecvBufferSize()
    } catch {
      return 0
    }
  }

  get host(): string {
    return this.#socket.address().address
  }

  #onMessage(data: Buffer, address: string, port: number, family: string): void {
    this.counts.received++
    if (this.#closed) return
    if (data.byteLength > this.#maxDatagram) {
      this.counts.oversize++
      return
    }
    const d: Datagram = { data, address, port, family: family === 'IPv6' ? 6 : 4 }
    const waiter = this.#waiter
    if (waiter !== null) {
      this.#waiter = null
      waiter({ value: d, done: false })
      return
    }
    if (this.#queue.length - this.#head >= this.#maxQueue) {
      this.counts.overflow++
      return
    }
    this.#queue.push(d)
    if (this.#sink !== null && !this.#drainScheduled) {
      this.#drainScheduled = true
      setImmediate(this.#drain)
    }
  }

  /**
   * Hand every queued datagram to `sink`, synchronously and in arrival order, once per tick of
   * the event loop after its poll (a datagram is never handed over inside the 'message' event
   * that received it); replaces the async iterator as the reader. A sink that throws loses
   * only that datagram. After close the sink is never called again.
   */
  consume(sink: DatagramSink): void {
    if (this.#sink !== null || this.#waiter !== null) throw new Error('already being read')
    this.#sink = sink
    if (this.#head < this.#queue.length && !this.#drainScheduled) {
      this.#drainScheduled = true
      setImmediate(this.#drain)
    }
  }

  readonly #drain = (): void => {
    this.#drainScheduled = false
    const sink = this.#sink
    if (sink === null) return
    // The batch as it stands: nothing can join it while it runs (the sink is synchronous).
    const batch = this.#queue
    let i = this.#head
    this.#queue = []
    this.#head = 0
    for (; i < batch.length && !this.#closed; i++) {
      try {
        sink(batch[i] as Datagram)
      } catch {
        this.counts.sinkErrors++
      }
    }
  }

  /**
   * Send without waiting (node:dgram copies nothing: `data` must not change afterwards);
   * failures are counted in `counts.sendErrors`. No completion callback: node:dgram would
   * schedule one per datagram.
   */
  send(data: Uint8Array, port: number, address: string): void {
    if (this.#closed) return
    try {
      this.#socket.send(data, port, address)
      this.counts.sent++
    } catch {
      // A bad port or address from input must never throw out of a listener.
      this.counts.sendErrors++
    }
  }

  next(): Promise<IteratorResult<Datagram>> {
    if (this.#sink !== null) return Promise.reject(new Error('read by a sink (consume)'))
    if (this.#head < this.#queue.length) {
      const d = this.#queue[this.#head++] as Datagram
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#head = 0
      }
      return Promise.resolve({ value: d, done: false })
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true })
    return new Promise(resolve => {
      this.#waiter = resolve
    })
  }

  [Symbol.asyncIterator](): AsyncIterator<Datagram> {
    return {
      next: () => this.next(),
      return: async () => (await this.close(), { value: undefined, done: true }),
    }
  }

  /** Idempotent. Pending iteration ends; queued datagrams are discarded. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    this.#queue = []
    this.#head = 0
    const waiter = this.#waiter
    this.#waiter = null
    waiter?.({ value: undefined, done: true })
    this.#closing = new Promise(resolve => {
      this.#socket.close(() => {
        resolve()
      })
    })
    return this.#closing
  }
}
