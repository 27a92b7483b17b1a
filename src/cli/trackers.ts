import { homedir } from 'node:os'
import { join } from 'node:path'
import { type Command, InvalidArgumentError } from 'commander'
import { loadBootpage } from '../client/bootpage-source.js'
import { type TrackerAddress, parseTrackerSpec, trackerId } from '../client/trackers.js'
import { TrackerError, isTrackerError } from '../errors.js'
import { readKeyList } from './key-list.js'

/*
 * Where the tracker list of a command comes from: repeatable `--tracker HOST:PORT`, and/or a
 * signed bootpage (`--bootpage FILE|URL --pin KEYS`, see docs/bootpage.md §6).
 *
 * Every command that talks to trackers (announce, peers, servers) declares its options with
 * addTrackerOptions() and gets its list from resolveTrackers(), so a new source is added here.
 */

/** The options addTrackerOptions() declares, as commander hands them to an action. */
export interface TrackerSourceOptions {
  tracker: TrackerAddress[]
  // A signed list of trackers instead (docs/bootpage.md §6)
  bootpage?: string
  pin?: string[]
  pinThreshold?: number
  /** A directory, or false for --no-bootpage-cache; absent: the default cache directory. */
  bootpageCache?: string | false
  /** The command's --network, when it has one: the bootpage must be for that network. */
  network?: string
}

/** Where clients keep the last accepted bootpage: $XDG_CACHE_HOME/metatracker or ~/.cache/… */
export function defaultBootpageCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME
  return join(base !== undefined && base !== '' ? base : join(homedir(), '.cache'), 'metatracker')
}

function pinThreshold(value: string): number {
  if (!/^[0-9]{1,2}$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('--pin-threshold must be an integer 1..64')
  return Number(value)
}

function collectTracker(value: string, previous: TrackerAddress[]): TrackerAddress[] {
  try {
    return [...previous, parseTrackerSpec(value)]
  } catch (err) {
    if (isTrackerError(err)) throw new InvalidArgumentError(err.message)
    throw err
  }
}

/** Declare the tracker-source options on a command. */
export function addTrackerOptions(command: Command): Command {
  return command
    .option(
      '--tracker <host:port>',
      'a tracker (UDP and TCP on that port), repeatable; [IPv6]:PORT for IPv6',
      collectTracker,
      [],
    )
    .option('--bootpage <file|url>', 'load the tracker list from a signed bootpage (needs --pin)')
    .option(
      '--pin <keys>',
      'operator keys the bootpage must be signed by: comma list of HEX or a file of "HEX name" lines (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--pin-threshold <k>',
      'pinned keys that must have signed (default: a majority)',
      pinThreshold,
    )
    .option(
      '--bootpage-cache <dir>',
      'where the last accepted bootpage is kept (default: ~/.cache/metatracker)',
    )
    .option('--no-bootpage-cache', 'keep no bootpage cache (no rollback protection across runs)')
}

/**
 * The trackers a command should use: every --tracker, plus the trackers of a --bootpage that
 * passed client acceptance (k of the pinned or current operator keys, not expired, not older
 * than the cached one; the cached page when the source fails). Errors with CLI_NO_TRACKERS
 * (exit 2) when no source was given; a refused bootpage throws its BOOTPAGE_* code. `warn`
 * receives one line when the cached page had to be used. Duplicates are dropped.
 */
export async function resolveTrackers(
  options: TrackerSourceOptions,
  warn: (line: string) => void = () => undefined,
): Promise<TrackerAddress[]> {
  const out = new Map<string, TrackerAddress>()
  for (const t of options.tracker) out.set(trackerId(t), t)
  if (options.bootpage !== undefined) {
    const pinSpecs = options.pin ?? []
    if (pinSpecs.length === 0) {
      throw new TrackerError(
        'BOOTPAGE_BAD_SPEC',
        "--bootpage needs --pin KEYS (the operators' public keys, or a file of them)",
      )
    }
    const pins = (await readKeyList(pinSpecs, 'pin')).map(o => o.key)
    const cacheDir =
      options.bootpageCache === false ? null : (options.bootpageCache ?? defaultBootpageCacheDir())
    const loaded = await loadBootpage({
      source: options.bootpage,
      pins,
      cacheDir,
      ...(options.pinThreshold === undefined ? {} : { pinThreshold: options.pinThreshold }),
      ...(options.network === undefined ? {} : { network: options.network }),
    })
    if (loaded.from === 'cache') {
      warn(
        `bootpage: ${loaded.sourceError?.code ?? 'unavailable'} (${loaded.sourceError?.message ?? ''}); ` +
          `using the cached page, sequence ${loaded.document.page.sequence}`,
      )
    }
    if (loaded.cacheError !== undefined)
      warn(`bootpage: could not write the cache: ${loaded.cacheError.message}`)
    for (const t of loaded.trackers) {
      const id = trackerId(t)
      if (!out.has(id)) out.set(id, t)
    }
  }
  if (out.size === 0) throw new TrackerError('CLI_NO_TRACKERS')
  return [...out.values()]
}
