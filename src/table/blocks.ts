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

/**
 * A list of members with O(1) add and remove (swap-remove), as a bare array (no object around
 * it: an index costs its array and its map entry only). The member stores its own position under
 * a field named by the caller (`Slots`), so one object can sit in several lists. A list is made
 * with its first member (`slotList`) and dropped by its owner once empty: its array starts as a
 * literal of one element (8 bytes of elements, where a first push onto an empty array reserves
 * 17 slots), which matters when an attacker spreads entries one per address block
 * (docs/benchmarks.md).
 */
export interface Slots<T> {
  get: (e: T) => number
  set: (e: T, slot: number) => void
}

export function slotList<T>(first: T, s: Slots<T>): T[] {
  s.set(first, 0)
  return [first]
}

export function slotAdd<T>(items: T[], e: T, s: Slots<T>): void {
  s.set(e, items.length)
  items.push(e)
}

/** Remove `e` if it is in `items`; true when it was. */
export function slotRemove<T>(items: T[], e: T, s: Slots<T>): boolean {
  const at = s.get(e)
  if (at < 0 || items[at] !== e) return false
  const last = items.pop() as T
  if (last !== e) {
    items[at] = last
    s.set(last, at)
  }
  s.set(e, -1)
  return true
}
