import type { Command } from 'commander'
import { selfCheck } from '../../crypto/selfcheck.js'
import { TrackerError } from '../../errors.js'
import type { CliIo } from '../io.js'

export function registerSelfcheck(program: Command, io: CliIo): void {
  program
    .command('selfcheck')
    .description('sign, encode, decode and verify sample records and messages of every type')
    .option('--json', 'print JSON', false)
    .action((opts: { json: boolean }) => {
      const report = selfCheck()
      if (opts.json) io.out(JSON.stringify(report))
      else for (const line of report.lines) io.out(line)
      if (!report.ok) throw new TrackerError('SELFCHECK_FAILED')
    })
}
