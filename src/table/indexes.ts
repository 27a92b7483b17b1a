import { blocksOf, slotAdd, slotList, slotRemove, type Slots } from './blocks.js'
import {
  type Block,
  type Bucket,
  type Entry,
  IN_BLOCK,
  IN_BUCKET,
  IN_WIDE,
  INDEX_OVERHEAD,
} from './entry.js'

/** Most entries of a full block looked at for expired ones before refusing a new entry. */
export const PURGE_SCAN = 1024

/**
 * The table's index arrays: one per (network, kind) for selection, one per address block (/24,
 * /48) and per wide block (/16, /32) for their caps and purging. An entry is found in them from
 * its network, kind and address (it holds no pointer to them); an array is made with its first
 * member and dropped once empty (blocks.ts).
 */
export class Indexes {
  readonly buckets = new Map<string, Bucket>()
  readonly blocks = new Map<string, Block>()
  readonly wides = new Map<string, Block>()

  /**
   * Bytes charged for the arrays held, INDEX_OVERHEAD each; with `adding`, also for those it
   * would create.
   */
  bytes(adding?: Entry): number {
    let n = this.buckets.size + this.blocks.size + this.wides.size
    if (adding !== undefined) {
      const [blockId, wideId] = blocksOf(adding.ip)
      if (!this.buckets.has(adding.bucketId)) n++
      if (!this.blocks.has(blockId)) n++
      if (!this.wides.has(wideId)) n++
    }
    return n * INDEX_OVERHEAD
  }

  /** Put `e` in its index and blocks. */
  link(e: Entry): void {
    const [blockId, wideId] = blocksOf(e.ip)
    linkIn(this.buckets, e.bucketId, e, IN_BUCKET)
    linkIn(this.blocks, blockId, e, IN_BLOCK)
    linkIn(this.wides, wideId, e, IN_WIDE)
  }

  unlink(e: Entry): void {
    const [blockId, wideId] = blocksOf(e.ip)
    unlinkFrom(this.buckets, e.bucketId, e, IN_BUCKET)
    unlinkFrom(this.blocks, blockId, e, IN_BLOCK)
    unlinkFrom(this.wides, wideId, e, IN_WIDE)
  }

  /**
   * Is there room under `cap` in block `id` of `map` (`held`, already in it, always has its
   * place)? A full block is first purged of its expired members (at most PURGE_SCAN looked at)
   * through `drop`, which takes them out of the table (and so out of here).
   */
  roomIn(
    map: Map<string, Block>,
    id: string,
    held: Entry | undefined,
    cap: number,
    now: number,
    drop: (key: string) => void,
  ): boolean {
    const block = map.get(id)
    if (block === undefined || block.length < cap) return true
    if (held !== undefined && blocksOf(held.ip).includes(id)) return true
    const doomed: string[] = []
    for (let i = 0; i < block.length && i < PURGE_SCAN; i++) {
      const e = block[i] as Entry
      if (e.until <= now) doomed.push(e.key)
    }
    for (const k of doomed) drop(k)
    return (map.get(id)?.length ?? 0) < cap
  }
}

function linkIn(map: Map<string, Entry[]>, id: string, e: Entry, s: Slots<Entry>): void {
  const list = map.get(id)
  if (list === undefined) map.set(id, slotList(e, s))
  else slotAdd(list, e, s)
}

function unlinkFrom(map: Map<string, Entry[]>, id: string, e: Entry, s: Slots<Entry>): void {
  const list = map.get(id)
  if (list !== undefined && slotRemove(list, e, s) && list.length === 0) map.delete(id)
}
