import { type Clock, systemClock } from '../clock.js'
import { WireError } from '../errors.js'
import { MessageType, PROTOCOL_VERSION } from '../wire/constants.js'
import { decodeMessage } from '../wire/messages.js'

/*
 * The node's side of proof of address (docs/protocol.md §9): a tracker sends a `challenge` to an
 * endpoint a record named, and the node answers from that endpoint with a `challenge-reply`, the
 * same bytes with the type changed. A game server passes the datagrams its own socket does not
 * understand to `answerChallenge` (or to `ChallengeAnswerer.handle`, with a rate limit) and
 * sends back what it returns; `metatracker announce --answer-challenges` does the same on a
 * socket of its own for nodes that have none.
 */

/** Smallest and largest challenge: header, token, key, then a 1- to 32-byte network. */
export const CHALLENGE_MIN = 5 + 16 + 32 + 1 + 1
export const CHALLENGE_MAX = 5 + 16 + 32 + 1 + 32

const CHALLENGE_BYTE = (PROTOCOL_VERSION << 4) | MessageType.CHALLENGE
const REPLY_BYTE = (PROTOCOL_VERSION << 4) | MessageType.CHALLENGE_REPLY

/** Who answers: one key, in the networks it announces in. */
export interface ChallengeIdentity {
  publicKey: Uint8Array
  networks: readonly string[]
}

/** Is this datagram shaped like a challenge (cheap: length and first byte only)? */
export function looksLikeChallenge(datagram: Uint8Array): boolean {
  return (
    datagram.byteLength >= CHALLENGE_MIN &&
    datagram.byteLength <= CHALLENGE_MAX &&
    datagram[0] === CHALLENGE_BYTE
  )
}

/**
 * The reply to send back to the datagram's source when `datagram` is a well-formed challenge for
 * this key and one of its networks; null otherwise (not a challenge, malformed, or for another
 * key or network: never answered, so nobody can use the node to reflect traffic for a key it
 * does not hold). The reply has exactly the challenge's size.
 */
export function answerChallenge(
  datagram: Uint8Array,
  identity: ChallengeIdentity,
): Uint8Array | null {
  if (!looksLikeChallenge(datagram)) return null
  let m
  try {
    m = decodeMessage(datagram)
  } catch (err) {
    if (err instanceof WireError) return null
    throw err
  }
  if (m.type !== 'challenge') return null
  if (!Buffer.from(m.publicKey).equals(Buffer.from(identity.publicKey))) return null
  if (!identity.networks.includes(m.network)) return null
  const reply = Uint8Array.from(datagram)
  reply[0] = REPLY_BYTE
  return reply
}

/** Where a datagram came from (what node:dgram's message event reports). */
export interface RemoteInfo {
  address: string
  port: number
}

export interface ChallengeAnswererOptions {
  /** Replies per second at most to other sources (a token bucket, one second's burst); 20. */
  rate?: number
  /**
   * The trackers' addresses (literal IPs): their challenges have a bucket of their own, so
   * forged challenges from elsewhere cannot use up the answers the trackers need.
   */
  trusted?: (address: string) => boolean
  clock?: Clock
}

/**
 * `answerChallenge` with a rate limit, for a socket exposed to the internet: forged challenges
 * (from a spoofed source) get at most `rate` replies per second, each no larger than the
 * datagram that asked for it.
 */
export class ChallengeAnswerer {
  readonly #identity: ChallengeIdentity
  readonly #rate: number
  readonly #clock: Clock
  readonly #trusted: (address: string) => boolean
  /** [tokens, last refill ms] for other sources, then for the trusted trackers. */
  readonly #buckets: [number, number][]
  readonly counts = { answered: 0, ignored: 0, limited: 0 }

  constructor(identity: ChallengeIdentity, options: ChallengeAnswererOptions = {}) {
    this.#identity = identity
    this.#rate = options.rate ?? 20
    this.#clock = options.clock ?? systemClock
    this.#trusted = options.trusted ?? (() => false)
    const now = this.#clock.now()
    this.#buckets = [
      [this.#rate, now],
      [this.#rate, now],
    ]
  }

  /**
   * Hand one datagram over. True when it was a challenge (answered through `send`, or dropped
   * over the rate): the caller stops there. False: not a challenge for us, the game handles it.
   */
  handle(
    datagram: Uint8Array,
    from: RemoteInfo,
    send: (reply: Uint8Array, port: number, address: string) => void,
  ): boolean {
    if (!looksLikeChallenge(datagram)) return false
    const reply = answerChallenge(datagram, this.#identity)
    if (reply === null) {
      this.counts.ignored++
      return true
    }
    const now = this.#clock.now()
    const b = this.#buckets[this.#trusted(from.address) ? 1 : 0] as [number, number]
    b[0] = Math.min(this.#rate, b[0] + ((now - b[1]) / 1000) * this.#rate)
    b[1] = now
    if (b[0] < 1) {
      this.counts.limited++
      return true
    }
    b[0] -= 1
    this.counts.answered++
    send(reply, from.port, from.address)
    return true
  }
}
