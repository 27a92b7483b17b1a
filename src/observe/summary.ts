import type { Stat } from '../wire/messages.js'

/*
 * Which of the tracker's counters feed the status page's headline figures. Kept in one table so
 * that renaming a counter in the tracker core means changing one line here.
 */

/** Counters summed for "announces per second". */
export const ANNOUNCE_COUNTERS: readonly string[] = ['announces']
/** Counters summed for "queries per second". */
export const QUERY_COUNTERS: readonly string[] = ['queries']
/**
 * Stats that are levels rather than running totals (the rest only ever grow): exported as
 * Prometheus gauges, not counters.
 */
export const GAUGE_STATS: ReadonlySet<string> = new Set([
  'table_entries',
  'table_bytes',
  'table_blocks',
  'tcp_open',
  'flood_sources',
  'verify_workers',
  'verify_queue',
  'verify_in_flight',
])
/** A drop counter is `dropped_<reason>`; the reason is the rest of the name. */
export const DROP_PREFIX = 'dropped_'

export interface Drop {
  reason: string
  count: number
}

/** Every non-zero drop counter, largest first, then by reason. */
export function dropsByReason(stats: readonly Stat[]): Drop[] {
  return stats
    .filter(s => s.name.startsWith(DROP_PREFIX) && s.value > 0)
    .map(s => ({ reason: s.name.slice(DROP_PREFIX.length), count: s.value }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1))
}
