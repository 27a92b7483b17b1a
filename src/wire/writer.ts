import { WireError } from '../errors.js'
import { hasControl } from './reader.js'

const utf8 = new TextEncoder()

/**
 * A growable byte writer. Encoders validate what they write with the same caps the decoders
 * enforce, so a message we encode is always one we would accept.
 */
export class Writer {
  #buf: Uint8Array
  #view: DataView
  #pos = 0

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial)
    this.#view = new DataView(this.#buf.buffer)
  }

  get length(): number {
    return this.#pos
  }

  #reserve(n: number): number {
    const need = this.#pos + n
    if (need > this.#buf.byteLength) {
      let size = this.#buf.byteLength * 2
      while (size < need) size *= 2
      const next = new Uint8Array(size)
      next.set(this.#buf.subarray(0, this.#pos))
      this.#buf = next
      this.#view = new DataView(next.buffer)
    }
    const at = this.#pos
    this.#pos = need
    return at
  }

  u8(v: number, field: string): this {
    checkInt(v, 0xff, field)
    const at = this.#reserve(1)
    this.#view.setUint8(at, v)
    return this
  }

  u16(v: number, field: string): this {
    checkInt(v, 0xffff, field)
    const at = this.#reserve(2)
    this.#view.setUint16(at, v)
    return this
  }

  u32(v: number, field: string): this {
    checkInt(v, 0xffff_ffff, field)
    const at = this.#reserve(4)
    this.#view.setUint32(at, v)
    return this
  }

  u64(v: number, field: string): this {
    checkInt(v, Number.MAX_SAFE_INTEGER, field)
    const at = this.#reserve(8)
    this.#view.setUint32(at, Math.floor(v / 0x1_0000_0000))
    this.#view.setUint32(at + 4, v >>> 0)
    return this
  }

  bytes(b: Uint8Array, n: number, field: string): this {
    if (b.byteLength !== n) throw new WireError('WIRE_BAD_VALUE', `${field} must be ${n} bytes`)
    const at = this.#reserve(n) // reserve first: it may replace #buf
    this.#buf.set(b, at)
    return this
  }

  /** Raw bytes of any length (the caller has checked them). */
  raw(b: Uint8Array): this {
    const at = this.#reserve(b.byteLength)
    this.#buf.set(b, at)
    return this
  }

  str8(text: string, field: string, max: number, min = 0): this {
    const raw = utf8.encode(text)
    if (raw.byteLength > max) {
      throw new WireError('WIRE_STRING_TOO_LONG', `${field} (${raw.byteLength} > ${max})`)
    }
    if (raw.byteLength < min) throw new WireError('WIRE_BAD_STRING', `${field} is empty`)
    if (hasControl(text))
      throw new WireError('WIRE_BAD_STRING', `${field} holds control characters`)
    this.u8(raw.byteLength, field)
    return this.raw(raw)
  }

  count(n: number, field: string, max: number): this {
    if (n > max) throw new WireError('WIRE_TOO_MANY_ITEMS', `${field} (${n} > ${max})`)
    return this.u8(n, field)
  }

  /** A copy of what was written, trimmed to length. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos)
  }
}

function checkInt(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('WIRE_BAD_VALUE', `${field} must be an integer in 0..${max}`)
  }
}
