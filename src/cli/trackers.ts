import { type Command, InvalidArgumentError } from 'commander'
import { type TrackerAddress, parseTrackerSpec, trackerId } from '../client/trackers.js'
import { TrackerError, isTrackerError } from '../errors.js'

/*
 * Where the tracker list of a command comes from. Today: repeatable `--tracker HOST:PORT`.
 *
 * ┌─ BOOTPAGE PLUG-IN POINT ───────────────────────────────────────────────────────────────┐
 * │ The bootpage area adds `--bootpage FILE|URL` in addTrackerOptions() below and turns it   │
 * │ into TrackerAddress[] in resolveTrackers() (load, verify k-of-n signatures, cache). Every │
 * │ command that talks to trackers (announce, peers, servers) goes through these two          │
 * │ functions, so nothing else needs to change.                                               │
 * └──────────────────────────────────────────────────────────────────────────────────────────┘
 */

/** The options addTrackerOptions() declares, as commander hands them to an action. */
export interface TrackerSourceOptions {
  tracker: TrackerAddress[]
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
  return command.option(
    '--tracker <host:port>',
    'a tracker (UDP and TCP on that port), repeatable; [IPv6]:PORT for IPv6',
    collectTracker,
    [],
  )
  // BOOTPAGE: .option('--bootpage <file|url>', 'load the tracker list from a signed bootpage')
}

/**
 * The trackers a command should use. Errors with CLI_NO_TRACKERS (exit 2) when no source was
 * given. Duplicates are dropped.
 */
export function resolveTrackers(options: TrackerSourceOptions): Promise<TrackerAddress[]> {
  const out = new Map<string, TrackerAddress>()
  for (const t of options.tracker) out.set(trackerId(t), t)
  // BOOTPAGE: if (options.bootpage !== undefined) add the bootpage's trackers to `out` here.
  if (out.size === 0) return Promise.reject(new TrackerError('CLI_NO_TRACKERS'))
  return Promise.resolve([...out.values()])
}
