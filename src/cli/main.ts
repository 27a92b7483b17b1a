#!/usr/bin/env node
import { reportFailure } from './errors.js'
import { processIo, watchOut } from './io.js'
import { buildProgram, commandPathOf } from './program.js'

// The only module that reads argv, sets the exit code and owns signals.

// A reader that goes away (`metatracker peers --json | head -1`) must not crash the command
// with an unhandled EPIPE; what is left to print is dropped. Other stream errors stay fatal.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

const io = watchOut(processIo)
const program = buildProgram(io)
const args = process.argv.slice(2)
try {
  await program.parseAsync(process.argv)
} catch (err) {
  const command = commandPathOf(program, args)
  process.exitCode = reportFailure(err, args, io, { command, wroteOut: io.wroteOut })
}
