import { type Command, Option } from 'commander'
import { entryToJson, formatServerTable } from '../../client/format.js'
import { type QueryResult, SERVER_COUNT_MAX } from '../../client/querier.js'
import type { VerifiedEntry } from '../../client/verify.js'
import type { QuerySort } from '../../wire/messages.js'
import type { CliIo } from '../io.js'
import { collect, intIn, networkName } from '../parse.js'
import { reporter } from '../progress.js'
import {
  type QueryFlags,
  addHealthOption,
  failIfPartial,
  reportDrops,
  reportingQuerier,
} from '../query.js'
import { type TrackerSourceOptions, addTrackerOptions, resolveTrackers } from '../trackers.js'
import { watchQuery, watchServers } from './servers-watch.js'

interface ServersFlags extends TrackerSourceOptions, QueryFlags {
  network: string
  world?: string
  version?: string
  tag: string[]
  notFull: boolean
  best: boolean
  sort: QuerySort
  count: number
  tcp: boolean
  watch: boolean
  interval: number
  unproven: boolean
}

export function registerServers(program: Command, io: CliIo): void {
  const command = program
    .command('servers')
    .description(
      'list game servers from one tracker (failing over to the next), or --best for a world',
    )
    .requiredOption('--network <name>', 'the network', networkName)
  addHealthOption(addTrackerOptions(command))
    .option('--world <world>', 'only servers hosting this world (with --best: the world wanted)')
    .option('--version <version>', 'only servers of this version')
    .option('--tag <tag>', 'only servers carrying this tag, repeatable (up to 4)', collect, [])
    .option('--not-full', 'only servers with a free slot', false)
    .option('--unproven', 'also servers no endpoint of which is proven reachable', false)
    .option('--best', 'the one server best suited to join --world (most room)', false)
    .addOption(
      new Option('--sort <order>', 'list order')
        .choices(['players', 'name', 'room'])
        .default('players'),
    )
    .option(
      '--count <n>',
      `servers wanted (1-${SERVER_COUNT_MAX})`,
      intIn(1, SERVER_COUNT_MAX),
      100,
    )
    .option('--tcp', 'ask over TCP (large lists)', false)
    .option('--timeout <ms>', 'milliseconds each tracker gets', intIn(1, 600_000), 2000)
    .option('--deadline <ms>', 'milliseconds for the whole call', intIn(1, 3_600_000), 10_000)
    .option('--json', 'print one JSON array', false)
    .option('--watch', 'redraw the list live until q or Ctrl-C (changed rows highlighted)', false)
    .option('--interval <ms>', 'with --watch: ms between refreshes', intIn(200, 3_600_000), 5000)
    .action(async (flags: ServersFlags) => {
      if (flags.tag.length > 4) command.error('error: at most 4 --tag filters', { exitCode: 2 })
      if (flags.watch && (flags.best || flags.json))
        command.error('error: --watch shows a list: not with --best or --json', { exitCode: 2 })
      const trackers = await resolveTrackers(flags, line => {
        io.err(line)
      })
      if (flags.watch) {
        await watchServers(io, trackers, flags, watchQuery(flags))
        return
      }
      const r = reporter(io)
      const { q, save } = await reportingQuerier(trackers, flags, r)
      const call = { transport: flags.tcp ? ('tcp' as const) : ('auto' as const) }
      const filters = {
        ...(flags.version !== undefined ? { version: flags.version } : {}),
        ...(flags.tag.length > 0 ? { tags: flags.tag } : {}),
      }
      let entries: VerifiedEntry[]
      let result: QueryResult
      try {
        if (flags.best) {
          const best = await q.best(
            { network: flags.network, world: flags.world ?? '', ...filters },
            call,
          )
          reportDrops(best.dropped, r)
          entries = best.best === null ? [] : [best.best]
          if (best.best === null) r.note('no server with a free slot matched', 'yellow')
          result = best
        } else {
          result = await q.servers(
            {
              network: flags.network,
              count: flags.count,
              sort: flags.sort,
              notFull: flags.notFull,
              ...(flags.unproven ? { unproven: true } : {}),
              ...(flags.world !== undefined ? { world: flags.world } : {}),
              ...filters,
            },
            call,
          )
          reportDrops(result.dropped, r)
          entries = result.entries
          r.progress(`${entries.length} of ${result.total} from ${result.answeredBy.join(', ')}`)
        }
      } finally {
        await q.close()
        await save()
      }
      if (flags.json) io.out(JSON.stringify(entries.map(entryToJson)))
      else for (const line of formatServerTable(entries)) io.out(line)
      failIfPartial(result)
    })
}
