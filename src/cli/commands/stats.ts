import { type Command, InvalidArgumentError } from 'commander'
import { requestStats } from '../../client/stats.js'
import { TrackerError } from '../../errors.js'
import type { Stat } from '../../wire/messages.js'
import type { CliIo } from '../io.js'

export function registerStats(program: Command, io: CliIo): void {
  program
    .command('stats')
    .description(
      "print a tracker's counters (stats-request over TCP), like MetaServerII's metastat",
    )
    .requiredOption('--tracker <host:port>', 'the tracker: HOST:PORT or [IPv6]:PORT (its TCP port)')
    .option('--json', 'print JSON: {"tracker": "...", "stats": {name: value}}', false)
    .option('--timeout <ms>', 'give up after this many milliseconds', parseTimeout, 5000)
    .action(async (opts: { tracker: string; json: boolean; timeout: number }) => {
      const target = parseHostPort(opts.tracker)
      const stats = await requestStats(target, { timeoutMs: opts.timeout })
      if (opts.json) {
        io.out(
          JSON.stringify({
            tracker: opts.tracker,
            stats: Object.fromEntries(stats.map(s => [s.name, s.value])),
          }),
        )
      } else {
        for (const line of statsTable(opts.tracker, stats)) io.out(line)
      }
    })
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

/**
 * HOST:PORT or [IPv6]:PORT. (The client area's `parseTrackerSpec` does the same for tracker
 * addresses; this stays local until that lands, then the command uses it.)
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text)
  const port = Number(m?.[2])
  if (m?.[1] === undefined || !Number.isInteger(port) || port < 1 || port > 65_535)
    throw new TrackerError('CLI_BAD_ADDRESS', `not HOST:PORT or [IPv6]:PORT: ${text.slice(0, 100)}`)
  return { host: m[1], port }
}
