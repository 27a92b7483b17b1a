import { type Command, InvalidArgumentError } from 'commander'
import { requestStats } from '../../client/stats.js'
import { type TrackerAddress, parseTrackerSpec, trackerLabel } from '../../client/trackers.js'
import { isTrackerError } from '../../errors.js'
import type { Stat } from '../../wire/messages.js'
import type { CliIo } from '../io.js'

export function registerStats(program: Command, io: CliIo): void {
  program
    .command('stats')
    .description(
      "print a tracker's counters (stats-request over TCP), like MetaServerII's metastat",
    )
    .requiredOption(
      '--tracker <host:port>',
      'the tracker: HOST:PORT or [IPv6]:PORT (its TCP port)',
      parseTracker,
    )
    .option('--json', 'print JSON: {"tracker": "...", "stats": {name: value}}', false)
    .option('--timeout <ms>', 'give up after this many milliseconds', parseTimeout, 5000)
    .action(async (opts: { tracker: TrackerAddress; json: boolean; timeout: number }) => {
      const label = trackerLabel(opts.tracker)
      const stats = await requestStats(
        { host: opts.tracker.host, port: opts.tracker.tcp ?? 0 },
        { timeoutMs: opts.timeout },
      )
      if (opts.json) {
        io.out(
          JSON.stringify({
            tracker: label,
            stats: Object.fromEntries(stats.map(s => [s.name, s.value])),
          }),
        )
      } else {
        for (const line of statsTable(label, stats)) io.out(line)
      }
    })
}

/** The client's HOST:PORT parser (src/client/trackers.ts); a bad address is a usage error (exit 2). */
function parseTracker(text: string): TrackerAddress {
  try {
    return parseTrackerSpec(text)
  } catch (err) {
    if (isTrackerError(err)) throw new InvalidArgumentError(err.message)
    throw err
  }
}

function parseTimeout(text: string): number {
  const ms = Number(text)
  if (!/^[0-9]+$/.test(text) || ms < 1 || ms > 600_000)
    throw new InvalidArgumentError('must be an integer 1-600000')
  return ms
}

/** The human form: a header line, then `name  value` aligned in two columns. */
export function statsTable(tracker: string, stats: readonly Stat[]): string[] {
  const rows: [string, string][] = [
    ['counter', 'value'],
    ...stats.map(s => [s.name, String(s.value)] as [string, string]),
  ]
  const w0 = Math.max(...rows.map(r => r[0].length))
  const w1 = Math.max(...rows.map(r => r[1].length))
  return [`tracker ${tracker}`, ...rows.map(([n, v]) => `${n.padEnd(w0)}  ${v.padStart(w1)}`)]
}
