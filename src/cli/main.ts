#!/usr/bin/env node
import { describeError } from './errors.js'
import { processIo } from './io.js'
import { buildProgram } from './program.js'

// The only module that reads argv, sets the exit code and owns signals.

// A reader that goes away (`metatracker peers --json | head -1`) must not crash the command
// with an unhandled EPIPE; what is left to print is dropped. Other stream errors stay fatal.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

try {
  await buildProgram(processIo).parseAsync(process.argv)
} catch (err) {
  const { message, exitCode } = describeError(err)
  if (message !== '') processIo.err(message)
  process.exitCode = exitCode
}
