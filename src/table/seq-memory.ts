import { randomBytes } from 'node:crypto'
import { seededRandom } from './select.js'

/** Ways per set: a key can sit in any of the 8 slots of the set its hash picks. */
const WAYS = 8
/** Bytes one remembered key costs: a 64-bit key tag, `until`, a record hash (3 x u32 + u32), seq (f64). */
export const SEQ_SLOT_BYTES = 24

/** What is remembered about a key whose entry left the table. */
export interface Remembered {
  seq: number
  /** FNV-1a of the record bytes (31 bits): equal seq with other bytes is not the same record. */
  bytesHash: number
}

/** FNV-1a over a latin1 string, 31 bits (the low bit of the stored word is a flag). */
export function recordHash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 1) & 0x7fffffff
}

/**
 * A fixed-size memory of the highest `seq` seen per key after its entry left the table (evicted,
 * expired or deleted), so that an older record replayed later is refused (docs/protocol.md §8.3).
 * Set-associative: a keyed hash (a universal hash with multipliers drawn from a secret per table,
 * so keys cannot be ground offline to collide) picks a set of 8 slots held in typed arrays; nothing is allocated after construction. A slot is free
 * once its `until` has passed. When a set is full, the slot to overwrite is the one with the
 * lowest (established, until): entries that had earned the protected segment outrank newcomers,
 * then the one forgotten soonest anyway goes first. Every early loss is counted in `dropped`.
 */
export class SeqMemory {
  readonly capacity: number
  readonly #sets: number
  /** Per slot: tag hi, tag lo, until (Unix seconds, 0 = free), record hash << 1 | established. */
  readonly #words: Uint32Array
  readonly #seqs: Float64Array
  /** Hash multipliers, three lanes x KEY_MAX positions, drawn from the secret. */
  readonly #mul: Uint32Array
  readonly counts = { remembered: 0, dropped: 0 }

  constructor(capacity: number, secret: Uint8Array = randomBytes(16)) {
    this.#sets = Math.floor(Math.max(0, capacity) / WAYS)
    this.capacity = this.#sets * WAYS
    this.#words = new Uint32Array(this.capacity * 4)
    this.#seqs = new Float64Array(this.capacity)
    const random = seededRandom(secret)
    this.#mul = new Uint32Array(3 * KEY_MAX)
    for (let i = 0; i < this.#mul.length; i++) this.#mul[i] = (random() * 2 ** 32) | 1
  }

  /** Bytes the memory occupies (fixed at construction). */
  get bytes(): number {
    return this.capacity * SEQ_SLOT_BYTES
  }

  /** Remember `key` at `seq` until `until` (Unix seconds). */
  remember(
    key: string,
    r: Remembered,
    until: number,
    established: boolean,
    nowSeconds: number,
  ): void {
    if (this.#sets === 0 || until <= nowSeconds) return
    const [hi, lo, base] = this.#locate(key)
    const w = this.#words
    let victim = this.#findIn(hi, lo, base, nowSeconds)
    let victimRank = -1
    if (victim < 0) {
      victimRank = Infinity
      for (let i = base; i < base + WAYS; i++) {
        const u = w[i * 4 + 2] as number
        const rank = u <= nowSeconds ? -1 : ((w[i * 4 + 3] as number) & 1) * 2 ** 32 + u
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
    const at = victim * 4
    w[at] = hi
    w[at + 1] = lo
    w[at + 2] = until
    w[at + 3] = ((r.bytesHash << 1) | flag) >>> 0
    this.#seqs[victim] = r.seq
    this.counts.remembered++
  }

  /** What is remembered about `key` now, if anything. */
  recall(key: string, nowSeconds: number): Remembered | undefined {
    const i = this.#find(key, nowSeconds)
    if (i < 0) return undefined
    return { seq: this.#seqs[i] as number, bytesHash: (this.#words[i * 4 + 3] as number) >>> 1 }
  }

  /** Forget `key` (its entry is held again). */
  forget(key: string, nowSeconds: number): void {
    const i = this.#find(key, nowSeconds)
    if (i >= 0) this.#words[i * 4 + 2] = 0
  }

  /** Live memories (O(capacity): for tests and stats, not for a request path). */
  live(nowSeconds: number): number {
    let n = 0
    for (let i = 0; i < this.capacity; i++) if ((this.#words[i * 4 + 2] as number) > nowSeconds) n++
    return n
  }

  clear(): void {
    this.#words.fill(0)
  }

  #find(key: string, nowSeconds: number): number {
    if (this.#sets === 0) return -1
    const [hi, lo, base] = this.#locate(key)
    return this.#findIn(hi, lo, base, nowSeconds)
  }

  #findIn(hi: number, lo: number, base: number, nowSeconds: number): number {
    const w = this.#words
    for (let i = base; i < base + WAYS; i++) {
      const at = i * 4
      if (w[at] === hi && w[at + 1] === lo && (w[at + 2] as number) > nowSeconds) return i
    }
    return -1
  }

  /** [tag hi, tag lo, first slot of the set]: three lanes of sum(mul[i] * (byte + 1)), mixed. */
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
    return [fmix(a), fmix(b), (fmix(c) % this.#sets) * WAYS]
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
