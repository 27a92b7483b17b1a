import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import { type Endpoint, endpointFrom } from '../wire/endpoint.js'
import { type NodeKind, type SignedRecord, decodeRecord } from '../wire/record.js'
import { SlotList, blockOf } from './blocks.js'

/** What a checkpoint saves and restores for one entry (the contract with operations). */
export interface EntrySnapshot {
  /** The exact signed record bytes. */
  record: Uint8Array
  /** The source endpoint the tracker observed. */
  observed: Endpoint
  /** When the tracker last received the record, ms since the epoch. */
  lastSeen: number
}

/** An entry as predicates see it (deny list, operators' tools). */
export interface EntryView extends EntrySnapshot {
  network: string
  publicKey: Uint8Array
  kind: NodeKind
}

/** The server fields selection filters and sorts on; null for peers. */
export interface ServerFacts {
  name: string
  players: number
  maxPlayers: number
  world: string
  version: string
  tags: string[]
}

/** One (network, kind) index: the entries in an array with swap-remove, so sampling is O(count). */
export type Bucket = SlotList<Entry>
/** The entries of one address block (/24, /48), for its cap and for purging its expired ones. */
export type Block = SlotList<Entry>

const newBucket = (id: string): Bucket =>
  new SlotList<Entry>(
    id,
    e => e.slot,
    (e, i) => {
      e.slot = i
    },
  )
const newBlock = (id: string): Block =>
  new SlotList<Entry>(
    id,
    e => e.bslot,
    (e, i) => {
      e.bslot = i
    },
  )

/**
 * One held record. Kept small on purpose (see docs/benchmarks.md, bytes per entry): the record is
 * a latin1 string (one byte per byte, on the V8 heap, no ArrayBuffer per entry), times are whole
 * seconds (small integers), and the table key is a slice of the record string.
 */
export class Entry {
  /** Position in its bucket's array. */
  slot = -1
  /** Position in its block's array. */
  bslot = -1
  constructor(
    /** u8 length, network, public key: the first bytes of the record (unique per network + key). */
    readonly key: string,
    /** The record bytes as a latin1 string. */
    readonly rec: string,
    readonly seq: number,
    /** Record expiry, Unix seconds. */
    readonly expiresAt: number,
    /** Unix seconds after which the entry is gone: min(expiresAt, seen + maxTtl). */
    public until: number,
    /** Unix seconds of the last announce. */
    public seen: number,
    /** Observed source address (canonical text) and port. */
    readonly ip: string,
    readonly port: number,
    readonly bucket: Bucket,
    readonly block: Block,
    readonly server: ServerFacts | null,
  ) {}

  get recordBytes(): Uint8Array {
    return Buffer.from(this.rec, 'latin1')
  }

  get observed(): Endpoint {
    return { family: this.ip.includes(':') ? 6 : 4, address: this.ip, port: this.port }
  }

  /** The node's 32-byte public key as a latin1 string (for tie-breaks and exclusion). */
  get publicKeyText(): string {
    return this.key.slice(this.key.length - 32)
  }
}

export interface TableOptions {
  maxEntries: number
  maxBytes: number
  /** Seconds an entry lives after its last announce at most. */
  maxTtl: number
  perBlockMax: number
  clock: Clock
}

/**
 * Bytes charged per entry on top of its record bytes: the Entry object, its strings' headers,
 * the lru-cache slots, the Map entry, the index and block slots. Measured at 1,000,000 entries by
 * scripts/bench-tracker-memory.ts (313 B for peers) and rounded up; see docs/benchmarks.md.
 */
export const ENTRY_OVERHEAD = 320
/** Charged on top for a server entry: its decoded facts (strings, tags array). Measured ~385 B. */
export const SERVER_OVERHEAD = 400

/** What one entry costs against maxBytes. */
export function entryCharge(e: Entry): number {
  return e.rec.length + ENTRY_OVERHEAD + (e.server === null ? 0 : SERVER_OVERHEAD)
}

/** Table key of a record: its first bytes (u8 network length, network, 32-byte public key). */
export function recordKeyLength(recordBytes: Uint8Array): number {
  const netLen = recordBytes[0] ?? 0
  const len = 1 + netLen + 32
  return recordBytes.byteLength >= len ? len : -1
}

export function bucketId(network: string, kind: NodeKind): string {
  return (kind === 'server' ? 's' : 'p') + network
}

export type AdmitResult = 'ok' | 'block-full'

/** Most entries of a full block looked at for expired ones before refusing a new entry. */
const PURGE_SCAN = 1024

/**
 * The client table: lru-cache bounded by count and bytes, ttl from the record's expiry capped
 * by maxTtl, the injected clock, no autopurge timers (expired entries are skipped lazily on read
 * and deleted when met). Per-(network, kind) indexes and per-block counts are maintained only in
 * lru-cache's onInsert/dispose hooks, so every way an entry leaves (evict, expire, delete,
 * replace) keeps them consistent.
 */
export class ClientTable {
  readonly #cache: LRUCache<string, Entry>
  readonly #buckets = new Map<string, Bucket>()
  readonly #blocks = new Map<string, Block>()
  readonly #clock: Clock
  readonly #maxTtl: number
  readonly #perBlockMax: number
  /** Counters the daemon's stats read. */
  readonly counts = { evicted: 0, expired: 0, replaced: 0, deleted: 0 }

  constructor(options: TableOptions) {
    this.#clock = options.clock
    this.#maxTtl = options.maxTtl
    this.#perBlockMax = options.perBlockMax
    const clock = options.clock
    this.#cache = new LRUCache<string, Entry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      sizeCalculation: entryCharge,
      ttl: options.maxTtl * 1000,
      ttlAutopurge: false,
      // 0: no debounce timer inside lru-cache; our clock is cheap to read.
      ttlResolution: 0,
      allowStale: false,
      updateAgeOnGet: false,
      perf: { now: () => clock.now() },
      onInsert: (e, _k, reason) => {
        if (reason !== 'update') this.#link(e)
      },
      dispose: (e, _k, reason) => {
        this.#unlink(e)
        if (reason === 'evict') this.counts.evicted++
        else if (reason === 'expire') this.counts.expired++
        else if (reason === 'set') this.counts.replaced++
        else this.counts.deleted++
      },
    })
  }

  /** Entries held, including expired ones not yet met. */
  get size(): number {
    return this.#cache.size
  }

  /** Bytes charged against maxBytes. */
  get bytes(): number {
    return this.#cache.calculatedSize
  }

  get maxBytes(): number {
    return this.#cache.maxSize
  }

  get maxEntries(): number {
    return this.#cache.max
  }

  /** Number of address blocks with at least one entry. */
  get blocks(): number {
    return this.#blocks.size
  }

  nowSeconds(): number {
    return Math.floor(this.#clock.now() / 1000)
  }

  /** The live entry under `key`, without touching its recency; undefined when none or expired. */
  peek(key: string): Entry | undefined {
    const e = this.#cache.peek(key, { allowStale: true })
    if (e === undefined) return undefined
    if (e.until * 1000 <= this.#clock.now()) {
      this.#cache.delete(key)
      return undefined
    }
    return e
  }

  isLive(e: Entry, nowSeconds: number): boolean {
    return e.until > nowSeconds
  }

  /** Entries held in an address block. */
  blockCount(address: string): number {
    return this.#blocks.get(blockOf(address))?.size ?? 0
  }

  /**
   * May `key` (held as `held`, or new) be stored with this observed address? Only the block cap
   * can say no; the table's own budget evicts the least recently used entry instead. A full
   * block is first purged of its expired entries (at most PURGE_SCAN of them looked at), so
   * entries nobody read again cannot hold a block's places after they expire.
   */
  admit(held: Entry | undefined, address: string): AdmitResult {
    const id = blockOf(address)
    if (held !== undefined && held.block.id === id) return 'ok'
    const block = this.#blocks.get(id)
    if (block === undefined || block.size < this.#perBlockMax) return 'ok'
    const now = this.nowSeconds()
    const doomed: string[] = []
    const items = block.items
    for (let i = 0; i < items.length && i < PURGE_SCAN; i++) {
      const e = items[i] as Entry
      if (e.until <= now) doomed.push(e.key)
    }
    for (const k of doomed) this.#cache.delete(k)
    return (this.#blocks.get(id)?.size ?? 0) < this.#perBlockMax ? 'ok' : 'block-full'
  }

  /**
   * Store a verified record seen from `observed` now (new or replacing a lower seq). The caller
   * has checked the signature, the sequence, the times and `admit`.
   */
  insert(signed: SignedRecord, observed: Endpoint, seenMs?: number): Entry | undefined {
    const now = seenMs ?? this.#clock.now()
    const seen = Math.floor(now / 1000)
    const rec = signed.record
    const until = Math.min(rec.expiresAt, seen + this.#maxTtl)
    const ttl = until * 1000 - this.#clock.now()
    if (ttl <= 0) return undefined
    const text = Buffer.from(
      signed.bytes.buffer,
      signed.bytes.byteOffset,
      signed.bytes.byteLength,
    ).toString('latin1')
    const keyLen = recordKeyLength(signed.bytes)
    const key = text.slice(0, keyLen)
    const id = bucketId(rec.network, rec.kind)
    const bucket = this.#buckets.get(id) ?? newBucket(id)
    const blockId = blockOf(observed.address)
    const block = this.#blocks.get(blockId) ?? newBlock(blockId)
    const s = rec.server
    const server =
      s === null
        ? null
        : {
            name: s.name,
            players: s.players,
            maxPlayers: s.maxPlayers,
            world: s.world,
            version: s.version,
            tags: s.tags,
          }
    const entry = new Entry(
      key,
      text,
      rec.seq,
      rec.expiresAt,
      until,
      seen,
      observed.address,
      observed.port,
      bucket,
      block,
      server,
    )
    this.#cache.set(key, entry, { ttl: Math.max(1, Math.ceil(ttl)) })
    // Refused by lru-cache when larger than the whole budget: then nothing was stored.
    return this.#cache.peek(key, { allowStale: true }) === entry ? entry : undefined
  }

  /** An identical record announced again: it becomes most recent and lives maxTtl more. */
  refresh(e: Entry): void {
    const nowMs = this.#clock.now()
    const seen = Math.floor(nowMs / 1000)
    e.seen = seen
    e.until = Math.min(e.expiresAt, seen + this.#maxTtl)
    const ttl = e.until * 1000 - nowMs
    if (ttl <= 0) {
      this.#cache.delete(e.key)
      return
    }
    this.#cache.set(e.key, e, { ttl: Math.max(1, Math.ceil(ttl)) })
  }

  delete(key: string): boolean {
    return this.#cache.delete(key)
  }

  /** The (network, kind) index; may hold expired entries (check isLive). Empty when none. */
  bucket(network: string, kind: NodeKind): readonly Entry[] {
    return this.#buckets.get(bucketId(network, kind))?.items ?? []
  }

  /** Indexes present (for tests and stats). */
  bucketIds(): string[] {
    return [...this.#buckets.keys()]
  }

  /** Delete expired entries among the first `n` positions from a rotating point of a bucket. */
  sweep(network: string, kind: NodeKind, n: number): number {
    const items = this.#buckets.get(bucketId(network, kind))?.items
    if (items === undefined || items.length === 0) return 0
    const now = this.nowSeconds()
    let removed = 0
    for (let i = 0; i < n && items.length > 0; i++) {
      const at = Math.floor(Math.random() * items.length)
      const e = items[at]
      if (e !== undefined && e.until <= now) {
        this.#cache.delete(e.key)
        removed++
      }
    }
    return removed
  }

  /** Live entries, least recently announced first (restoring them in order keeps recency). */
  *entries(): IterableIterator<EntrySnapshot> {
    const now = this.nowSeconds()
    for (const e of this.#cache.rvalues()) {
      if (e === undefined || e.until <= now) continue
      yield { record: e.recordBytes, observed: e.observed, lastSeen: e.seen * 1000 }
    }
  }

  /**
   * Put back entries from a checkpoint (a trusted local file, so signatures are not checked
   * again). Expired, undecodable, over-block or out-of-network entries are skipped. Returns the
   * number restored.
   */
  restore(
    snapshots: Iterable<EntrySnapshot>,
    now: number,
    networks: readonly string[] = [],
  ): number {
    let n = 0
    const nowSec = Math.floor(now / 1000)
    for (const snap of snapshots) {
      let signed: SignedRecord
      try {
        signed = decodeRecord(snap.record)
      } catch {
        continue
      }
      if (networks.length > 0 && !networks.includes(signed.record.network)) continue
      if (signed.record.expiresAt <= nowSec) continue
      if (Math.floor(snap.lastSeen / 1000) + this.#maxTtl <= nowSec) continue
      const observed = endpointFrom(snap.observed.address, snap.observed.port)
      if (observed === null || observed.port === 0) continue
      const keyLen = recordKeyLength(signed.bytes)
      const key = Buffer.from(signed.bytes.subarray(0, keyLen)).toString('latin1')
      const held = this.#cache.peek(key)
      if (held !== undefined && held.seq >= signed.record.seq) continue
      if (this.admit(held, observed.address) !== 'ok') continue
      if (this.insert(signed, observed, Math.min(snap.lastSeen, now)) !== undefined) n++
    }
    return n
  }

  /** Delete every entry the predicate selects (deny list applied to held entries). */
  dropWhere(pred: (e: EntryView) => boolean): number {
    const doomed: string[] = []
    for (const e of this.#cache.values()) {
      const record = e.recordBytes
      const netLen = record[0] ?? 0
      const view: EntryView = {
        record,
        observed: e.observed,
        lastSeen: e.seen * 1000,
        // The network is ASCII (§3 charset): its latin1 text is the network name.
        network: e.rec.slice(1, 1 + netLen),
        publicKey: record.subarray(1 + netLen, 1 + netLen + 32),
        kind: e.server === null ? 'peer' : 'server',
      }
      if (pred(view)) doomed.push(e.key)
    }
    for (const k of doomed) this.#cache.delete(k)
    return doomed.length
  }

  clear(): void {
    this.#cache.clear()
  }

  /**
   * Recount the indexes and block counts from lru-cache's own contents (expired entries
   * included) and list every disagreement; [] when consistent. O(table): for tests and
   * operators' checks, never on a request path.
   */
  checkInvariants(): string[] {
    const errors: string[] = []
    const held = new Map<string, Entry>()
    const blocks = new Map<string, number>()
    for (const [key, { value }] of this.#cache.dump()) {
      held.set(key, value)
      if (value.key !== key) errors.push(`entry key differs from its table key`)
      const b = blockOf(value.ip)
      blocks.set(b, (blocks.get(b) ?? 0) + 1)
      if (value.block.id !== b) errors.push(`entry in block ${value.block.id}, address in ${b}`)
      if (value.bucket.items[value.slot] !== value) errors.push(`entry not at its slot`)
      if (value.block.items[value.bslot] !== value) errors.push(`entry not at its block slot`)
      if (this.#buckets.get(value.bucket.id) !== value.bucket) errors.push(`bucket not indexed`)
      if (this.#blocks.get(value.block.id) !== value.block) errors.push(`block not indexed`)
    }
    let indexed = 0
    for (const [id, bucket] of this.#buckets) {
      if (bucket.items.length === 0) errors.push(`empty bucket ${id} kept`)
      bucket.items.forEach((e, i) => {
        indexed++
        if (e.slot !== i) errors.push(`slot ${e.slot} recorded at position ${i}`)
        if (held.get(e.key) !== e) errors.push(`indexed entry not in the table`)
      })
    }
    if (indexed !== held.size) errors.push(`indexed ${indexed}, held ${held.size}`)
    if (held.size !== this.#cache.size) errors.push(`dump ${held.size}, size ${this.#cache.size}`)
    if (this.#blocks.size !== blocks.size)
      errors.push(`blocks ${this.#blocks.size} vs ${blocks.size}`)
    for (const [b, block] of this.#blocks) {
      if (blocks.get(b) !== block.size) {
        errors.push(`block ${b}: counted ${block.size}, held ${blocks.get(b) ?? 0}`)
      }
      block.items.forEach((e, i) => {
        if (e.bslot !== i || held.get(e.key) !== e) errors.push(`block ${b} member out of place`)
      })
    }
    let bytes = 0
    for (const e of held.values()) bytes += entryCharge(e)
    if (bytes !== this.#cache.calculatedSize) {
      errors.push(`bytes ${this.#cache.calculatedSize}, recounted ${bytes}`)
    }
    return errors
  }

  #link(e: Entry): void {
    e.bucket.add(e)
    if (e.bucket.size === 1) this.#buckets.set(e.bucket.id, e.bucket)
    e.block.add(e)
    if (e.block.size === 1) this.#blocks.set(e.block.id, e.block)
  }

  #unlink(e: Entry): void {
    if (e.bucket.remove(e) && e.bucket.size === 0) this.#buckets.delete(e.bucket.id)
    if (e.block.remove(e) && e.block.size === 0) this.#blocks.delete(e.block.id)
  }
}
