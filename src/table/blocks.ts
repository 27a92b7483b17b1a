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

/** Entries held per block. Counts never go negative; a block at zero is forgotten. */
export class BlockCounter {
  readonly #counts = new Map<string, number>()

  count(block: string): number {
    return this.#counts.get(block) ?? 0
  }

  add(block: string): void {
    this.#counts.set(block, (this.#counts.get(block) ?? 0) + 1)
  }

  remove(block: string): void {
    const n = this.#counts.get(block)
    if (n === undefined) return
    if (n <= 1) this.#counts.delete(block)
    else this.#counts.set(block, n - 1)
  }

  /** Number of blocks holding at least one entry. */
  get blocks(): number {
    return this.#counts.size
  }

  *[Symbol.iterator](): IterableIterator<[string, number]> {
    yield* this.#counts
  }
}
