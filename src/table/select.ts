import type { Entry, ServerFacts } from './entry.js'
import { recordKeyText } from '../wire/layout.js'
import { compareNames, roomOf } from '../wire/collate.js'
import type { NodeKind } from '../wire/record.js'
import type { QuerySort } from '../wire/messages.js'

/**
 * What selection reads from the table (ClientTable implements it): the (network, kind) index,
 * the time, and the deletion of expired entries met on the way.
 */
export interface SelectIndex {
  bucket(network: string, kind: NodeKind): readonly Entry[]
  nowSeconds(): number
  /** Handed out without the `unproven` flag (at least one endpoint proven, docs/protocol.md §9). */
  shown(e: Entry, nowSeconds: number): boolean
  delete(key: string): boolean
}

/** Who is asking: left out of samples by source address and port. */
export interface Asker {
  address: string
  port: number
}

export interface Selection {
  /** How many entries matched in all. */
  total: number
  entries: Entry[]
}

export interface SelectQuery {
  network: string
  kind: NodeKind
  count: number
  offset: number
  sort: QuerySort
  notFull: boolean
  world: string
  version: string
  tags: readonly string[]
  /** The asker's public key (raw 32 bytes), left out of the answer. */
  exclude: Uint8Array | null
  /** Include entries with no endpoint proven (§8.5 flag); absent = false. */
  unproven?: boolean
}

const NO_SERVER: ServerFacts = {
  name: '',
  players: 0,
  maxPlayers: 0,
  world: '',
  version: '',
  tags: [],
}

/**
 * sfc32, a small seeded PRNG (public domain, Chris Doty-Humphrey). Written by hand because
 * node:crypto has no seeded generator and a sample must be the same for one asker in one window.
 */
export function seededRandom(seed: Uint8Array): () => number {
  const v = new DataView(seed.buffer, seed.byteOffset, seed.byteLength)
  const word = (i: number): number => (seed.byteLength >= i * 4 + 4 ? v.getUint32(i * 4) : 0)
  let a = word(0)
  let b = word(1)
  let c = word(2)
  let d = word(3) | 1
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return next
}

/**
 * `sample`: up to `count` random live entries of the network and kind, leaving out the asker
 * (by source address and port, and by `exclude`). `random` is seeded per asker and window by the
 * caller, so one asker sees the same sample for a while (scraping costs many sources). O(count):
 * positions are drawn from the index array, never the whole table.
 */
export function sample(
  table: SelectIndex,
  q: Pick<SelectQuery, 'network' | 'kind' | 'count' | 'exclude' | 'unproven'>,
  asker: Asker,
  random: () => number,
): Selection {
  const items = table.bucket(q.network, q.kind)
  const n = items.length
  const now = table.nowSeconds()
  const skipKey = recordKeyText(q.network, q.exclude)
  const expired: string[] = []
  const all = q.unproven === true
  const ok = (e: Entry): boolean => {
    if (e.until <= now) {
      expired.push(e.key)
      return false
    }
    return (
      !(e.port === asker.port && e.ip === asker.address) &&
      e.key !== skipKey &&
      (all || table.shown(e, now))
    )
  }
  const out: Entry[] = []
  if (n <= 2 * q.count + 8) {
    // Small index: a seeded shuffle of every live candidate.
    const all = items.filter(ok)
    for (let i = 0; i < all.length && i < q.count; i++) {
      const j = i + Math.floor(random() * (all.length - i))
      const pick = all[j] as Entry
      all[j] = all[i] as Entry
      all[i] = pick
      out.push(pick)
    }
  } else {
    const picked = new Set<number>()
    let attempts = 4 * q.count + 16
    while (out.length < q.count && attempts-- > 0) {
      const i = Math.floor(random() * n)
      if (picked.has(i)) continue
      picked.add(i)
      const e = items[i]
      if (e !== undefined && ok(e)) out.push(e)
    }
  }
  for (const k of expired) table.delete(k)
  return { total: Math.max(out.length, n - expired.length), entries: out }
}

function facts(e: Entry): ServerFacts {
  return e.server ?? NO_SERVER
}

function room(f: ServerFacts): number {
  return roomOf(f.players, f.maxPlayers)
}

/** Live entries passing the filters (version, tags, notFull; world unless `ignoreWorld`). */
function matching(table: SelectIndex, q: SelectQuery, ignoreWorld: boolean): Entry[] {
  const items = table.bucket(q.network, q.kind)
  const now = table.nowSeconds()
  const skipKey = recordKeyText(q.network, q.exclude)
  const out: Entry[] = []
  const expired: string[] = []
  for (const e of items) {
    if (e.until <= now) {
      expired.push(e.key)
      continue
    }
    if (e.key === skipKey) continue
    if (q.unproven !== true && !table.shown(e, now)) continue
    const f = facts(e)
    if (!ignoreWorld && q.world !== '' && f.world !== q.world) continue
    if (q.version !== '' && f.version !== q.version) continue
    if (q.notFull && f.players >= f.maxPlayers) continue
    if (q.tags.length > 0 && !q.tags.every(t => f.tags.includes(t))) continue
    out.push(e)
  }
  for (const k of expired) table.delete(k)
  return out
}

/** Ties are broken by public key (the key's bytes; within one network the table keys compare so). */
function byKey(a: Entry, b: Entry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

const COMPARE: Readonly<Record<QuerySort, (a: Entry, b: Entry) => number>> = {
  players: (a, b) => facts(b).players - facts(a).players || byKey(a, b),
  name: (a, b) => {
    return compareNames(facts(a).name, facts(b).name) || byKey(a, b)
  },
  room: (a, b) => room(facts(b)) - room(facts(a)) || byKey(a, b),
}

/** `list`: entries matching the filters, sorted by `sort` (ties by key), paged by offset/count. */
export function list(table: SelectIndex, q: SelectQuery): Selection {
  const found = matching(table, q, false)
  const top = firstSorted(found, q.offset + q.count, COMPARE[q.sort])
  return { total: found.length, entries: top.slice(q.offset, q.offset + q.count) }
}

/**
 * The first `k` items of `items` in `cmp` order, without sorting all of them: a page of 100 out
 * of 20,000 servers costs O(n log k) comparisons instead of a full sort on every query. `cmp`
 * must be a total order (ours break ties by key), so the result equals sort().slice(0, k).
 */
export function firstSorted<T>(items: T[], k: number, cmp: (a: T, b: T) => number): T[] {
  if (k <= 0) return []
  if (k * 4 >= items.length) return items.sort(cmp).slice(0, k)
  const top: T[] = []
  for (const e of items) {
    const last = top[top.length - 1]
    if (top.length === k && last !== undefined && cmp(e, last) >= 0) continue
    let lo = 0
    let hi = top.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cmp(top[mid] as T, e) <= 0) lo = mid + 1
      else hi = mid
    }
    top.splice(lo, 0, e)
    if (top.length > k) top.pop()
  }
  return top
}

/**
 * `best` (MetaCube's REROUTE): the server already hosting `world` with the most room; if none
 * hosting it has room, the matching server with the most room. A server with room always beats
 * a full one, so a full server is returned only when every candidate is full.
 */
export function best(table: SelectIndex, q: SelectQuery): Selection {
  const found = matching(table, q, true)
  let top: Entry | undefined
  let topRank: [number, number, number] = [-1, -1, -1]
  for (const e of found) {
    const f = facts(e)
    const r = room(f)
    const rank: [number, number, number] = [
      r > 0 ? 1 : 0,
      q.world !== '' && f.world === q.world ? 1 : 0,
      r,
    ]
    // Among equals, the server handed out less often (MetaServerII's "server du jour"), so
    // players spread over equal servers; then the key.
    const cmp =
      rank[0] - topRank[0] ||
      rank[1] - topRank[1] ||
      rank[2] - topRank[2] ||
      (top === undefined ? 1 : top.served - e.served || byKey(top, e))
    if (cmp > 0) {
      top = e
      topRank = rank
    }
  }
  return { total: found.length, entries: top === undefined ? [] : [top] }
}
