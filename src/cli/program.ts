import { Command } from 'commander'
import { registerBootpage } from './commands/bootpage.js'
import { registerKeygen } from './commands/keygen.js'
import { registerSelfcheck } from './commands/selfcheck.js'
import { registerServe } from './commands/serve.js'
import type { CliIo } from './io.js'

export const VERSION = '0.1.0'

/** The commander program; commands write through `io` so tests can capture them. */
export function buildProgram(io: CliIo): Command {
  const program = new Command()
    .name('metatracker')
    .description('independent peer-introduction trackers with signed node records')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: s => {
        io.out(s.trimEnd())
      },
      writeErr: s => {
        io.err(s.trimEnd())
      },
    })
  registerKeygen(program, io)
  registerSelfcheck(program, io)
  registerServe(program, io)
  registerBootpage(program, io)
  return program
}
