import type { Command } from 'commander'
import { TrackerError } from '../../errors.js'
import { runDemo } from '../demo/demo.js'
import type { CliIo } from '../io.js'
import { intIn } from '../parse.js'

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description(
      'run a local network: 3 trackers, a dozen peers, a few game servers and a client; stop one tracker and show the client still answered',
    )
    .option('--duration <s>', 'seconds the demo may take (3-300)', intIn(3, 300), 10)
    .option('--json', 'print the report as JSON (the narrative goes to stderr)', false)
    .action(async (flags: { duration: number; json: boolean }) => {
      const report = await runDemo({
        durationMs: flags.duration * 1000,
        log: line => {
          if (flags.json) io.err(line)
          else io.out(line)
        },
      })
      if (flags.json) io.out(JSON.stringify(report))
      if (!report.ok)
        throw new TrackerError('CLIENT_ALL_FAILED', 'the demo network did not behave as expected')
    })
}
