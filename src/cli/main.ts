#!/usr/bin/env node
import { reportFailure } from './errors.js'
import { processIo } from './io.js'
import { buildProgram, commandPathOf } from './program.js'

// The only module that reads argv, sets the exit code and owns signals.

// A reader that goes away (`metatracker peers --json | head -1`) must not crash the command
// with an unhandled EPIPE; what is left to print is dropped. Other stream errors stay fatal.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

const program = buildProgram(processIo)
const args = process.argv.slice(2)
try {
  await program.parseAsync(process.argv)
} catch (err) {
  process.exitCode = reportFailure(err, args, processIo, commandPathOf(program, args))
}
