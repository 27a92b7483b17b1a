import { randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import { Limits } from '../wire/constants.js'
import type { Endpoint } from '../wire/endpoint.js'
import { latin1, recordKeyLength } from '../wire/layout.js'
import { type NodeKind, type SignedRecord, isWithdrawal } from '../wire/record.js'
import { blockOf, blocksOf, wideBlockOf } from './blocks.js'
import {
  Entry,
  byRecency,
  type EntrySnapshot,
  type EntryView,
  REPLAY_MEMORY_SHARE,
  MAX_HITS,
  REFRESH_GAP,
  type TableOptions,
  bucketId,
  entryCharge,
  factsOf,
  newCounts,
  type TableCounts,
  viewOf,
} from './entry.js'
import { Indexes } from './indexes.js'
import { Segments } from './segments.js'
import {
  type Asker,
  type SelectIndex,
  type SelectQuery,
  type Selection,
  best,
  list,
  sample,
  seededRandom,
} from './select.js'
import { SEQ_SLOT_BYTES, SeqMemory } from './seq-memory.js'
import * as proofs from './proof.js'
import type { SavedProof } from './proof.js'
import { checkTable } from './table-check.js'
import type { QueryMode } from '../wire/messages.js'

export * from './entry.js'

/** `stale`: a record no newer than the one remembered for its key (replay protection). */
export type AdmitResult = 'ok' | 'block-full' | 'stale'

/**
 * The client table: a segmented LRU (segments.ts) bounded by count and bytes; an entry ends at
 * `until` (record expiry capped by maxTtl, injected clock, no timers: expired entries are skipped
 * on read and deleted when met). Newcomers enter probation; one announced `protectAfter` times
 * (REFRESH_GAP apart) moves to protected, which a flood of newcomers cannot evict while probation
 * has anything left. Indexes and block lists (indexes.ts) change only in the segments' add/leave
 * hooks, so every way out keeps them consistent; a key leaving remembers its seq (seq-memory.ts).
 */
export class ClientTable implements SelectIndex {
  readonly #segs: Segments<Entry>
  readonly #memory: SeqMemory
  readonly #ix = new Indexes()
  readonly #clock: Clock
  readonly #maxTtl: number
  readonly #serverTtl: number
  readonly #perBlockMax: number
  readonly #perWideMax: number
  readonly #protectAfter: number
  readonly #gap: number
  readonly #random: () => number
  readonly #proofTimeout: number
  readonly #listUnproven: boolean
  /** Counters the daemon's stats read. */
  readonly counts: TableCounts = newCounts()

  constructor(o: TableOptions) {
    this.#clock = o.clock
    this.#maxTtl = o.maxTtl
    this.#serverTtl = Math.min(o.maxTtl, o.serverTtl ?? o.maxTtl)
    this.#perBlockMax = o.perBlockMax
    this.#perWideMax = o.perWideBlockMax ?? Infinity
    this.#protectAfter = Math.max(1, o.protectAfter ?? 2)
    this.#gap = o.refreshGap ?? REFRESH_GAP
    this.#random = o.random ?? seededRandom(randomBytes(16))
    this.#proofTimeout = o.proofTimeout ?? 10
    this.#listUnproven = o.listUnproven ?? false
    const cap = Math.floor((o.maxBytes * REPLAY_MEMORY_SHARE) / SEQ_SLOT_BYTES)
    this.#memory = new SeqMemory(Math.min(o.replayMemory ?? 0, cap), o.secret)
    this.#segs = new Segments<Entry>({
      maxEntries: o.maxEntries,
      maxBytes: o.maxBytes - this.#memory.bytes,
      protectedShare: o.protectedShare ?? 0.8,
      charge: entryCharge,
      extraBytes: e => this.#ix.bytes(e),
      expired: e => e.until * 1000 <= this.#clock.now(),
      // A victim silent for four gaps has most likely left: it no longer holds its place.
      outranks: (candidate, victim) =>
        candidate.hits > victim.hits || victim.seen + 4 * this.#gap <= this.nowSeconds(),
      onAdd: e => {
        this.#ix.link(e)
      },
      onLeave: (e, reason) => {
        this.#ix.unlink(e)
        if (reason === 'replace') {
          this.counts.replaced++
          return
        }
        if (reason === 'evict') this.counts.evicted++
        else if (reason === 'expire') this.counts.expired++
        else this.counts.deleted++
        // Remembered for the longest record lifetime after it left (docs/protocol.md §8.3).
        const now = this.nowSeconds()
        const until = now + Limits.RECORD_LIFETIME_MAX
        this.#memory.remember(e.key, e.seq, until, e.hits > 0, now)
      },
    })
  }

  /** Entries held, including expired ones not yet met. */
  get size(): number {
    return this.#segs.size
  }

  /** Entries in the protected segment. */
  get protectedSize(): number {
    return this.#segs.protected.size
  }

  /** Bytes charged against maxBytes: the entries, their indexes and the replay memory. */
  get bytes(): number {
    return this.#segs.bytes + this.#ix.bytes() + this.#memory.bytes
  }

  get maxBytes(): number {
    return this.#segs.maxBytes + this.#memory.bytes
  }

  get maxEntries(): number {
    return this.#segs.maxEntries
  }

  /** The replay memory: keys whose seq it can remember, and its counters. */
  get replayMemory(): SeqMemory {
    return this.#memory
  }

  /** Number of address blocks with at least one entry. */
  get blocks(): number {
    return this.#ix.blocks.size
  }

  nowSeconds(): number {
    return Math.floor(this.#clock.now() / 1000)
  }

  /** The live entry under `key`, without touching its recency; undefined when none or expired. */
  peek(key: string): Entry | undefined {
    const e = this.#segs.peek(key)
    if (e === undefined) return undefined
    if (e.until * 1000 <= this.#clock.now()) {
      this.#segs.delete(key)
      return undefined
    }
    return e
  }

  isLive(e: Entry, nowSeconds: number): boolean {
    return e.until > nowSeconds
  }

  /**
   * Is `e` handed out to an asker that did not ask for unproven entries: at least one of its
   * endpoints is proven (docs/protocol.md §9), or the tracker lists unproven entries too.
   */
  shown(e: Entry, nowSeconds: number): boolean {
    return this.#listUnproven || proofs.provenMask(e, nowSeconds, this.#proofTimeout) !== 0
  }

  /** The endpoints of `e` proven at `nowSeconds` (bit i = endpoint i; proof.ts). */
  provenOf(e: Entry, nowSeconds: number): number {
    return proofs.provenMask(e, nowSeconds, this.#proofTimeout)
  }

  /** Entries held in an address block. */
  blockCount(address: string): number {
    return this.#ix.blocks.get(blockOf(address))?.length ?? 0
  }

  /** Entries held in a wide address block (/16, /32). */
  wideBlockCount(address: string): number {
    return this.#ix.wides.get(wideBlockOf(address))?.length ?? 0
  }

  /**
   * May `key` (held as `held`, or new) be stored from this address? `stale`: not held and
   * `signed.seq` not above the seq remembered for it (a replay: only a new signature brings a key
   * back); `block-full`: its /24 (/48) or /16 (/32) at its cap once purged of expired entries (at
   * most PURGE_SCAN looked at). The table's own budget never refuses: it evicts from probation.
   */
  admit(held: Entry | undefined, address: string, signed?: SignedRecord): AdmitResult {
    if (held === undefined && signed !== undefined && this.isReplay(signed)) return 'stale'
    const [id, wid] = blocksOf(address)
    const now = this.nowSeconds()
    const drop = (k: string): void => void this.#segs.delete(k)
    if (!this.#ix.roomIn(this.#ix.blocks, id, held, this.#perBlockMax, now, drop)) {
      this.counts.blockFull++
      return 'block-full'
    }
    if (!this.#ix.roomIn(this.#ix.wides, wid, held, this.#perWideMax, now, drop)) {
      this.counts.wideBlockFull++
      return 'block-full'
    }
    return 'ok'
  }

  /**
   * Store a verified record seen from `observed` now (new or replacing a lower seq). The caller
   * has checked the signature, the sequence, the times and `admit`; a replay the memory knows is
   * refused here too (undefined), whatever the caller did. `provenBy`: an endpoint the request
   * itself proved (a UDP source with a valid cookie, docs/protocol.md §9); the entry's endpoints
   * equal to it are proven at once (a replaced entry's proofs are carried over by the caller,
   * which can decode the held record: proof.ts `carryProofs`).
   */
  insert(
    signed: SignedRecord,
    observed: Endpoint,
    seenMs?: number,
    provenBy: Endpoint | null = null,
  ): Entry | undefined {
    const now = seenMs ?? this.#clock.now()
    const seen = Math.floor(now / 1000)
    const rec = signed.record
    // A withdrawal is applied (withdraw()), never stored.
    if (isWithdrawal(rec)) return undefined
    const until = Math.min(rec.expiresAt, seen + this.#lifeOf(rec.kind))
    const ttl = until * 1000 - this.#clock.now()
    if (ttl <= 0) return undefined
    const text = latin1(signed.bytes)
    const key = text.slice(0, recordKeyLength(signed.bytes))
    const held = this.#segs.peek(key)
    if (held === undefined && this.#remembersNewer(signed)) return undefined
    const entry = new Entry(
      key,
      text,
      until,
      seen,
      observed.address,
      observed.port,
      factsOf(rec.server),
    )
    const resolved = proofs.resolveEndpoints(rec.endpoints, observed)
    entry.want = proofs.provableMask(resolved)
    entry.obs = proofs.maskOf(resolved, observed) & entry.want
    entry.proven = proofs.maskOf(resolved, provenBy) & entry.want
    if (entry.proven !== 0) entry.provenAt = seen
    let stored: boolean
    if (held === undefined) {
      stored = this.#segs.add(entry)
    } else {
      // A higher seq of a held key is an announce of that key: it keeps its standing.
      entry.hits = held.hits
      entry.at = held.at
      this.#count(entry, seen)
      stored = this.#segs.replace(held, entry)
      if (stored && !entry.prot && entry.hits >= this.#protectAfter) this.#promote(entry)
    }
    if (!stored) return undefined
    this.#memory.forget(key, seen)
    return entry
  }

  /**
   * An identical record announced again: it becomes most recent and lives maxTtl more (a server:
   * serverTtl, so a server that stops announcing leaves after a few missed intervals).
   */
  refresh(e: Entry): void {
    const nowMs = this.#clock.now()
    const seen = Math.floor(nowMs / 1000)
    e.seen = seen
    e.until = Math.min(e.expiresAt, seen + this.#lifeOf(e.server !== null ? 'server' : 'peer'))
    const ttl = e.until * 1000 - nowMs
    if (ttl <= 0) {
      this.#segs.delete(e.key)
      return
    }
    this.#count(e, seen)
    if (!e.prot && e.hits >= this.#protectAfter) this.#promote(e)
    else this.#segs.touch(e)
  }

  delete(key: string): boolean {
    return this.#segs.delete(key)
  }

  /**
   * Apply a verified withdrawal (docs/protocol.md §8.3; times, seq and signature checked by the
   * caller): the key's entry leaves at once and the withdrawal's seq is remembered for the
   * longest record lifetime (held or not), so nothing older can be replayed back in; the memory
   * keeps an established standing the entry had. True when an entry was held.
   */
  withdraw(signed: SignedRecord): boolean {
    const keyLen = recordKeyLength(signed.bytes)
    if (keyLen < 0) return false
    const key = latin1(signed.bytes.subarray(0, keyLen))
    const held = this.#segs.peek(key)
    const established = held !== undefined && held.hits > 0
    // Leaving remembers the held seq (onLeave); the withdrawal's, higher, replaces it below.
    if (held !== undefined) this.#segs.delete(key)
    const now = this.nowSeconds()
    this.#memory.remember(
      key,
      signed.record.seq,
      now + Limits.RECORD_LIFETIME_MAX,
      established,
      now,
    )
    this.counts.withdrawn++
    return held !== undefined && held.until > now
  }

  /** The (network, kind) index; may hold expired entries (check isLive). Empty when none. */
  bucket(network: string, kind: NodeKind): readonly Entry[] {
    return this.#ix.buckets.get(bucketId(network, kind)) ?? []
  }

  /** Answer a query from the indexes (select.ts); expired entries met are deleted. */
  query(q: SelectQuery & { mode: QueryMode }, asker: Asker, random: () => number): Selection {
    switch (q.mode) {
      case 'sample':
        return sample(this, q, asker, random)
      case 'list':
        return list(this, q)
      case 'best':
        return best(this, q)
    }
  }

  /** Indexes present (for tests and stats). */
  bucketIds(): string[] {
    return [...this.#ix.buckets.keys()]
  }

  /** Delete expired entries among the first `n` positions from a rotating point of a bucket. */
  sweep(network: string, kind: NodeKind, n: number): number {
    const items = this.#ix.buckets.get(bucketId(network, kind))
    if (items === undefined || items.length === 0) return 0
    const now = this.nowSeconds()
    let removed = 0
    for (let i = 0; i < n && items.length > 0; i++) {
      const at = Math.floor(this.#random() * items.length)
      const e = items[at]
      if (e !== undefined && e.until <= now) {
        this.#segs.delete(e.key)
        removed++
      }
    }
    return removed
  }

  /** Every held entry (expired too) least recent first, one array slot each (entry.ts). */
  refs(): Entry[] {
    return byRecency(this.#ix.buckets.values())
  }

  /** Live entries, least recently announced first, probation before protected. */
  *entries(): IterableIterator<EntrySnapshot> {
    const now = this.nowSeconds()
    for (const e of this.#segs.rvalues()) {
      if (e.until <= now) continue
      yield { record: e.recordBytes, observed: e.observed, lastSeen: e.seen * 1000 }
    }
  }

  /**
   * Put back one already decoded record from a trusted source (a checkpoint: its signature is
   * checked later, in the background). The restore policy (expiry, networks, deny list) is the
   * caller's (src/ops/checkpoint/restore.ts); the table still refuses a held key of an equal or
   * higher seq, a replay it remembers and a full block. The entry starts in probation one counted
   * announce short of protection; `p`, its saved proof, as proof.ts `restoreProof` allows.
   */
  insertTrusted(signed: SignedRecord, observed: Endpoint, seenMs: number, p?: SavedProof): boolean {
    const keyLen = recordKeyLength(signed.bytes)
    if (keyLen < 0) return false
    const held = this.peek(latin1(signed.bytes.subarray(0, keyLen)))
    if (held !== undefined && held.seq >= signed.record.seq) return false
    if (this.admit(held, observed.address, signed) !== 'ok') return false
    const e = this.insert(signed, observed, Math.min(seenMs, this.#clock.now()))
    if (e === undefined) return false
    e.hits = Math.max(e.hits, this.#protectAfter - 1)
    if (p !== undefined) proofs.restoreProof(e, p, this.nowSeconds())
    return true
  }

  /** Seconds an entry of this kind lives after its last announce at most. */
  #lifeOf(kind: 'peer' | 'server'): number {
    return kind === 'server' ? this.#serverTtl : this.#maxTtl
  }

  /** Delete every entry the predicate selects (deny list applied to held entries). */
  dropWhere(pred: (e: EntryView) => boolean): number {
    const doomed: string[] = []
    for (const e of this.#segs.rvalues()) if (pred(viewOf(e))) doomed.push(e.key)
    for (const k of doomed) this.#segs.delete(k)
    return doomed.length
  }

  clear(): void {
    this.#segs.clear()
    this.#memory.clear()
  }

  /** Indexes, blocks, segments and budgets recounted; [] when consistent (table-check.ts). */
  checkInvariants(): string[] {
    return checkTable({
      segs: this.#segs,
      buckets: this.#ix.buckets,
      blocks: this.#ix.blocks,
      wides: this.#ix.wides,
      memoryBytes: this.#memory.bytes,
      indexBytes: this.#ix.bytes(),
    })
  }

  /**
   * Is `signed` (of a key not held) a replay the memory knows: its seq not higher than the seq
   * remembered for the key since its entry left? Counted as a refused replay when true.
   */
  isReplay(signed: SignedRecord): boolean {
    if (!this.#remembersNewer(signed)) return false
    this.counts.staleReplays++
    return true
  }

  #remembersNewer(signed: SignedRecord): boolean {
    const keyLen = recordKeyLength(signed.bytes)
    if (keyLen < 0) return false
    const key = latin1(signed.bytes.subarray(0, keyLen))
    const remembered = this.#memory.recall(key, this.nowSeconds())
    return remembered !== undefined && signed.record.seq <= remembered
  }

  /** An announce of a held key counts towards protection when refreshGap after the last one. */
  #count(e: Entry, seen: number): void {
    if (seen - e.at >= this.#gap) {
      if (e.hits < MAX_HITS) e.hits++
      e.at = seen
    }
  }

  #promote(e: Entry): void {
    if (this.#segs.promote(e)) this.counts.promoted++
    else this.counts.notPromoted++
  }
}
