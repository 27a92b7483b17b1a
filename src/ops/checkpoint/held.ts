import type { Entry } from '../../table/client-table.js'
import type { CheckpointEntry } from './format.js'

/** What a save reads of the table (ClientTable implements it). */
export interface SaveTable {
  refs(): Entry[]
  peek(key: string): Entry | undefined
  nowSeconds(): number
  provenOf(e: Entry, nowSeconds: number): number
}

/**
 * The table's entries for a save, without stalling the event loop: the references are taken at
 * once (`refs`: one array slot per entry, tens of ms at 1M entries; docs/benchmarks.md), each
 * is turned into a checkpoint entry only when the writer reaches it (store.ts encodes and
 * writes a chunk at a time, yielding between chunks), from what is held under its key then.
 *
 * An Entry is a stable handle (src/table/entry.ts), and the save writes the entry held under
 * each collected key when it gets there:
 * - refreshed in the meantime (the same Entry): written with its new times;
 * - replaced by a higher seq (a new Entry under the same key): the new version is in this save;
 * - gone (evicted, expired, deleted, withdrawn): skipped;
 * - a key first stored after the save began: in the next save (or the last one, at stop, taken
 *   after the listeners closed, when nothing changes the table any more).
 * Each key is written once: the collected keys are distinct (one entry per key).
 */
export function heldEntries(table: SaveTable): Iterable<CheckpointEntry> {
  const refs = table.refs()
  return {
    *[Symbol.iterator](): Iterator<CheckpointEntry> {
      for (let i = 0; i < refs.length; i++) {
        const ref = refs[i]
        if (ref === undefined) continue
        const e = table.peek(ref.key)
        if (e === undefined) continue
        const now = table.nowSeconds()
        const proven = table.provenOf(e, now)
        const c: CheckpointEntry = {
          record: e.recordBytes,
          observed: e.observed,
          lastSeen: e.seen * 1000,
        }
        if (proven !== 0 && e.provenAt > 0) {
          c.proven = proven
          c.provenAt = e.provenAt
        }
        yield c
      }
    },
  }
}
