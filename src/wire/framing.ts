import { WireError } from '../errors.js'
import { Limits } from './constants.js'

/**
 * §10: TCP framing. Each message is preceded by its length as a u32 big-endian; a length of 0
 * (WIRE_FRAME_EMPTY) or above the frame cap (WIRE_FRAME_TOO_LARGE) is a protocol violation and
 * the connection is closed.
 */
export const FRAME_HEADER = 4

export function encodeFrame(message: Uint8Array): Uint8Array {
  if (message.byteLength === 0) throw new WireError('WIRE_FRAME_EMPTY')
  if (message.byteLength > Limits.MAX_FRAME) {
    throw new WireError('WIRE_FRAME_TOO_LARGE', `${message.byteLength} bytes`)
  }
  const out = new Uint8Array(FRAME_HEADER + message.byteLength)
  new DataView(out.buffer).setUint32(0, message.byteLength)
  out.set(message, FRAME_HEADER)
  return out
}

/**
 * Incremental frame decoder: feed it chunks as they arrive, get whole frames back. It never
 * buffers more than one frame plus its header, so a peer cannot make it grow without bound.
 */
export class FrameDecoder {
  readonly #max: number
  #pending: Uint8Array[] = []
  #pendingBytes = 0

  constructor(maxFrame: number = Limits.MAX_FRAME) {
    this.#max = maxFrame
  }

  get buffered(): number {
    return this.#pendingBytes
  }

  /**
   * Returns every frame completed by this chunk; throws WireError on a bad length
   * (WIRE_FRAME_EMPTY for 0, WIRE_FRAME_TOO_LARGE above the cap) as soon as the header is in.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.byteLength
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.#pendingBytes < FRAME_HEADER) break
      const head = this.#take(FRAME_HEADER, false)
      const len = new DataView(head.buffer, head.byteOffset, FRAME_HEADER).getUint32(0)
      if (len === 0) throw new WireError('WIRE_FRAME_EMPTY')
      if (len > this.#max) {
        throw new WireError('WIRE_FRAME_TOO_LARGE', `frame of ${len} bytes (cap ${this.#max})`)
      }
      if (this.#pendingBytes < FRAME_HEADER + len) break
      this.#take(FRAME_HEADER, true)
      frames.push(this.#take(len, true))
    }
    return frames
  }

  /** Read n bytes from the front; consume them when `consume` is true. */
  #take(n: number, consume: boolean): Uint8Array {
    const first = this.#pending[0]
    if (first !== undefined && first.byteLength >= n) {
      const out = first.subarray(0, n)
      if (consume) {
        if (first.byteLength === n) this.#pending.shift()
        else this.#pending[0] = first.subarray(n)
        this.#pendingBytes -= n
      }
      return out
    }
    const all = new Uint8Array(this.#pendingBytes)
    let at = 0
    for (const c of this.#pending) {
      all.set(c, at)
      at += c.byteLength
    }
    this.#pending = [all]
    return this.#take(n, consume)
  }
}
