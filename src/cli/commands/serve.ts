import type { Command } from 'commander'
import { type ConfigFlags, loadConfig } from '../../ops/config.js'
import { createAddressMatcher } from '../../tracker/handlers/allow-list.js'
import { TrackerRuntime } from '../../ops/runtime.js'
import type { CliIo } from '../io.js'
import { stderrLogger } from '../logger.js'
import { addOptionFlags } from '../option-flags.js'
import { parseListingSpec, startObserve } from './serve-observe.js'

interface ServeFlags extends Omit<ConfigFlags, 'listing'> {
  config?: string
  listing: string[]
}

/**
 * Signals (the CLI is the only code that owns them): SIGHUP reloads the deny list, the first
 * SIGINT or SIGTERM stops (stop reading, last checkpoint, then close: TrackerRuntime.stop).
 * Resolves with the stopping signal.
 */
function handleSignals(runtime: TrackerRuntime): Promise<string> {
  return new Promise(resolve => {
    const hup = (): void => {
      void runtime.reloadDenyList()
    }
    const stop = (signal: string): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      process.off('SIGHUP', hup)
      // A second signal while stopping is ignored rather than killing the last checkpoint.
      process.on('SIGINT', () => undefined)
      process.on('SIGTERM', () => undefined)
      resolve(signal)
    }
    process.on('SIGHUP', hup)
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
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
      const { config: file, listing, ...rest } = flags
      // Every option is checked before anything is bound (CONFIG_* errors exit 2). The CLI
      // syntax of --listing is read here; the config checks the result like the file's.
      const config = await loadConfig(file, {
        ...rest,
        ...(listing.length > 0 ? { listing: listing.map(parseListingSpec) } : {}),
      })
      const logger = stderrLogger(config.log.level)
      const runtime = await TrackerRuntime.open(config, { logger })
      // The operator allow-list exempts the status page, /healthz and /metrics from flood control.
      const operators = createAddressMatcher(config.operatorAllow)
      const stopped = handleSignals(runtime)
      await runtime.start()
      const observe = await startObserve(
        runtime.daemon,
        {
          http: config.http.port,
          httpHosts: config.http.host,
          listing: config.listing,
          operator: config.operator,
        },
        logger,
        address => operators.matches(address),
      ).catch(async (err: unknown) => {
        await runtime.stop('observers failed to start')
        throw err
      })
      // runtime.stop closes them with the tracker's own listeners, before the last checkpoint.
      runtime.attach(observe)
      const a = runtime.daemon.addresses()
      io.out(
        JSON.stringify({
          event: 'listening',
          udp: a.udp,
          tcp: a.tcp,
          http: observe.httpPort,
          hosts: a.hosts,
          listing: observe.listingPorts,
          listeners: a.listeners,
        }),
      )
      const signal = await stopped
      await runtime.stop(signal)
    })
}
