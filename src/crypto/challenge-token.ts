import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { Limits } from '../wire/constants.js'

/*
 * docs/protocol.md §9: the stateless token a tracker puts in a reachability challenge.
 *   token = u32(time) || first 12 bytes of HMAC-SHA256(K(epoch), u32(time) || publicKey[32]
 *           || u8(len(network)) || network || ip[16] || u16(port))
 *   K(epoch) = HMAC-SHA256(master, "metatracker/v1/challenge" || u32(epoch)),
 *   epoch = floor(time / CHALLENGE_EPOCH)
 * `ip` is the challenged address as 16 bytes (IPv4 as IPv4-mapped IPv6). The master secret is
 * random per process and never leaves it; the key rotates every epoch without any state, and a
 * token is checked against the key of its own epoch only. Nothing is stored per challenge.
 */

/** Seconds one challenge key is used. */
export const CHALLENGE_EPOCH = 600

const MAC_BYTES = Limits.CHALLENGE_TOKEN_BYTES - 4
const LABEL = Buffer.from('metatracker/v1/challenge', 'ascii')

/** What a token binds: the key that named the endpoint, its network, and the endpoint. */
export interface ChallengeSubject {
  publicKey: Uint8Array
  network: string
  /** The challenged address as 16 bytes (IPv4-mapped for IPv4). */
  ip16: Uint8Array
  port: number
}

/**
 * What issues and checks challenge tokens: one ChallengeTokens, or a shared ring of them (a
 * tracker of several front-ends, docs/scale-out.md §4: issue with the current, accept current or
 * previous).
 */
export interface ChallengeTokenSource {
  issue(time: number, subject: ChallengeSubject): Uint8Array
  check(token: Uint8Array, subject: ChallengeSubject, now: number, maxAge: number): number | null
}

export class ChallengeTokens implements ChallengeTokenSource {
  readonly #master: Uint8Array
  /** Keys of the last epochs asked for (at most two are live at any time). */
  readonly #keys = new Map<number, Buffer>()

  constructor(master: Uint8Array = randomBytes(32)) {
    this.#master = master
  }

  /** A token for `subject` issued at `time` (Unix seconds). */
  issue(time: number, subject: ChallengeSubject): Uint8Array {
    const out = new Uint8Array(Limits.CHALLENGE_TOKEN_BYTES)
    new DataView(out.buffer).setUint32(0, time >>> 0)
    out.set(this.#mac(time, subject), 4)
    return out
  }

  /**
   * The token's time when this tracker issued `token` for `subject` at most `maxAge` seconds
   * before `now`; null otherwise (forged, for another key, network or endpoint, too old, or from
   * the future).
   */
  check(token: Uint8Array, subject: ChallengeSubject, now: number, maxAge: number): number | null {
    if (token.byteLength !== Limits.CHALLENGE_TOKEN_BYTES) return null
    const time = new DataView(token.buffer, token.byteOffset, 4).getUint32(0)
    if (time > now || now - time > maxAge) return null
    return timingSafeEqual(this.#mac(time, subject), token.subarray(4)) ? time : null
  }

  #mac(time: number, s: ChallengeSubject): Buffer {
    const net = Buffer.from(s.network, 'utf8')
    const input = Buffer.allocUnsafe(4 + 32 + 1 + net.byteLength + 16 + 2)
    input.writeUInt32BE(time >>> 0, 0)
    input.set(s.publicKey.subarray(0, 32), 4)
    input[36] = net.byteLength
    input.set(net, 37)
    let at = 37 + net.byteLength
    input.set(s.ip16, at)
    at += 16
    input.writeUInt16BE(s.port & 0xffff, at)
    return createHmac('sha256', this.#keyOf(Math.floor(time / CHALLENGE_EPOCH)))
      .update(input)
      .digest()
      .subarray(0, MAC_BYTES)
  }

  #keyOf(epoch: number): Buffer {
    let k = this.#keys.get(epoch)
    if (k === undefined) {
      const e = Buffer.allocUnsafe(4)
      e.writeUInt32BE(epoch >>> 0, 0)
      k = createHmac('sha256', this.#master).update(LABEL).update(e).digest()
      if (this.#keys.size >= 4) this.#keys.clear()
      this.#keys.set(epoch, k)
    }
    return k
  }
}
