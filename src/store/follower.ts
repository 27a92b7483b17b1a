import type { Cluster, Redis } from 'ioredis'
import type { Logger } from '../log.js'
import type { ClientTable } from '../table/client-table.js'
import { markProven } from '../table/proof.js'
import { type SignedRecord, decodeRecord } from '../wire/record.js'
import { bucketKeys, bucketOf, decodeValue, streamKey } from './layout.js'
import { keyOf, withdrawLocal } from './memory-store.js'

export type RedisClient = Redis | Cluster

/** Where the replica stands in one bucket's stream. */
interface Cursor {
  id: string
  /** The event number (the script's counter `v`) of the last event applied. */
  n: number
  synced: boolean
}

export interface FollowerOptions {
  prefix: string
  buckets: number
  salt: Uint8Array
  /** Events read per bucket per poll. */
  count: number
  logger: Logger
}

function decodeTrusted(bytes: Uint8Array): SignedRecord | null {
  try {
    return decodeRecord(bytes)
  } catch {
    return null
  }
}

/** A stream entry's fields as a map (names are ASCII, values binary). */
function fieldsOf(flat: Buffer[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>()
  for (let i = 0; i + 1 < flat.length; i += 2) {
    m.set((flat[i] as Buffer).toString('latin1'), flat[i + 1] as Buffer)
  }
  return m
}

/**
 * Keeps a ClientTable a replica of the store (docs/scale-out.md §3): one cursor per bucket
 * stream; a poll reads every bucket's new events (one XREAD each, auto-pipelined per node: in a
 * cluster an XREAD of several streams must stay in one slot, so one blocking read per node is
 * not possible) and applies them. Applying is idempotent and ordered by seq: a put of a seq not
 * higher than the held one, a delete or refresh of another seq, are ignored, so the events of the
 * front-end's own writes (already applied) and events read twice change nothing. An event number
 * that does not follow the last one (stream trimmed past the cursor, failover that lost events,
 * store restarted) marks the bucket for a resync: its whole state scanned, the replica's entries
 * of that bucket the store does not hold deleted.
 */
export class Follower {
  readonly #io: RedisClient
  readonly #table: ClientTable
  readonly #o: FollowerOptions
  readonly #cursors: Cursor[]
  readonly counts = { applied: 0, resyncs: 0, gaps: 0, errors: 0 }

  constructor(io: RedisClient, table: ClientTable, o: FollowerOptions) {
    this.#io = io
    this.#table = table
    this.#o = o
    this.#cursors = Array.from({ length: o.buckets }, () => ({ id: '0-0', n: 0, synced: false }))
  }

  /** Every bucket synced. */
  get synced(): boolean {
    return this.#cursors.every(c => c.synced)
  }

  /** Poll every bucket once; true when some bucket returned a full batch (poll again now). */
  async poll(): Promise<boolean> {
    const busy = await Promise.all(this.#cursors.map((_, b) => this.#pollBucket(b)))
    return busy.some(x => x)
  }

  async #pollBucket(b: number): Promise<boolean> {
    const cur = this.#cursors[b] as Cursor
    try {
      if (!cur.synced) await this.resync(b)
      const res = await this.#io.xreadBuffer(
        'COUNT',
        this.#o.count,
        'STREAMS',
        streamKey(this.#o.prefix, b),
        cur.id,
      )
      const entries = res?.[0]?.[1] ?? []
      for (const [idBuf, flat] of entries) {
        const f = fieldsOf(flat)
        const n = Number(f.get('n')?.toString('latin1'))
        if (n !== cur.n + 1) {
          // A gap, or numbers restarted: what the replica holds of this bucket is unknown.
          this.counts.gaps++
          cur.synced = false
          this.#o.logger.warn({ bucket: b, at: cur.n, got: n }, 'store stream gap: resync')
          return true
        }
        this.#apply(f)
        cur.id = idBuf.toString('latin1')
        cur.n = n
        this.counts.applied++
      }
      return entries.length >= this.#o.count
    } catch (err) {
      this.counts.errors++
      this.#o.logger.debug({ bucket: b, err: (err as Error).message }, 'store follow failed')
      return false
    }
  }

  /**
   * Load every bucket (a front-end starting): the replica's entries no bucket holds are deleted
   * in one pass at the end, not one pass per bucket.
   */
  async resyncAll(): Promise<void> {
    const held = new Set<string>()
    for (let b = 0; b < this.#o.buckets; b++) await this.resync(b, held)
    const doomed: string[] = []
    for (const s of this.#table.entries()) {
      const key = keyOf(s.record)
      if (!held.has(key)) doomed.push(key)
    }
    for (const key of doomed) this.#table.delete(key)
  }

  /**
   * Load bucket `b` whole from the store, then follow its stream from that point. With `into`,
   * the keys held are added to it and the replica's other entries are left to the caller.
   */
  async resync(b: number, into?: Set<string>): Promise<void> {
    const cur = this.#cursors[b] as Cursor
    const [h, , , , , c] = bucketKeys(this.#o.prefix, b) as [string, ...string[]]
    const top = await this.#io.xrevrangeBuffer(streamKey(this.#o.prefix, b), '+', '-', 'COUNT', 1)
    let id = '0-0'
    let n: number
    const last = top[0]
    if (last !== undefined) {
      id = last[0].toString('latin1')
      n = Number(fieldsOf(last[1]).get('n')?.toString('latin1'))
    } else {
      n = Number((await this.#io.hget(c as string, 'v')) ?? 0)
    }
    const held = into ?? new Set<string>()
    let cursor = '0'
    do {
      const [next, flat] = await this.#io.hscanBuffer(h, cursor, 'COUNT', 512)
      cursor = next.toString('latin1')
      for (let i = 0; i + 1 < flat.length; i += 2) {
        held.add((flat[i] as Buffer).toString('latin1'))
        this.#put(flat[i + 1] as Buffer)
      }
    } while (cursor !== '0')
    if (into === undefined) {
      const doomed: string[] = []
      for (const s of this.#table.entries()) {
        const key = keyOf(s.record)
        if (!held.has(key) && bucketOf(this.#o.salt, key, this.#o.buckets) === b) doomed.push(key)
      }
      for (const key of doomed) this.#table.delete(key)
    }
    cur.id = id
    cur.n = Number.isFinite(n) ? n : 0
    cur.synced = true
    this.counts.resyncs++
  }

  #apply(f: Map<string, Buffer>): void {
    const t = f.get('t')?.toString('latin1')
    if (t === 'p') {
      const v = f.get('v')
      if (v !== undefined) this.#put(v)
      return
    }
    if (t === 'w') {
      const v = f.get('v')
      const signed = v === undefined ? null : decodeTrusted(v)
      if (signed !== null) withdrawLocal(this.#table, signed)
      return
    }
    const key = f.get('k')?.toString('latin1')
    const seq = Number(f.get('s')?.toString('latin1'))
    const e = key === undefined ? undefined : this.#table.peek(key)
    if (e === undefined) return
    if (t === 'd' && e.seq <= seq) this.#table.delete(e.key)
    else if (t === 'f' && e.seq === seq) this.#table.refresh(e)
    else if (t === 'r' && e.seq === seq) {
      // Another front-end proved these endpoints of this very record (docs/scale-out.md §4).
      const mask = Number(f.get('m')?.toString('latin1'))
      const at = Number(f.get('a')?.toString('latin1'))
      if (mask > 0 && mask <= 0xffff && Number.isInteger(at)) {
        markProven(e, mask, Math.max(at, e.provenAt))
      }
    }
  }

  /** A stored value into the replica, unless it holds this seq or a higher one already. */
  #put(value: Buffer): void {
    const v = decodeValue(value)
    const signed = v === null ? null : decodeTrusted(v.record)
    if (v === null || signed === null) return
    const held = this.#table.peek(keyOf(v.record))
    if (held !== undefined && held.seq >= signed.record.seq) return
    this.#table.insert(signed, v.observed, v.seenMs, v.proven ? v.observed : null)
  }
}
