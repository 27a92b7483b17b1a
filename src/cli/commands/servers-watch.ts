import { formatServerTable } from '../../client/format.js'
import type { ServerQuery } from '../../client/query-types.js'
import type { TrackerAddress } from '../../client/trackers.js'
import { type VerifiedEntry, connectEndpoints } from '../../client/verify.js'
import { ESC, renderFrame } from '../../client/watch-frame.js'
import { endpointToString } from '../../wire/endpoint.js'
import type { CliIo } from '../io.js'
import { reporter } from '../progress.js'
import { type QueryFlags, reportingQuerier } from '../query.js'
import { onStopSignal } from '../signals.js'

/*
 * `metatracker servers --watch`: the server list, refreshed every --interval, redrawn in place on
 * a terminal (alternate screen, changed rows highlighted; src/client/watch-frame.ts draws each
 * frame) or printed as successive tables into a pipe. Quits on q or Ctrl-C (the terminal is put
 * in raw mode only when stdin is one, and restored on the way out) and on SIGINT/SIGTERM.
 */

export interface WatchFlags extends QueryFlags {
  interval: number
}

/** What the list shows as a change: everything but the age. */
function signature(e: VerifiedEntry): string {
  const s = e.record.server
  return JSON.stringify([
    s?.name,
    connectEndpoints(e).map(endpointToString),
    s?.players,
    s?.maxPlayers,
    s?.world,
    s?.version,
    s?.tags,
  ])
}

function clockText(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19)
}

/** Wait `ms` or until `signal` aborts, whichever is first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}

/** The filters `servers` takes, as --watch needs them. */
export interface WatchQueryFlags {
  network: string
  world?: string
  version?: string
  tag: string[]
  notFull: boolean
  sort: ServerQuery['sort']
  count: number
}

/** The query of one refresh: the same filters as a plain `servers`. */
export function watchQuery(flags: WatchQueryFlags): ServerQuery {
  return {
    network: flags.network,
    count: flags.count,
    notFull: flags.notFull,
    ...(flags.sort === undefined ? {} : { sort: flags.sort }),
    ...(flags.world === undefined ? {} : { world: flags.world }),
    ...(flags.version === undefined ? {} : { version: flags.version }),
    ...(flags.tag.length > 0 ? { tags: flags.tag } : {}),
  }
}

/** Resolves on q, Q or Ctrl-C typed on a terminal stdin; `restore` puts the terminal back. */
function keyboard(): { pressed: Promise<void>; restore: () => void } {
  const stdin = process.stdin
  if (!stdin.isTTY) return { pressed: new Promise<void>(() => undefined), restore: () => undefined }
  let onData: (b: Buffer) => void = () => undefined
  const pressed = new Promise<void>(resolve => {
    onData = b => {
      const s = b.toString('latin1')
      if (s.includes('q') || s.includes('Q') || s.includes('\u0003')) resolve()
    }
  })
  stdin.setRawMode(true)
  stdin.on('data', onData)
  stdin.resume()
  return {
    pressed,
    restore: () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
    },
  }
}

/** Run the watch until the user quits; returns the number of frames drawn. */
export async function watchServers(
  io: CliIo,
  trackers: TrackerAddress[],
  flags: WatchFlags,
  query: ServerQuery,
): Promise<number> {
  const tty = io.interactive
  // On a terminal everything goes to stdout as is; into a pipe, through io (one line at a time).
  const write = tty
    ? (s: string) => {
        process.stdout.write(s)
      }
    : (s: string) => {
        io.out(s.replace(/\n$/, ''))
      }
  // Failovers are noise under a live view: only the frame says what went wrong.
  const { q, save } = await reportingQuerier(trackers, flags, reporter(io, tty))
  const signals = onStopSignal()
  const keys = keyboard()
  const stop = Promise.race([signals.stopped, keys.pressed])
  const quit = new AbortController()
  void stop.then(() => {
    quit.abort()
  })
  let previous: Map<string, string> | null = null
  let entries: VerifiedEntry[] = []
  let frames = 0
  if (tty) write(ESC.enter)
  try {
    while (!quit.signal.aborted) {
      const notes: string[] = []
      let from = ''
      try {
        const result = await Promise.race([
          q.servers(query, { transport: 'auto' }),
          stop.then(() => null),
        ])
        if (result === null) break
        entries = result.entries
        from = ` of ${result.total} from ${result.answeredBy.join(', ')}`
      } catch (err) {
        notes.push(`refresh failed: ${err instanceof Error ? err.message : String(err)}`)
      }
      const frame = renderFrame({
        title: `${query.network}: ${entries.length} server(s)${from} at ${clockText(Date.now())}${tty ? ' (q: quit)' : ''}`,
        table: formatServerTable(entries),
        rows: entries.map(e => ({ key: e.key, signature: signature(e) })),
        previous,
        notes,
        tty,
        ...(tty && process.stdout.rows > 0 ? { height: process.stdout.rows } : {}),
      })
      previous = frame.state
      write(frame.text)
      frames++
      await pause(flags.interval, quit.signal)
    }
  } finally {
    if (tty) write(ESC.leave)
    keys.restore()
    signals.dispose()
    await save()
    await q.close()
  }
  return frames
}
