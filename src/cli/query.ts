import { Querier } from '../client/querier.js'
import type { TrackerAddress } from '../client/trackers.js'
import { type DropCounts, totalDrops } from '../client/verify.js'
import type { Reporter } from './progress.js'

/** Options shared by the commands that query trackers. */
export interface QueryFlags {
  timeout: number
  deadline: number
  json: boolean
}

/** A Querier whose failovers and retries are reported on stderr. */
export function reportingQuerier(
  trackers: TrackerAddress[],
  flags: QueryFlags,
  r: Reporter,
): Querier {
  const q = new Querier({ trackers, timeout: flags.timeout, deadline: flags.deadline })
  q.on('ask', a => {
    r.progress(`asking ${a.tracker} (${a.transport})…`)
  })
  q.on('attempt', a => {
    if (a.outcome === 'ok') r.progress(`${a.tracker}: ${a.entries ?? 0} entries (${a.transport})`)
    else
      r.note(
        `${a.tracker}: ${a.outcome}${a.message === undefined ? '' : ` (${a.message})`}`,
        'yellow',
      )
  })
  return q
}

/** Tell the user when records were thrown away by the client's own checks. */
export function reportDrops(d: DropCounts, r: Reporter): void {
  const n = totalDrops(d)
  if (n === 0) return
  const parts = Object.entries(d)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${v} ${k}`)
  r.note(`dropped ${n} record(s) that failed the client's checks: ${parts.join(', ')}`, 'yellow')
}
