import { type Socket, createSocket } from 'node:dgram'

/**
 * A raw UDP client for tests: send bytes, await the next datagram with a deadline. Replies that
 * arrive while nobody waits are queued (bounded) so none is lost between calls.
 */
export class UdpProbe {
  readonly #socket: Socket
  readonly #queue: Buffer[] = []
  #waiter: ((b: Buffer) => void) | null = null

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('message', msg => {
      const w = this.#waiter
      if (w !== null) {
        this.#waiter = null
        w(msg)
      } else if (this.#queue.length < 10_000) this.#queue.push(msg)
    })
    socket.on('error', () => undefined)
  }

  static async open(host = '127.0.0.1'): Promise<UdpProbe> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>(resolve => socket.bind(0, host, resolve))
    return new UdpProbe(socket)
  }

  get port(): number {
    return this.#socket.address().port
  }

  send(data: Uint8Array, port: number, host: string): void {
    this.#socket.send(data, port, host)
  }

  /** The next datagram, or null after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<Buffer | null> {
    const queued = this.#queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this.#waiter = null
        resolve(null)
      }, timeoutMs)
      this.#waiter = b => {
        clearTimeout(timer)
        resolve(b)
      }
    })
  }

  /** Send and await one reply (null on timeout). */
  async request(
    data: Uint8Array,
    port: number,
    host: string,
    timeoutMs = 2000,
  ): Promise<Buffer | null> {
    this.#queue.length = 0
    this.send(data, port, host)
    return this.next(timeoutMs)
  }

  /** Drop whatever arrived so far. */
  drain(): number {
    const n = this.#queue.length
    this.#queue.length = 0
    return n
  }

  close(): Promise<void> {
    return new Promise(resolve => {
      this.#socket.close(() => {
        resolve()
      })
    })
  }
}

/** Send `data` from a fresh socket and await one reply (null on timeout). */
export async function udpRequest(
  data: Uint8Array,
  port: number,
  host = '127.0.0.1',
  timeoutMs = 2000,
): Promise<Buffer | null> {
  const probe = await UdpProbe.open(host)
  try {
    return await probe.request(data, port, host, timeoutMs)
  } finally {
    await probe.close()
  }
}
