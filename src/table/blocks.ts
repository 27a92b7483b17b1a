import { parseIPv6 } from '../wire/endpoint.js'

/**
 * Address blocks for per-block caps: an IPv4 /24 or an IPv6 /48, so one host (or one small
 * network) cannot fill the table. `address` is the canonical text form (IPv4-mapped IPv6 already
 * normalised to IPv4).
 */
export function blockOf(address: string): string {
  return blocksOf(address)[0]
}

/**
 * The wider block around a block, for the second cap level: an IPv4 /16 (256 /24s) or an IPv6
 * /32 (65,536 /48s, a typical allocation to one provider). Distinct from every blockOf key.
 */
export function wideBlockOf(address: string): string {
  return blocksOf(address)[1]
}

/** Both block keys of an address, [/24 or /48, /16 or /32], from one parse. */
export function blocksOf(address: string): [string, string] {
  if (!address.includes(':')) {
    const second = address.indexOf('.', address.indexOf('.') + 1)
    const third = second < 0 ? -1 : address.indexOf('.', second + 1)
    if (third < 0) return [address, 'w' + address]
    return [address.slice(0, third), 'w' + address.slice(0, second)]
  }
  const bytes = parseIPv6(address)
  if (bytes === null) return [address, 'w' + address]
  let key = '6:'
  for (let i = 0; i < 6; i++) {
    key += (bytes[i] ?? 0).toString(16).padStart(2, '0')
  }
  return [key, 'w' + key.slice(0, 10)]
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
