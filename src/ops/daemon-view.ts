import type { Clock } from '../clock.js'
import type { ClientTable, Entry } from '../table/client-table.js'
import type { Stat } from '../wire/messages.js'
import { decodeRecord } from '../wire/record.js'
import {
  type SelectQuery,
  type Selection,
  best,
  list,
  sample,
  seededRandom,
} from '../table/select.js'
import type {
  OperatorInfo,
  TrackerView,
  ViewEntry,
  ViewQuery,
  ViewSelection,
} from '../observe/view.js'

/** What the observers need of a Daemon (a Daemon fits; so does one that is not started). */
export interface ViewSource {
  readonly table: ClientTable
  readonly stats: { snapshot(): Stat[] }
  readonly clock: Clock
}

/**
 * The one place the observers meet the tracker core: a TrackerView over a Daemon's table and
 * stats. Selection is the tracker's own (`src/table/select.ts`), so the JSON API and the
 * listing ports answer exactly as a wire query would; only the entries returned are decoded.
 */
export function daemonView(
  d: ViewSource,
  operator: OperatorInfo,
  startedAt: number = d.clock.now(),
): TrackerView {
  return {
    clock: d.clock,
    startedAt,
    operator,
    stats: () => d.stats.snapshot(),
    table: () => ({
      entries: d.table.size,
      bytes: d.table.bytes,
      maxEntries: d.table.maxEntries,
      maxBytes: d.table.maxBytes,
    }),
    networks: kind => {
      const prefix = kind === 'server' ? 's' : 'p'
      return d.table
        .bucketIds()
        .filter(id => id.startsWith(prefix))
        .map(id => id.slice(1))
        .filter(n => d.table.bucket(n, kind).length > 0)
    },
    select: (q: ViewQuery): ViewSelection => {
      const sq: SelectQuery = {
        network: q.network,
        kind: q.kind,
        count: q.count,
        offset: q.offset,
        sort: q.sort,
        notFull: q.notFull,
        world: q.world,
        version: q.version,
        tags: q.tags,
        exclude: null,
      }
      let sel: Selection
      switch (q.mode) {
        case 'sample':
          // Port 0 is never an entry's observed port: nobody is left out by address.
          sel = sample(d.table, sq, { address: '', port: 0 }, seededRandom(q.seed))
          break
        case 'list':
          sel = list(d.table, sq)
          break
        case 'best':
          sel = best(d.table, sq)
          break
      }
      const entries: ViewEntry[] = []
      for (const e of sel.entries) {
        const v = toViewEntry(e)
        if (v !== null) entries.push(v)
      }
      return { total: sel.total, entries }
    },
  }
}

function toViewEntry(e: Entry): ViewEntry | null {
  let signed
  try {
    signed = decodeRecord(e.recordBytes)
  } catch {
    // The table holds only records that decoded when announced; never expected.
    return null
  }
  return {
    record: signed.record,
    bytes: signed.bytes,
    observed: e.observed,
    lastSeen: e.seen * 1000,
    verified: false,
  }
}
