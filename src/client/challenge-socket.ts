import { type Socket, createSocket } from 'node:dgram'
import {
  ChallengeAnswerer,
  type ChallengeAnswererOptions,
  type ChallengeIdentity,
} from './challenge-answer.js'

export interface ChallengeSocketOptions extends ChallengeAnswererOptions {
  /** Literal address to bind (default 0.0.0.0; `::` for IPv6). */
  host?: string
  /** The UDP port the record announces (0: any free port, read `.port` afterwards). */
  port: number
}

/**
 * A UDP socket of its own that answers reachability challenges (docs/protocol.md §9) for one
 * key: for a node whose service has no UDP socket the library can reach (a TCP-only server, a
 * process that only announces). It binds the announced port number on UDP (a TCP service keeps
 * its TCP port: the two namespaces are separate) and ignores every other datagram.
 */
export class ChallengeSocket {
  readonly #socket: Socket
  readonly answerer: ChallengeAnswerer
  #closed: Promise<void> | null = null

  private constructor(socket: Socket, answerer: ChallengeAnswerer) {
    this.#socket = socket
    this.answerer = answerer
  }

  static async bind(
    identity: ChallengeIdentity,
    options: ChallengeSocketOptions,
  ): Promise<ChallengeSocket> {
    const host = options.host ?? '0.0.0.0'
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' })
    const answerer = new ChallengeAnswerer(identity, options)
    const s = new ChallengeSocket(socket, answerer)
    socket.on('message', (msg, rinfo) => {
      answerer.handle(msg, rinfo, (reply, port, address) => {
        socket.send(reply, port, address)
      })
    })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(options.port, host, () => {
        socket.off('error', reject)
        // A send error (ICMP from a vanished tracker) must not crash the process.
        socket.on('error', () => undefined)
        resolve()
      })
    })
    return s
  }

  get port(): number {
    return this.#socket.address().port
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>(resolve => {
      this.#socket.close(() => {
        resolve()
      })
    })
    return this.#closed
  }
}
