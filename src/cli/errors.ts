import { CommanderError } from 'commander'
import { isTrackerError } from '../errors.js'

/** Exit codes, documented in docs/errors.md ("CLI exit codes"). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID: 3,
  PROBLEM: 4,
} as const

// A bootpage verification that said no exits 3; a malformed bootpage spec is a usage error.
const INVALID_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_NOT_VALID'])
const USAGE_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_BAD_SPEC'])

/** Map any error to a message line and an exit code; TrackerError codes are shown verbatim. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CommanderError)
    return { message: '', exitCode: err.exitCode === 0 ? 0 : ExitCode.USAGE }
  if (isTrackerError(err)) {
    // A bad deny-list file at start is a configuration error too.
    const usage = /^(CONFIG|CLI|DENY)_/.test(err.code) || USAGE_CODES.has(err.code)
    return {
      message: `error ${err.code}: ${err.message}`,
      exitCode: INVALID_CODES.has(err.code)
        ? ExitCode.INVALID
        : err.code === 'DOCTOR_PROBLEMS'
          ? ExitCode.PROBLEM
          : usage
            ? ExitCode.USAGE
            : ExitCode.FAILURE,
    }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { message: `error: ${message}`, exitCode: ExitCode.FAILURE }
}
