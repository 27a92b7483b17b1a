import { WireError } from '../errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * A bounds-checked cursor over untrusted bytes (§3). Every read checks what remains and throws
 * WireError('WIRE_TRUNCATED') instead of letting a RangeError escape; `end()` rejects trailing
 * bytes because signatures cover exact bytes.
 */
export class Reader {
  readonly #buf: Uint8Array
  readonly #view: DataView
  #pos = 0

  constructor(buf: Uint8Array) {
    this.#buf = buf
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  get offset(): number {
    return this.#pos
  }

  get remaining(): number {
    return this.#buf.byteLength - this.#pos
  }

  #need(n: number, field: string): number {
    if (this.remaining < n) throw new WireError('WIRE_TRUNCATED', field)
    const at = this.#pos
    this.#pos += n
    return at
  }

  u8(field: string): number {
    return this.#view.getUint8(this.#need(1, field))
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#need(2, field))
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#need(4, field))
  }

  /** A u64 that must fit a JS safe integer (values above 2^53-1 are refused). */
  u64(field: string): number {
    const at = this.#need(8, field)
    const hi = this.#view.getUint32(at)
    const lo = this.#view.getUint32(at + 4)
    if (hi > 0x1fffff) throw new WireError('WIRE_BAD_VALUE', `${field} above 2^53-1`)
    return hi * 0x1_0000_0000 + lo
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    const at = this.#need(n, field)
    return this.#buf.subarray(at, at + n)
  }

  /** A copy of the next n bytes, for values kept beyond the life of the input buffer. */
  copy(n: number, field: string): Uint8Array {
    // new Uint8Array(view) copies; Buffer#slice would not (it shares memory).
    return new Uint8Array(this.bytes(n, field))
  }

  /** str8 (§3): u8 byte length, then UTF-8 without control characters. */
  str8(field: string, max: number, min = 0): string {
    const len = this.u8(field)
    if (len > max) throw new WireError('WIRE_STRING_TOO_LONG', `${field} (${len} > ${max})`)
    if (len < min) throw new WireError('WIRE_BAD_STRING', `${field} is empty`)
    const raw = this.bytes(len, field)
    let text: string
    try {
      text = utf8.decode(raw)
    } catch {
      throw new WireError('WIRE_BAD_STRING', `${field} is not UTF-8`)
    }
    if (hasControl(text))
      throw new WireError('WIRE_BAD_STRING', `${field} holds control characters`)
    return text
  }

  /** A count (u8) checked against its cap before anything is allocated. */
  count(field: string, max: number): number {
    const n = this.u8(field)
    if (n > max) throw new WireError('WIRE_TOO_MANY_ITEMS', `${field} (${n} > ${max})`)
    return n
  }

  end(): void {
    if (this.remaining !== 0) throw new WireError('WIRE_TRAILING_BYTES', `${this.remaining} bytes`)
  }
}

// C0 controls, DEL and C1 controls are never valid in protocol strings.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function hasControl(text: string): boolean {
  return CONTROL.test(text)
}
