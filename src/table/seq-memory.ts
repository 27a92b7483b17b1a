import { randomBytes } from 'node:crypto'
import { seededRandom } from './select.js'

/** Ways per set: a key can sit in any of the 8 slots of the set its hash picks. */
const WAYS = 8
/** Bytes one remembered key costs: tag hi, tag lo | established, until (3 x u32), seq (f64). */
export const SEQ_SLOT_BYTES = 20

/**
 * A fixed-size memory of the highest `seq` seen per key after its entry left the table (evicted,
 * expired or deleted), so that an older record replayed later is refused (docs/protocol.md §8.3).
 * Set-associative: a keyed hash (a universal hash with multipliers drawn from a secret per table,
 * so keys cannot be ground offline to collide) picks a set of 8 slots held in typed arrays;
 * nothing is allocated after construction. A slot is free once its `until` has passed. When a
 * set is full, the slot to overwrite is the one with the lowest (established, until): keys whose
 * entry had counted a repeated announce outrank newcomers, then the memory that ends soonest
 * gives way; a newcomer that outranks none is not stored. Both losses are counted in `dropped`.
 */
export class SeqMemory {
  readonly capacity: number
  readonly #sets: number
  /** Per slot: tag hi, tag lo (63 bits) << 1 | established, until (Unix seconds, 0 = free). */
  readonly #words: Uint32Array
  readonly #seqs: Float64Array
  /** Hash multipliers, three lanes x KEY_MAX positions, drawn from the secret. */
  readonly #mul: Uint32Array
  readonly counts = { remembered: 0, dropped: 0 }

  constructor(capacity: number, secret: Uint8Array = randomBytes(16)) {
    this.#sets = Math.floor(Math.max(0, capacity) / WAYS)
    this.capacity = this.#sets * WAYS
    this.#words = new Uint32Array(this.capacity * 3)
    this.#seqs = new Float64Array(this.capacity)
    const random = seededRandom(secret)
    this.#mul = new Uint32Array(3 * KEY_MAX)
    for (let i = 0; i < this.#mul.length; i++) this.#mul[i] = (random() * 2 ** 32) | 1
  }

  /** Bytes the memory occupies (fixed at construction). */
  get bytes(): number {
    return this.capacity * SEQ_SLOT_BYTES
  }

  /**
   * Remember `key` at `seq` until `until` (Unix seconds); a higher seq already held stays, and so
   * does an established standing.
   */
  remember(key: string, seq: number, until: number, established: boolean, now: number): void {
    if (this.#sets === 0 || until <= now) return
    const [hi, lo, base] = this.#locate(key)
    const w = this.#words
    let victim = this.#findIn(hi, lo, base, now)
    let victimRank = -1
    if (victim >= 0) {
      // The key already has its slot: the higher seq and either standing are kept.
      seq = Math.max(seq, this.#seqs[victim] as number)
      established ||= ((w[victim * 3 + 1] as number) & 1) === 1
    } else {
      victimRank = Infinity
      for (let i = base; i < base + WAYS; i++) {
        const u = w[i * 3 + 2] as number
        const rank = u <= now ? -1 : ((w[i * 3 + 1] as number) & 1) * 2 ** 32 + u
        if (rank < victimRank) {
          victim = i
          victimRank = rank
        }
      }
    }
    const flag = established ? 1 : 0
    if (victimRank >= 0) {
      // The set is full of live memories: the newcomer replaces the weakest only if it outranks it.
      this.counts.dropped++
      if (flag * 2 ** 32 + until <= victimRank) return
    }
    const at = victim * 3
    w[at] = hi
    w[at + 1] = (lo | flag) >>> 0
    w[at + 2] = until
    this.#seqs[victim] = seq
    this.counts.remembered++
  }

  /** The highest seq remembered for `key` now, if any. */
  recall(key: string, now: number): number | undefined {
    const i = this.#find(key, now)
    return i < 0 ? undefined : this.#seqs[i]
  }

  /** Forget `key` (its entry is held again). */
  forget(key: string, now: number): void {
    const i = this.#find(key, now)
    if (i >= 0) this.#words[i * 3 + 2] = 0
  }

  /** Live memories (O(capacity): for tests and stats, not for a request path). */
  live(now: number): number {
    let n = 0
    for (let i = 0; i < this.capacity; i++) if ((this.#words[i * 3 + 2] as number) > now) n++
    return n
  }

  clear(): void {
    this.#words.fill(0)
  }

  #find(key: string, now: number): number {
    if (this.#sets === 0) return -1
    const [hi, lo, base] = this.#locate(key)
    return this.#findIn(hi, lo, base, now)
  }

  #findIn(hi: number, lo: number, base: number, now: number): number {
    const w = this.#words
    for (let i = base; i < base + WAYS; i++) {
      const at = i * 3
      if (
        w[at] === hi &&
        ((w[at + 1] as number) & ~1) >>> 0 === lo &&
        (w[at + 2] as number) > now
      ) {
        return i
      }
    }
    return -1
  }

  /** [tag hi, tag lo (low bit 0), first slot of the set]: three lanes of sum(mul[i] * (byte + 1)). */
  #locate(key: string): [number, number, number] {
    const m = this.#mul
    let a = 0
    let b = 0
    let c = 0
    const n = Math.min(key.length, KEY_MAX)
    for (let i = 0; i < n; i++) {
      const x = key.charCodeAt(i) + 1
      a = (a + Math.imul(m[i] as number, x)) | 0
      b = (b + Math.imul(m[KEY_MAX + i] as number, x)) | 0
      c = (c + Math.imul(m[2 * KEY_MAX + i] as number, x)) | 0
    }
    return [fmix(a), (fmix(b) & ~1) >>> 0, (fmix(c) % this.#sets) * WAYS]
  }
}

/** Longest key hashed (u8 length, network of at most 32 bytes, 32-byte public key). */
const KEY_MAX = 1 + 32 + 32

/** MurmurHash3's 32-bit finaliser: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
