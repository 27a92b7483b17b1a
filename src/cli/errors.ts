import { CommanderError } from 'commander'
import { isTrackerError } from '../errors.js'

/** Exit codes, documented in docs/cli.md. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID: 3,
} as const

// bootpage area: a verification that said no exits 3; a malformed bootpage spec is a usage error.
const INVALID_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_NOT_VALID'])
const USAGE_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_BAD_SPEC'])

/** Map any error to a message line and an exit code; TrackerError codes are shown verbatim. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CommanderError)
    return { message: '', exitCode: err.exitCode === 0 ? 0 : ExitCode.USAGE }
  if (isTrackerError(err)) {
    const usage =
      err.code.startsWith('CONFIG_') || err.code.startsWith('CLI_') || USAGE_CODES.has(err.code)
    return {
      message: `error ${err.code}: ${err.message}`,
      exitCode: INVALID_CODES.has(err.code)
        ? ExitCode.INVALID
        : usage
          ? ExitCode.USAGE
          : ExitCode.FAILURE,
    }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { message: `error: ${message}`, exitCode: ExitCode.FAILURE }
}
