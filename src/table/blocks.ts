import { parseIPv6 } from '../wire/endpoint.js'

/**
 * Address blocks for per-block caps: an IPv4 /24 or an IPv6 /48, so one host (or one small
 * network) cannot fill the table. `address` is the canonical text form (IPv4-mapped IPv6 already
 * normalised to IPv4).
 */
export function blockOf(address: string): string {
  if (!address.includes(':')) {
    const dot = address.lastIndexOf('.')
    return dot < 0 ? address : address.slice(0, dot)
  }
  const bytes = parseIPv6(address)
  if (bytes === null) return address
  let key = '6:'
  for (let i = 0; i < 6; i++) key += (bytes[i] ?? 0).toString(16).padStart(2, '0')
  return key
}

/** Something kept in an index array with swap-remove: it remembers its position. */
export interface Slotted {
  slot: number
}

/**
 * A list of members with O(1) add and remove (swap-remove). The member stores its own position
 * under a field named by the caller, so one object can sit in several lists.
 */
export class SlotList<T> {
  readonly items: T[] = []

  constructor(
    readonly id: string,
    private readonly getSlot: (e: T) => number,
    private readonly setSlot: (e: T, slot: number) => void,
  ) {}

  get size(): number {
    return this.items.length
  }

  add(e: T): void {
    this.setSlot(e, this.items.length)
    this.items.push(e)
  }

  /** Remove `e` if it is here; true when it was. */
  remove(e: T): boolean {
    const at = this.getSlot(e)
    if (at < 0 || this.items[at] !== e) return false
    const last = this.items.pop() as T
    if (last !== e) {
      this.items[at] = last
      this.setSlot(last, at)
    }
    this.setSlot(e, -1)
    return true
  }
}
