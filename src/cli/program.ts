import { Command } from 'commander'
import { registerAnnounce } from './commands/announce.js'
import { registerBootpage } from './commands/bootpage.js'
import { registerDemo } from './commands/demo.js'
import { registerDoctor } from './commands/doctor.js'
import { registerKeygen } from './commands/keygen.js'
import { registerPeers } from './commands/peers.js'
import { registerSelfcheck } from './commands/selfcheck.js'
import { registerServe } from './commands/serve.js'
import { registerServers } from './commands/servers.js'
import { registerStats } from './commands/stats.js'
import { VERSION } from '../version.js'
import type { CliIo } from './io.js'

/** The commander program; commands write through `io` so tests can capture them. */
export function buildProgram(io: CliIo): Command {
  const program = new Command()
    .name('metatracker')
    .description('independent peer-introduction trackers with signed node records')
    .version(VERSION)
    // Program options (-V/--version, -h) only before the command name, so that a command may have
    // its own --version (`announce --server --version 1.2`, `servers --version 1.2`).
    .enablePositionalOptions()
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
  // Commands that talk to trackers
  registerAnnounce(program, io)
  registerPeers(program, io)
  registerServers(program, io)
  registerDemo(program, io)
  registerStats(program, io)
  registerDoctor(program, io)
  return program
}
