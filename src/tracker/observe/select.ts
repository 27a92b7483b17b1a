import type { QuerySort } from '../../wire/messages.js'
import { type ViewEntry, isLive } from './view.js'

/*
 * Selection for the observers (JSON API and listing ports), with the semantics of protocol
 * §8.5: filters, sorts with ties broken by public key, `best` (MetaCube's REROUTE) and a stable
 * per-asker sample. Everything runs in O(n log k) over one pass of the table's iterator and keeps
 * at most k entries, so a large table costs time proportional to its size and no more memory.
 */

export interface ServerFilter {
  world: string
  version: string
  notFull: boolean
  tags: readonly string[]
}

export const ANY_SERVER: ServerFilter = { world: '', version: '', notFull: false, tags: [] }

export interface Selection {
  /** How many live entries matched in all. */
  total: number
  entries: ViewEntry[]
}

/** Does a server entry pass the filter? `matchWorld` false ignores the world (for `best`). */
export function matchesServer(e: ViewEntry, f: ServerFilter, matchWorld = true): boolean {
  const s = e.record.server
  if (s === null) return false
  if (matchWorld && f.world !== '' && s.world !== f.world) return false
  if (f.version !== '' && s.version !== f.version) return false
  if (f.notFull && s.players >= s.maxPlayers) return false
  for (const t of f.tags) if (!s.tags.includes(t)) return false
  return true
}

function room(e: ViewEntry): number {
  const s = e.record.server
  return s === null ? 0 : Math.max(0, s.maxPlayers - s.players)
}

function players(e: ViewEntry): number {
  return e.record.server?.players ?? 0
}

function name(e: ViewEntry): string {
  return e.record.server?.name ?? ''
}

/** Byte-wise public key order: the final tie-break, so every order is total and stable. */
export function compareKeys(a: ViewEntry, b: ViewEntry): number {
  return Buffer.compare(a.record.publicKey, b.record.publicKey)
}

/** Order of `list` mode: negative when a comes first. */
export function serverOrder(sort: QuerySort): (a: ViewEntry, b: ViewEntry) => number {
  switch (sort) {
    case 'players':
      return (a, b) => players(b) - players(a) || compareKeys(a, b)
    case 'room':
      return (a, b) => room(b) - room(a) || compareKeys(a, b)
    case 'name':
      return (a, b) => compareStrings(name(a), name(b)) || compareKeys(a, b)
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** `list` mode: matching servers, sorted, `offset` skipped, at most `count` returned. */
export function listServers(
  entries: Iterable<ViewEntry>,
  f: ServerFilter,
  sort: QuerySort,
  offset: number,
  count: number,
  now: number,
): Selection {
  let total = 0
  const keep = new TopK<ViewEntry>(offset + count, serverOrder(sort))
  for (const e of entries) {
    if (!isLive(e, now) || !matchesServer(e, f)) continue
    total++
    keep.add(e)
  }
  return { total, entries: keep.sorted().slice(offset, offset + count) }
}

/**
 * `best` mode: the server already hosting `f.world` with the most room; if none hosts it, the
 * matching server with the most room. Full servers never win.
 */
export function bestServer(entries: Iterable<ViewEntry>, f: ServerFilter, now: number): Selection {
  const byRoom = serverOrder('room')
  let total = 0
  let inWorld: ViewEntry | null = null
  let anyWorld: ViewEntry | null = null
  for (const e of entries) {
    if (!isLive(e, now) || !matchesServer(e, f, false) || room(e) === 0) continue
    total++
    if (anyWorld === null || byRoom(e, anyWorld) < 0) anyWorld = e
    if (f.world !== '' && e.record.server?.world === f.world) {
      if (inWorld === null || byRoom(e, inWorld) < 0) inWorld = e
    }
  }
  const best = inWorld ?? anyWorld
  return { total, entries: best === null ? [] : [best] }
}

/**
 * `sample` mode: up to `count` live entries chosen by a keyed score of each public key, so the
 * same seed (one asker, one time window) gets the same sample while the table holds still, and
 * different askers get different samples. `exclude` (the asker's own key) is left out.
 */
export function sampleEntries(
  entries: Iterable<ViewEntry>,
  count: number,
  seed: number,
  now: number,
  exclude: Uint8Array | null = null,
): Selection {
  let total = 0
  const keep = new TopK<{ e: ViewEntry; score: number }>(
    count,
    (a, b) => a.score - b.score || compareKeys(a.e, b.e),
  )
  for (const e of entries) {
    if (!isLive(e, now)) continue
    if (exclude !== null && Buffer.compare(e.record.publicKey, exclude) === 0) continue
    total++
    keep.add({ e, score: keyScore(e.record.publicKey, seed) })
  }
  return { total, entries: keep.sorted().map(x => x.e) }
}

/**
 * A 32-bit score of a key under a seed. Keys are already uniform (Ed25519 public keys), so a
 * cheap integer mixer (the murmur3 finaliser) is enough to decorrelate samples across seeds;
 * this is about making scraping costly, not about secrecy.
 */
export function keyScore(key: Uint8Array, seed: number): number {
  let h = seed >>> 0
  for (let i = 0; i + 4 <= Math.min(key.byteLength, 16); i += 4) {
    const w =
      ((key[i] ?? 0) << 24) |
      ((key[i + 1] ?? 0) << 16) |
      ((key[i + 2] ?? 0) << 8) |
      (key[i + 3] ?? 0)
    h = mix32(h ^ w)
  }
  return h >>> 0
}

function mix32(x: number): number {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The k first items of a stream under `compare`, in O(n log k) time and O(k) memory: a binary
 * heap whose root is the worst item kept. Written by hand because no dependency we carry offers
 * a bounded heap, and sorting a whole table to keep 100 entries would cost O(n log n).
 */
export class TopK<T> {
  readonly #k: number
  readonly #cmp: (a: T, b: T) => number
  readonly #heap: T[] = []

  constructor(k: number, compare: (a: T, b: T) => number) {
    this.#k = Math.max(0, Math.floor(k))
    this.#cmp = compare
  }

  add(item: T): void {
    if (this.#k === 0) return
    const h = this.#heap
    if (h.length < this.#k) {
      h.push(item)
      this.#up(h.length - 1)
      return
    }
    const worst = h[0]
    if (worst === undefined || this.#cmp(item, worst) >= 0) return
    h[0] = item
    this.#down(0)
  }

  /** The kept items, best first. */
  sorted(): T[] {
    return [...this.#heap].sort(this.#cmp)
  }

  // A max-heap under #cmp: a parent is never better than its children.
  #up(i: number): void {
    const h = this.#heap
    let at = i
    while (at > 0) {
      const parent = (at - 1) >> 1
      const a = h[at] as T
      const p = h[parent] as T
      if (this.#cmp(a, p) <= 0) break
      h[at] = p
      h[parent] = a
      at = parent
    }
  }

  #down(i: number): void {
    const h = this.#heap
    let at = i
    for (;;) {
      const l = 2 * at + 1
      const r = l + 1
      let worst = at
      if (l < h.length && this.#cmp(h[l] as T, h[worst] as T) > 0) worst = l
      if (r < h.length && this.#cmp(h[r] as T, h[worst] as T) > 0) worst = r
      if (worst === at) break
      const tmp = h[at] as T
      h[at] = h[worst] as T
      h[worst] = tmp
      at = worst
    }
  }
}
