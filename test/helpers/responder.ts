// A game server's UDP socket on loopback that answers reachability challenges
// (docs/protocol.md §9) through the library's ChallengeAnswerer, and counts what it got.
import { createSocket } from 'node:dgram'
import { ChallengeAnswerer } from '../../src/client/challenge-answer.js'
import type { Teardown } from './tracker.js'

export interface Responder {
  port: number
  answerer: ChallengeAnswerer
  /** Challenges received (answered or not). */
  readonly received: number
  /** Stop answering (the socket stays bound: a crashed game loop, not a closed port). */
  mute(): void
  close(): Promise<void>
}

export async function startResponder(
  t: Teardown | null,
  publicKey: Uint8Array,
  network: string,
  host = '127.0.0.1',
): Promise<Responder> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
  const answerer = new ChallengeAnswerer({ publicKey, networks: [network] }, { rate: 1000 })
  let received = 0
  let muted = false
  socket.on('message', (msg, rinfo) => {
    received++
    if (muted) return
    answerer.handle(msg, rinfo, (reply, port, address) => {
      socket.send(reply, port, address)
    })
  })
  await new Promise<void>(resolve => socket.bind(0, host, resolve))
  let closed: Promise<void> | null = null
  const close = (): Promise<void> => {
    closed ??= new Promise<void>(resolve => {
      socket.close(() => {
        resolve()
      })
    })
    return closed
  }
  t?.after(close)
  return {
    port: socket.address().port,
    answerer,
    get received() {
      return received
    },
    mute() {
      muted = true
    },
    close,
  }
}
