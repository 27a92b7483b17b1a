import type { Clock } from '../clock.js'
import type { Endpoint } from '../wire/endpoint.js'
import { keyPublicKeyText, recordNetworkText, recordPublicKey } from '../wire/layout.js'
import type { NodeKind } from '../wire/record.js'
import type { Slots } from './blocks.js'

/** What a checkpoint saves and restores for one entry (the contract with src/ops/checkpoint/). */
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
export type Bucket = Entry[]
/** The entries of one address block (/24, /48; or /16, /32), for its cap and for purging. */
export type Block = Entry[]

/** Where an entry records its position in its bucket, block and wide block (blocks.ts). */
export const IN_BUCKET: Slots<Entry> = {
  get: e => e.slot,
  set: (e, i) => {
    e.slot = i
  },
}
export const IN_BLOCK: Slots<Entry> = {
  get: e => e.bslot,
  set: (e, i) => {
    e.bslot = i
  },
}
export const IN_WIDE: Slots<Entry> = {
  get: e => e.wslot,
  set: (e, i) => {
    e.wslot = i
  },
}

/** `st` bits: the observed port (0..15), counted announces (16..20), protected (21). */
const PORT_MASK = 0xffff
const HITS_SHIFT = 16
const HITS_MASK = 0x1f << HITS_SHIFT
const PROT_BIT = 1 << 21

/**
 * One held record. Kept small on purpose (see docs/benchmarks.md, where the bytes go): every
 * field costs 8 bytes of the object, so only what cannot be derived is a field. The record is a
 * latin1 string (one byte per byte, on the V8 heap, no ArrayBuffer per entry) and the table key
 * a slice of it; seq and expiry are read from the record bytes, the index and block an entry sits
 * in from its network, kind and address (client-table.ts); times are whole seconds (small
 * integers); port, counted announces and the segment share one small integer.
 *
 * An Entry is a stable handle: the table never reuses one for another record (key and record
 * are readonly; a higher seq of the key is a new Entry, client-table.ts `insert`; segments.ts
 * moves the same object between segments), so `table.peek(e.key) === e` says it is still held
 * with the same record. A save collects the references at once and serialises them in slices.
 */
export class Entry {
  /** Position in its bucket's array. */
  slot = -1
  /** Position in its block's array. */
  bslot = -1
  /** Position in its wide block's array. */
  wslot = -1
  /** Port, counted announces and segment (PORT_MASK, HITS_MASK, PROT_BIT). */
  st: number
  /** Unix seconds of the last counted announce. */
  at: number
  /**
   * The four 8-bit endpoint masks of proof.ts in one small integer (one field, not four: the
   * accessors below live on the prototype).
   */
  pbits = 0
  /** Unix seconds of the last challenge round (0 = never). */
  chAt = 0
  /** Unix seconds of the last proof of any endpoint (0 = never). */
  provenAt = 0
  /** Times a query handed this entry out (usage statistics, `best`'s tie-break). */
  served = 0
  constructor(
    /** u8 length, network, public key: the first bytes of the record (unique per network + key). */
    readonly key: string,
    /** The record bytes as a latin1 string. */
    readonly rec: string,
    /** Unix seconds after which the entry is gone: min(expiresAt, seen + maxTtl). */
    public until: number,
    /** Unix seconds of the last announce. */
    public seen: number,
    /** Observed source address (canonical text). */
    readonly ip: string,
    port: number,
    readonly server: ServerFacts | null,
  ) {
    this.st = port & PORT_MASK
    this.at = seen
  }

  /** Observed source port. */
  get port(): number {
    return this.st & PORT_MASK
  }
  /** Announces of this key counted towards protection (refreshGap apart, at most MAX_HITS). */
  get hits(): number {
    return (this.st & HITS_MASK) >>> HITS_SHIFT
  }
  set hits(n: number) {
    this.st = (this.st & ~HITS_MASK) | ((Math.min(n, MAX_HITS) << HITS_SHIFT) & HITS_MASK)
  }
  /** In the protected segment (see segments.ts). */
  get prot(): boolean {
    return (this.st & PROT_BIT) !== 0
  }
  set prot(p: boolean) {
    this.st = p ? this.st | PROT_BIT : this.st & ~PROT_BIT
  }
  /** The record's seq (u64 after the key; at most 2^53 - 1, checked by the decoder). */
  get seq(): number {
    const at = this.key.length
    return u32At(this.rec, at) * 2 ** 32 + u32At(this.rec, at + 4)
  }
  /** Record expiry, Unix seconds (u32 after seq and issuedAt). */
  get expiresAt(): number {
    return u32At(this.rec, this.key.length + 12)
  }

  /** Endpoints that can be proven (bit i = endpoint i, see proof.ts). */
  get want(): number {
    return this.pbits & 0xff
  }
  set want(m: number) {
    this.pbits = (this.pbits & ~0xff) | (m & 0xff)
  }
  /** Endpoints equal to the observed one: what a UDP refresh from it proves, without decoding. */
  get obs(): number {
    return (this.pbits >>> 8) & 0xff
  }
  set obs(m: number) {
    this.pbits = (this.pbits & ~0xff00) | ((m & 0xff) << 8)
  }
  /** Endpoints proven reachable (docs/protocol.md §9). */
  get proven(): number {
    return (this.pbits >>> 16) & 0xff
  }
  set proven(m: number) {
    this.pbits = (this.pbits & ~0xff0000) | ((m & 0xff) << 16)
  }
  /** Endpoints challenged at `chAt` that have not answered yet. */
  get pending(): number {
    return (this.pbits >>> 24) & 0xff
  }
  set pending(m: number) {
    // A signed 32-bit integer (a small integer for V8, never a heap number).
    this.pbits = (this.pbits & 0xffffff) | ((m & 0xff) << 24)
  }

  get recordBytes(): Uint8Array {
    return Buffer.from(this.rec, 'latin1')
  }

  get observed(): Endpoint {
    return { family: this.ip.includes(':') ? 6 : 4, address: this.ip, port: this.port }
  }

  /** The node's 32-byte public key as a latin1 string (for tie-breaks and exclusion). */
  get publicKeyText(): string {
    return keyPublicKeyText(this.key)
  }

  /** The id of the (network, kind) index the entry sits in. */
  get bucketId(): string {
    return bucketId(recordNetworkText(this.rec), this.server === null ? 'peer' : 'server')
  }
}

/** Big-endian u32 at `at` of a latin1 string. */
function u32At(text: string, at: number): number {
  return (
    text.charCodeAt(at) * 0x1000000 +
    ((text.charCodeAt(at + 1) << 16) | (text.charCodeAt(at + 2) << 8) | text.charCodeAt(at + 3))
  )
}

export interface TableOptions {
  maxEntries: number
  /** Byte budget: entries (entryCharge) plus the replay memory. */
  maxBytes: number
  /** Seconds an entry lives after its last announce at most. */
  maxTtl: number
  /** Seconds a server entry lives after its last announce at most (liveness); maxTtl when absent. */
  serverTtl?: number
  /** Most entries per /24 (IPv4) or /48 (IPv6). */
  perBlockMax: number
  /** Most entries per /16 (IPv4) or /32 (IPv6); default no cap. */
  perWideBlockMax?: number
  /** Counted announces (refreshes or higher seqs, refreshGap apart) that protect an entry; 2. */
  protectAfter?: number
  /** Seconds between two counted announces; REFRESH_GAP. The daemon uses announceInterval / 2. */
  refreshGap?: number
  /** Share of the table the protected segment may hold; 0.8. */
  protectedShare?: number
  /** Keys whose highest seq is remembered after their entry leaves; 0 = none (default). */
  replayMemory?: number
  /** Secret of the replay memory's keyed hash (random when not given). */
  secret?: Uint8Array
  /** Seconds a challenged endpoint has to answer before it loses its proof (proof.ts); 10. */
  proofTimeout?: number
  /** Hand out entries with no endpoint proven as well (docs/operations.md `listUnproven`). */
  listUnproven?: boolean
  /** Uniform in [0, 1): where `sweep` looks (a generator seeded from node:crypto when not given). */
  random?: () => number
  clock: Clock
}

/** Default seconds between two announces of a key for both to count towards protection. */
export const REFRESH_GAP = 30
/**
 * Counted announces stop adding up here: an entry's standing measures how long it has been
 * announced (up to MAX_HITS gaps), and a full protected segment admits a newly proven entry only
 * over an entry with no more counted announces than it has.
 */
export const MAX_HITS = 16
/** The replay memory never takes more than this share of maxBytes. */
export const REPLAY_MEMORY_SHARE = 1 / 8

/**
 * Bytes charged per entry on top of its record bytes. Where they go (a peer at 1,000,000 entries,
 * scripts/bench-tracker-memory.ts, docs/benchmarks.md): the record string's header (16 B, the
 * record itself is charged apart), the key (a sliced string over the record, 32 B), the Entry
 * object (a 24 B header and 15 fields of 8 B: 144 B), the observed address string (24 to 32 B),
 * lru-cache's Map entry and its five slot arrays (key, value, next, prev, size: 8 B each, grown
 * by half again when full; 70 to 100 B), and the entry's slots in its bucket, block and wide
 * block arrays (24 to 36 B): 341 B measured at 1,000,000 peers, 361 B at 300,000. Small tables pay
 * more per entry for the arrays' growth (an 8 MiB table overfilled: 681 B of heap per entry for
 * 702 B charged, records included), so 450 keeps the charge at or above the live heap.
 */
export const ENTRY_OVERHEAD = 450
/**
 * Charged on top for a server entry: its decoded facts (strings, tags array). Measured 384 B at
 * 300,000 servers (725 B beyond the record, peers' 341 B included).
 */
export const SERVER_OVERHEAD = 400

/**
 * Charged against maxBytes for each index array the table holds (a (network, kind) bucket, an
 * address block, a wide block): its map entry, its id string and its array. Measured 126 B per
 * block with every entry in a block of its own (IPv4, 300,000 entries; an IPv6 id is 8 B
 * longer), so an attacker spreading entries one per block pays for what it makes the table hold.
 */
export const INDEX_OVERHEAD = 144

/** What one entry costs against maxBytes (its indexes are charged apart: INDEX_OVERHEAD). */
export function entryCharge(e: Entry): number {
  return e.rec.length + ENTRY_OVERHEAD + (e.server === null ? 0 : SERVER_OVERHEAD)
}

export function bucketId(network: string, kind: NodeKind): string {
  return (kind === 'server' ? 's' : 'p') + network
}

/** The server facts an entry keeps from its decoded record (null for a peer). */
export function factsOf(s: ServerFacts | null): ServerFacts | null {
  if (s === null) return null
  const { name, players, maxPlayers, world, version, tags } = s
  return { name, players, maxPlayers, world, version, tags }
}

/** The table's counters (ClientTable.counts), read by the daemon's stats. */
export interface TableCounts {
  evicted: number
  expired: number
  replaced: number
  deleted: number
  promoted: number
  /** Promotions refused: the protected segment was full of entries with longer records. */
  notPromoted: number
  /** New entries refused by the /24 or /48 cap, and by the /16 or /32 cap. */
  blockFull: number
  wideBlockFull: number
  /** Records refused because the replay memory held an equal or higher seq for their key. */
  staleReplays: number
  /** Withdrawals applied (withdraw()), whether or not the key was held. */
  withdrawn: number
}

export function newCounts(): TableCounts {
  return {
    evicted: 0,
    expired: 0,
    replaced: 0,
    deleted: 0,
    promoted: 0,
    notPromoted: 0,
    blockFull: 0,
    wideBlockFull: 0,
    staleReplays: 0,
    withdrawn: 0,
  }
}

/** An entry as predicates see it (deny list, operators' tools). */
export function viewOf(e: Entry): EntryView {
  const record = e.recordBytes
  return {
    record,
    observed: e.observed,
    lastSeen: e.seen * 1000,
    network: recordNetworkText(e.rec),
    publicKey: recordPublicKey(record),
    kind: e.server === null ? 'peer' : 'server',
  }
}

/**
 * Every entry of `lists` (the table's index arrays, each entry in exactly one of them) least
 * recently announced first, probation before protected, by `seen` (whole seconds): a counting
 * sort that reads each entry once (into one typed array) and allocates nothing per entry.
 * lru-cache's own iteration costs a Map lookup per entry (about 0.5 s at 1,000,000 entries, all
 * of it holding the event loop); this a few tens of ms (docs/benchmarks.md, "Operations:
 * checkpoints").
 */
export function byRecency(lists: Iterable<readonly Entry[]>): Entry[] {
  const all = [...lists]
  const n = all.reduce((sum, l) => sum + l.length, 0)
  const out = new Array<Entry>(n)
  // One read of each entry: its `seen` (Unix seconds fit a u32) and its segment.
  const seen = new Uint32Array(n)
  const prot = new Uint8Array(n)
  let min = 0xffffffff
  let max = 0
  let i = 0
  for (const l of all) {
    for (const e of l) {
      const s = e.seen >>> 0
      seen[i] = s
      prot[i++] = e.prot ? 1 : 0
      if (s < min) min = s
      if (s > max) max = s
    }
  }
  if (n === 0) return out
  // Bins: probation by second, then protected by second.
  const span = max - min + 1
  if (span > RECENCY_SPAN_MAX) {
    const flat = all.flat()
    const key = (j: number): number => (prot[j] ?? 0) * span + (seen[j] ?? 0) - min
    const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => key(a) - key(b))
    return order.map(j => flat[j] as Entry)
  }
  const starts = new Uint32Array(2 * span + 1)
  for (let j = 0; j < n; j++) {
    const b = (prot[j] ?? 0) * span + (seen[j] ?? 0) - min + 1
    starts[b] = (starts[b] ?? 0) + 1
  }
  for (let b = 1; b < starts.length; b++) starts[b] = (starts[b] ?? 0) + (starts[b - 1] ?? 0)
  i = 0
  for (const l of all) {
    for (let k = 0; k < l.length; k++) {
      const b = (prot[i] ?? 0) * span + (seen[i] ?? 0) - min
      i++
      const at = starts[b] ?? 0
      starts[b] = at + 1
      out[at] = l[k] as Entry
    }
  }
  return out
}

/** Seconds of `seen` a counting sort spans at most (8 MiB of counters); a sort past it. */
const RECENCY_SPAN_MAX = 1 << 20
