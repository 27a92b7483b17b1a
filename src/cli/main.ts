#!/usr/bin/env node
import { describeError } from './errors.js'
import { processIo } from './io.js'
import { buildProgram } from './program.js'

// The only module that reads argv, sets the exit code and owns signals.
try {
  await buildProgram(processIo).parseAsync(process.argv)
} catch (err) {
  const { message, exitCode } = describeError(err)
  if (message !== '') processIo.err(message)
  process.exitCode = exitCode
}
