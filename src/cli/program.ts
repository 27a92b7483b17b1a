import { Command, type CommanderError, Help, type Option } from 'commander'
import { registerAnnounce } from './commands/announce.js'
import { registerBootpage } from './commands/bootpage.js'
import { registerDemo } from './commands/demo.js'
import { registerKeygen } from './commands/keygen.js'
import { registerPeers } from './commands/peers.js'
import { registerSelfcheck } from './commands/selfcheck.js'
import { registerServe } from './commands/serve.js'
import { registerServers } from './commands/servers.js'
import { registerStats } from './commands/stats.js'
import { VERSION } from '../version.js'
import { UsageError } from './errors.js'
import type { CliIo } from './io.js'

const plainHelp = new Help()

/**
 * An option's help line with its default shown once and only when it tells something: a flag
 * that is off unless given (`false`) or a repeatable option that starts empty (`[]`) shows none.
 */
function optionDescription(option: Option): string {
  const d: unknown = option.defaultValue
  const empty = d === false || (Array.isArray(d) && d.length === 0)
  if (empty && option.defaultValueDescription === undefined) return option.description
  return plainHelp.optionDescription(option)
}

/** `metatracker bootpage verify` for the `verify` subcommand of `bootpage`. */
function commandPath(command: Command): string {
  const names: string[] = []
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name())
  return names.join(' ')
}

/**
 * The command `args` (argv without node and the script) runs, as `metatracker bootpage verify`:
 * the leading words that name commands.
 */
export function commandPathOf(program: Command, args: readonly string[]): string {
  let command = program
  for (const word of args) {
    const sub = command.commands.find(c => c.name() === word || c.aliases().includes(word))
    if (sub === undefined) break
    command = sub
  }
  return commandPath(command)
}

/**
 * Usage errors end as a UsageError naming the command (main.ts prints the error line and a
 * one-line hint, not the whole help); help and version output end the same way with exit 0.
 */
function throwUsageErrors(command: Command): void {
  command.exitOverride((err: CommanderError) => {
    throw new UsageError(err, commandPath(command))
  })
  for (const sub of command.commands) throwUsageErrors(sub)
}

/** The commander program; commands write through `io` so tests can capture them. */
export function buildProgram(io: CliIo): Command {
  const program = new Command()
    .name('metatracker')
    .description('independent peer-introduction trackers with signed node records')
    .version(VERSION)
    // Program options (-V/--version, -h) only before the command name, so that a command may have
    // its own --version (`announce --server --version 1.2`, `servers --version 1.2`).
    .enablePositionalOptions()
    .configureHelp({ optionDescription })
    .configureOutput({
      writeOut: s => {
        io.out(s.trimEnd())
      },
      writeErr: s => {
        io.err(s.trimEnd())
      },
      // The error is printed once, with its code, where it is caught (main.ts).
      outputError: () => undefined,
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
  throwUsageErrors(program)
  return program
}
