import { blockOf, wideBlockOf } from './blocks.js'
import { type Block, type Bucket, type Entry, INDEX_OVERHEAD, entryCharge } from './entry.js'
import type { Segments } from './segments.js'

export interface TableParts {
  segs: Segments<Entry>
  buckets: Map<string, Bucket>
  blocks: Map<string, Block>
  wides: Map<string, Block>
  memoryBytes: number
  /** What the table charges for its index arrays (client-table.ts `#indexBytes`). */
  indexBytes: number
}

/**
 * Recount the indexes, block counts, segments and budgets from the two lru-cache segments' own
 * contents (expired entries included) and list every disagreement; [] when consistent.
 * O(table): for tests and operators' checks, never on a request path.
 */
export function checkTable(t: TableParts): string[] {
  const errors: string[] = []
  const held = new Map<string, Entry>()
  const narrow = new Map<string, number>()
  const wide = new Map<string, number>()
  const { segs } = t
  let protBytes = 0
  for (const [seg, prot] of [
    [segs.probation, false],
    [segs.protected, true],
  ] as const) {
    for (const [key, { value }] of seg.dump()) {
      if (held.has(key)) errors.push(`key in both segments`)
      held.set(key, value)
      if (value.prot !== prot) errors.push(`entry marked ${value.prot ? 'protected' : 'probation'}`)
      if (prot) protBytes += entryCharge(value)
      if (value.key !== key) errors.push(`entry key differs from its table key`)
      const b = blockOf(value.ip)
      const w = wideBlockOf(value.ip)
      narrow.set(b, (narrow.get(b) ?? 0) + 1)
      wide.set(w, (wide.get(w) ?? 0) + 1)
      const bucket = t.buckets.get(value.bucketId)
      const block = t.blocks.get(b)
      const wideBlock = t.wides.get(w)
      if (bucket?.[value.slot] !== value) errors.push(`entry not at its slot`)
      if (block?.[value.bslot] !== value) errors.push(`entry not at its block slot`)
      if (wideBlock?.[value.wslot] !== value) errors.push(`entry not at its wide slot`)
    }
  }
  let indexed = 0
  for (const [id, bucket] of t.buckets) {
    if (bucket.length === 0) errors.push(`empty bucket ${id} kept`)
    bucket.forEach((e, i) => {
      indexed++
      if (e.slot !== i) errors.push(`slot ${e.slot} recorded at position ${i}`)
      if (held.get(e.key) !== e) errors.push(`indexed entry not in the table`)
    })
  }
  if (indexed !== held.size) errors.push(`indexed ${indexed}, held ${held.size}`)
  if (held.size !== segs.size) errors.push(`dump ${held.size}, size ${segs.size}`)
  if (segs.size > segs.maxEntries) errors.push(`size ${segs.size} over ${segs.maxEntries}`)
  if (segs.protected.size > segs.protectedMaxEntries) errors.push(`protected over its cap`)
  if (protBytes > segs.protectedMaxBytes) errors.push(`protected bytes over their cap`)
  for (const [name, map, counted] of [
    ['block', t.blocks, narrow],
    ['wide block', t.wides, wide],
  ] as const) {
    if (map.size !== counted.size) errors.push(`${name}s ${map.size} vs ${counted.size}`)
    for (const [b, block] of map) {
      if (counted.get(b) !== block.length) {
        errors.push(`${name} ${b}: counted ${block.length}, held ${counted.get(b) ?? 0}`)
      }
      const slotOf = (e: Entry): number => (name === 'block' ? e.bslot : e.wslot)
      block.forEach((e, i) => {
        if (slotOf(e) !== i || held.get(e.key) !== e)
          errors.push(`${name} ${b} member out of place`)
      })
    }
  }
  let bytes = 0
  for (const e of held.values()) bytes += entryCharge(e)
  if (bytes !== segs.bytes) errors.push(`bytes ${segs.bytes}, recounted ${bytes}`)
  const indexes = t.buckets.size + t.blocks.size + t.wides.size
  if (t.indexBytes !== indexes * INDEX_OVERHEAD) errors.push(`index bytes ${t.indexBytes}`)
  if (bytes + t.indexBytes > segs.maxBytes) {
    errors.push(`bytes ${bytes} + indexes ${t.indexBytes} over ${segs.maxBytes}`)
  }
  return errors
}
