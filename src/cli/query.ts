import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { TrackerHealth } from '../client/health.js'
import { Querier, type QueryResult } from '../client/querier.js'
import type { TrackerAddress } from '../client/trackers.js'
import { type DropCounts, totalDrops } from '../client/verify.js'
import { TrackerError } from '../errors.js'
import type { Reporter } from './progress.js'
import { defaultBootpageCacheDir } from './trackers.js'

/** Options shared by the commands that query trackers. */
export interface QueryFlags {
  timeout: number
  deadline: number
  json: boolean
  /** false with --no-health-cache. */
  healthCache: boolean
  /** The --bootpage-cache directory, when given: the health file goes beside the page. */
  bootpageCache?: string | false
}

/** The file, in the cache directory, where what was learnt of each tracker is kept. */
export const HEALTH_FILE = 'health.json'
/** A larger health file is not read (it holds at most 256 small entries). */
const HEALTH_FILE_MAX = 256 * 1024

/** Declare --no-health-cache (peers, servers). */
export function addHealthOption(command: Command): Command {
  return command.option(
    '--no-health-cache',
    `forget tracker health between runs (also: METATRACKER_HEALTH_CACHE=0); by default it is kept in ${HEALTH_FILE} in the cache directory`,
  )
}

/** Where the health memory lives, or null when it is off (flag or environment). */
export function healthFile(flags: QueryFlags, env = process.env): string | null {
  if (!flags.healthCache) return null
  const off = (env.METATRACKER_HEALTH_CACHE ?? '').toLowerCase()
  if (['0', 'off', 'no', 'false'].includes(off)) return null
  const dir = typeof flags.bootpageCache === 'string' ? flags.bootpageCache : null
  return join(dir ?? defaultBootpageCacheDir(), HEALTH_FILE)
}

/** A Querier whose failovers are reported on stderr; `save()` keeps its health for next time. */
export async function reportingQuerier(
  trackers: TrackerAddress[],
  flags: QueryFlags,
  r: Reporter,
): Promise<{ q: Querier; save: () => Promise<void> }> {
  const file = healthFile(flags)
  const health = new TrackerHealth()
  if (file !== null) await loadHealth(file, health)
  const q = new Querier({ trackers, timeout: flags.timeout, deadline: flags.deadline, health })
  q.on('ask', a => {
    r.progress(`asking ${a.tracker} (${a.transport})…`)
  })
  q.on('attempt', a => {
    if (a.outcome === 'ok') r.progress(`${a.tracker}: ${a.entries ?? 0} entries (${a.transport})`)
    else if (a.outcome === 'cancelled') r.progress(`${a.tracker}: cancelled (${a.message ?? ''})`)
    else
      r.note(
        `${a.tracker}: ${a.outcome}${a.message === undefined ? '' : ` (${a.message})`}`,
        'yellow',
      )
  })
  const save = async (): Promise<void> => {
    if (file === null) return
    try {
      await mkdir(join(file, '..'), { recursive: true })
      const tmp = `${file}.${process.pid}.tmp`
      await writeFile(tmp, JSON.stringify(health.snapshot()) + '\n', { mode: 0o600 })
      await rename(tmp, file)
    } catch (err) {
      r.note(`could not keep tracker health in ${file}: ${(err as Error).message}`, 'yellow')
    }
  }
  return { q, save }
}

/** Read the health file; a missing, oversized or unreadable one is simply a fresh start. */
async function loadHealth(file: string, health: TrackerHealth): Promise<void> {
  try {
    const text = await readFile(file, 'utf8')
    if (text.length > HEALTH_FILE_MAX) return
    health.restore(JSON.parse(text))
  } catch {
    // First run, or a damaged file: it is rewritten after this run.
  }
}

/**
 * A partial answer is never silent: a notice on stderr (the error line) and exit 4, after the
 * entries were printed (docs/errors.md, CLIENT_PARTIAL).
 */
export function failIfPartial(result: QueryResult): void {
  if (!result.partial) return
  const why = result.attempts.find(a => a.partial !== undefined)?.partial ?? 'incomplete'
  throw new TrackerError(
    'CLIENT_PARTIAL',
    `partial answer: ${result.entries.length} entries printed, ${result.total} matched (${why})`,
  )
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
