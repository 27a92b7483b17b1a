import type { Command } from 'commander'
import { type ConfigFlags, loadConfig } from '../../ops/config.js'
import { type Tracker, startTracker } from '../../ops/start.js'
import type { CliIo } from '../io.js'
import { stderrLogger } from '../logger.js'
import { addOptionFlags } from '../option-flags.js'
import { parseListingSpec } from './serve-flags.js'

interface ServeFlags extends Omit<ConfigFlags, 'listing'> {
  config?: string
  listing: string[]
}

/**
 * Signals (the CLI is the only code that owns them): SIGHUP reloads the deny list of the
 * tracker `running()` returns (none yet: ignored), the first SIGINT or SIGTERM stops (stop
 * reading, last checkpoint, then close: Tracker.stop). `stopped` resolves with the stopping
 * signal; `dispose` removes the handlers (when the tracker never started).
 */
function handleSignals(running: () => Tracker | null): {
  stopped: Promise<string>
  dispose: () => void
} {
  const hup = (): void => {
    void running()?.reloadDenyList()
  }
  let stop: (signal: string) => void = () => undefined
  const dispose = (): void => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    process.off('SIGHUP', hup)
  }
  const stopped = new Promise<string>(resolve => {
    stop = (signal: string): void => {
      dispose()
      // A second signal while stopping is ignored rather than killing the last checkpoint.
      process.on('SIGINT', () => undefined)
      process.on('SIGTERM', () => undefined)
      resolve(signal)
    }
  })
  process.on('SIGHUP', hup)
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return { stopped, dispose }
}

export function registerServe(program: Command, io: CliIo): void {
  // One flag per option row (src/cli/option-flags.ts): adding an option needs no edit here.
  addOptionFlags(
    program
      .command('serve')
      .option('--config <file>', 'JSON configuration file; flags override it'),
  )
    .description(
      'run a tracker: UDP and TCP listeners on each --host; SIGHUP reloads the deny list, ' +
        'SIGTERM/SIGINT stop after a last checkpoint (see docs/operations.md)',
    )
    .action(async (flags: ServeFlags) => {
      // Signals are handled from the first moment: as PID 1 in a container a SIGTERM with no
      // handler would be ignored. A stop during start-up stops right after the start.
      let tracker: Tracker | null = null
      const signals = handleSignals(() => tracker)
      try {
        const { config: file, listing, ...rest } = flags
        // Every option is checked before anything is bound (CONFIG_* errors exit 2). The CLI
        // syntax of --listing is read here; the config checks the result like the file's.
        const config = await loadConfig(file, {
          ...rest,
          ...(listing.length > 0 ? { listing: listing.map(parseListingSpec) } : {}),
        })
        tracker = await startTracker(config, { logger: stderrLogger(config.log.level) })
      } catch (err) {
        signals.dispose()
        throw err
      }
      io.out(JSON.stringify(tracker.listening))
      await tracker.stop(await signals.stopped)
    })
}
