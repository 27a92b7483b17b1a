import { LRUCache } from 'lru-cache'

/** Why an entry left the table. `replace`: a higher seq of the same key took its place. */
export type LeaveReason = 'evict' | 'expire' | 'delete' | 'replace'

/** What the segments need of a value. */
export interface Segmented {
  readonly key: string
  /** In the protected segment. Written only by Segments. */
  prot: boolean
}

export interface SegmentsOptions<V> {
  maxEntries: number
  maxBytes: number
  /** Share (0..1] of maxEntries and maxBytes the protected segment may hold. */
  protectedShare: number
  charge: (v: V) => number
  /**
   * Bytes held for the values outside their own charges (the owner's indexes), and, given a value
   * about to be added, what adding it would add to them; counted against maxBytes with the values.
   */
  extraBytes?: (adding?: V) => number
  /** Has the value outlived its time? (The owner keeps its expiry; lru-cache keeps none.) */
  expired: (v: V) => boolean
  /** Called once when a value enters the table, never for a move between segments. */
  onAdd: (v: V) => void
  /** Called once when a value leaves the table, never for a move between segments. */
  onLeave: (v: V, reason: LeaveReason) => void
  /**
   * May `candidate` take a full protected segment's place from its least recently used `victim`?
   * (Frequency-aware admission, as in TinyLFU: a newly proven value does not displace one with a
   * longer record.) Always yes when absent.
   */
  outranks?: (candidate: V, victim: V) => boolean
}

/**
 * A segmented LRU (SLRU) on two lru-cache instances: newcomers enter `probation`; the owner
 * promotes a value that has proved itself into `protected`. Room for a newcomer is made by
 * evicting probation's least recently used value first, protected values only when probation is
 * empty. Protected is capped to a share of the table; its least recently used value is demoted to
 * the most recent end of probation when a promotion would pass the cap. Count and byte budgets
 * hold for the two segments together, exactly: each cache is only a store in LRU order, every
 * eviction is decided here before a value is added.
 */
export class Segments<V extends Segmented> {
  readonly probation: LRUCache<string, V>
  readonly protected: LRUCache<string, V>
  readonly maxEntries: number
  readonly maxBytes: number
  readonly protectedMaxEntries: number
  readonly protectedMaxBytes: number
  readonly #o: SegmentsOptions<V>
  /** Set while a value moves between segments (its hooks must not fire) or is replaced. */
  #moving = false
  #replacing = false

  constructor(o: SegmentsOptions<V>) {
    this.#o = o
    this.maxEntries = o.maxEntries
    this.maxBytes = o.maxBytes
    this.protectedMaxEntries = Math.max(1, Math.floor(o.maxEntries * o.protectedShare))
    this.protectedMaxBytes = Math.max(1, Math.floor(o.maxBytes * o.protectedShare))
    // No `max`: lru-cache would preallocate its slot arrays for that many entries at start
    // (about 50 B a slot, both segments). Without it, its arrays grow with the entries held; the
    // count bound is enforced here, before every add, like the byte bound.
    const make = (): LRUCache<string, V> =>
      new LRUCache<string, V>({
        maxSize: o.maxBytes,
        sizeCalculation: o.charge,
        // No ttl: the values carry their expiry (two fewer arrays of 8 B a slot in lru-cache).
        updateAgeOnGet: false,
        onInsert: (v, _k, reason) => {
          if (!this.#moving && reason === 'add') o.onAdd(v)
        },
        dispose: (v, _k, reason) => {
          if (this.#moving) return
          o.onLeave(
            v,
            this.#replacing
              ? 'replace'
              : reason === 'evict' || reason === 'expire'
                ? reason
                : 'delete',
          )
        },
      })
    this.probation = make()
    this.protected = make()
  }

  get size(): number {
    return this.probation.size + this.protected.size
  }

  /** Bytes the values are charged (their charges only; see `extraBytes`). */
  get bytes(): number {
    return this.probation.calculatedSize + this.protected.calculatedSize
  }

  /** The value under `key` in either segment, expired or not, recency untouched. */
  peek(key: string): V | undefined {
    return this.probation.peek(key) ?? this.protected.peek(key)
  }

  /**
   * Add a value not held (to probation, or straight to protected when `prot`), evicting least
   * recently used values (probation first) until it fits. False when it can never fit.
   */
  add(v: V, prot = false): boolean {
    const c = this.#o.charge(v)
    if (c > this.maxBytes) return false
    if (c > this.protectedMaxBytes) prot = false
    const extra = this.#o.extraBytes ?? ((): number => 0)
    while (this.size + 1 > this.maxEntries || this.bytes + extra(v) + c > this.maxBytes) {
      const from = this.probation.size > 0 ? this.probation : this.protected
      if (from.pop() === undefined) break
    }
    if (prot) {
      this.#makeProtectedRoom(c)
      v.prot = true
      this.protected.set(v.key, v)
    } else {
      v.prot = false
      this.probation.set(v.key, v)
    }
    return true
  }

  /** `next` (same key) takes the place of `old`, in old's segment. */
  replace(old: V, next: V): boolean {
    this.#replacing = true
    try {
      this.#cache(old).delete(old.key)
    } finally {
      this.#replacing = false
    }
    return this.add(next, old.prot)
  }

  /** A held value becomes the most recent of its segment. */
  touch(v: V): void {
    this.#cache(v).set(v.key, v)
  }

  /**
   * Move a held probation value to the most recent end of protected; when protected is full and
   * its least recently used value outranks `v`, `v` only becomes the most recent of probation.
   * True when `v` is protected after the call.
   */
  promote(v: V): boolean {
    if (v.prot) {
      this.touch(v)
      return true
    }
    const c = this.#o.charge(v)
    const full =
      this.protected.size + 1 > this.protectedMaxEntries ||
      this.protected.calculatedSize + c > this.protectedMaxBytes
    const victimKey = full ? this.protected.rkeys().next().value : undefined
    const victim = victimKey === undefined ? undefined : this.protected.peek(victimKey)
    const refused = victim !== undefined && this.#o.outranks?.(v, victim) === false
    if (c > this.protectedMaxBytes || refused) {
      this.touch(v)
      return false
    }
    this.#moving = true
    try {
      this.probation.delete(v.key)
      this.#makeProtectedRoom(c)
      v.prot = true
      this.protected.set(v.key, v)
    } finally {
      this.#moving = false
    }
    return true
  }

  delete(key: string): boolean {
    return this.probation.delete(key) || this.protected.delete(key)
  }

  clear(): void {
    this.probation.clear()
    this.protected.clear()
  }

  /** Every value, least recently used first: probation, then protected. */
  *rvalues(): IterableIterator<V> {
    for (const v of this.probation.rvalues()) if (v !== undefined) yield v
    for (const v of this.protected.rvalues()) if (v !== undefined) yield v
  }

  #cache(v: V): LRUCache<string, V> {
    return v.prot ? this.protected : this.probation
  }

  /**
   * Demote protected's least recently used values to probation (most recent end) until `c` more
   * bytes and one more value fit its cap. Totals do not change, so nothing leaves the table;
   * a demoted value already expired is dropped instead.
   */
  #makeProtectedRoom(c: number): void {
    const wasMoving = this.#moving
    while (
      this.protected.size > 0 &&
      (this.protected.size + 1 > this.protectedMaxEntries ||
        this.protected.calculatedSize + c > this.protectedMaxBytes)
    ) {
      const key = this.protected.rkeys().next().value as string
      const v = this.protected.peek(key) as V
      this.#moving = true
      this.protected.delete(key)
      this.#moving = wasMoving
      if (this.#o.expired(v)) {
        v.prot = false
        // Expired on its way down: it leaves the table now, counted as expired.
        this.#o.onLeave(v, 'expire')
        continue
      }
      this.#moving = true
      v.prot = false
      this.probation.set(key, v)
      this.#moving = wasMoving
    }
  }
}
