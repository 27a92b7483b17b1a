import type { Command } from 'commander'
import { type ConfigFlags, loadConfig } from '../../ops/config.js'
import { createAddressMatcher } from '../../tracker/handlers/allow-list.js'
import { TrackerRuntime } from '../../ops/runtime.js'
import type { CliIo } from '../io.js'
import { stderrLogger } from '../logger.js'
import {
  HTTP_FLAG_HELP,
  LISTING_FLAG_HELP,
  parseListingSpec,
  startObserve,
} from './serve-observe.js'

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

const collect = (value: string, previous: string[]): string[] => [...previous, value]

export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description(
      'run a tracker: UDP and TCP listeners on each --host; SIGHUP reloads the deny list, ' +
        'SIGTERM/SIGINT stop after a last checkpoint (see docs/operations.md)',
    )
    .option('--config <file>', 'JSON configuration file; flags override it')
    .option('--host <address>', 'address to listen on, repeatable (default 127.0.0.1)', collect, [])
    .option('--udp <port>', 'UDP port, 0 = any free port, off = none (default 3520)')
    .option('--tcp <port>', 'TCP port, 0 = any free port, off = none (default 3520)')
    .option('--http <port>', HTTP_FLAG_HELP)
    .option(
      '--http-host <address>',
      'address for the HTTP listener, repeatable (default: every --host)',
      collect,
      [],
    )
    .option('--listing <kind:port[:arg]>', LISTING_FLAG_HELP, collect, [])
    .option('--data <dir>', 'data directory (default ./metatracker-data)')
    .option('--max-entries <n>', 'most entries in the client table (default 100000)')
    .option(
      '--max-bytes <size>',
      'byte budget of the client table, e.g. 64MiB, 1GB (default 64MiB)',
    )
    .option('--max-ttl <seconds>', 'longest an entry lives after its last announce (default 3600)')
    .option('--announce-interval <seconds>', 'interval suggested to announcers (default 300)')
    .option('--per-block <n>', 'most entries per /24 or /48 address block (default 64)')
    .option('--network <name>', 'serve only this network, repeatable (default: any)', collect, [])
    .option('--sample-window <seconds>', 'an asker sees the same sample this long (default 30)')
    .option('--egress <size>', 'egress budget per second, e.g. 10MiB; 0 = unlimited (default 0)')
    .option('--tcp-queue <size>', 'TCP reply bytes that may wait for budget (default 1MiB)')
    .option('--flood-rate <n>', 'requests per second per source; 0 = off (default 20)')
    .option('--flood-burst <n>', 'requests a quiet source may send at once (default 40)')
    .option(
      '--cookie-rate <n>',
      'cookie replies per second to unvalidated UDP sources (default 20000)',
    )
    .option(
      '--udp-recv-buffer <size>',
      'UDP receive buffer to request, e.g. 8MiB; 0 = kernel default (default 4MiB)',
    )
    .option(
      '--operator-allow <cidr>',
      'address or block whose stats skip flood control, repeatable (default loopback)',
      collect,
      [],
    )
    .option('--deny-list <file>', 'deny-list file of keys, IPs and CIDRs (reloaded on SIGHUP)')
    .option('--checkpoint-interval <seconds>', 'seconds between checkpoints; 0 = on stop only')
    .option('--log-level <level>', 'debug, info, warn or error (default info)')
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
