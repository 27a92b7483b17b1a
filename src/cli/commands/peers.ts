import type { Command } from 'commander'
import { entryToJson, formatPeerTable } from '../../client/format.js'
import type { CliIo } from '../io.js'
import { intIn, networkName } from '../parse.js'
import { reporter } from '../progress.js'
import {
  type QueryFlags,
  addHealthOption,
  failIfPartial,
  reportDrops,
  reportingQuerier,
} from '../query.js'
import { type TrackerSourceOptions, addTrackerOptions, resolveTrackers } from '../trackers.js'

interface PeersFlags extends TrackerSourceOptions, QueryFlags {
  network: string
  count: number
  unproven: boolean
}

export function registerPeers(program: Command, io: CliIo): void {
  const command = program
    .command('peers')
    .description(
      'ask one tracker (failing over to the next) for a sample of peers; every record is verified',
    )
    .requiredOption('--network <name>', 'the network', networkName)
  addHealthOption(addTrackerOptions(command))
    .option('--count <n>', 'peers wanted (1-100)', intIn(1, 100), 20)
    .option('--timeout <ms>', 'milliseconds each tracker gets', intIn(1, 600_000), 2000)
    .option('--deadline <ms>', 'milliseconds for the whole call', intIn(1, 3_600_000), 10_000)
    .option('--json', 'print one JSON array', false)
    .option('--unproven', 'also peers no endpoint of which is proven reachable', false)
    .action(async (flags: PeersFlags) => {
      const trackers = await resolveTrackers(flags, line => {
        io.err(line)
      })
      const r = reporter(io)
      const { q, save } = await reportingQuerier(trackers, flags, r)
      let result
      try {
        result = await q.peers({
          network: flags.network,
          count: flags.count,
          ...(flags.unproven ? { unproven: true } : {}),
        })
        reportDrops(result.dropped, r)
        if (flags.json) io.out(JSON.stringify(result.entries.map(entryToJson)))
        else {
          for (const line of formatPeerTable(result.entries)) io.out(line)
          r.progress(
            `${result.entries.length} of ${result.total} from ${result.answeredBy.join(', ')}`,
          )
        }
      } finally {
        await q.close()
        await save()
      }
      failIfPartial(result)
    })
}
