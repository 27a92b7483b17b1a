import { CommanderError } from 'commander'
import { type ErrorCode, isTrackerError } from '../errors.js'
import type { CliIo } from './io.js'

/** Exit codes, documented in docs/errors.md ("CLI exit codes"). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID: 3,
  PARTIAL: 4,
} as const

// A bootpage verification that said no exits 3; a malformed bootpage spec is a usage error.
const INVALID_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_NOT_VALID'])
const USAGE_CODES: ReadonlySet<string> = new Set(['BOOTPAGE_BAD_SPEC'])
// An answer was printed but is not all there is (peers, servers).
const PARTIAL_CODES: ReadonlySet<string> = new Set(['CLIENT_PARTIAL'])
const FAILURE_CODES: ReadonlySet<string> = new Set(['CLI_UNEXPECTED'])

/**
 * A command-line error commander raised (unknown option, missing argument, a bad value, or a
 * command's own `command.error`), with the name of the command whose help would explain it.
 */
export class UsageError extends CommanderError {
  constructor(
    cause: CommanderError,
    /** `metatracker peers`, `metatracker bootpage verify`, or `metatracker` itself. */
    readonly commandPath: string,
  ) {
    super(cause.exitCode, cause.code, cause.message)
  }
}

/** What went wrong, in the words every output form uses. */
export interface ErrorReport {
  /** The error code (docs/errors.md); null for help and version output, which are no errors. */
  code: ErrorCode | null
  /** Without the code; '' when there is nothing to say. */
  text: string
  /** One line telling where to look next (usage errors only). */
  hint?: string
  exitCode: number
}

function exitCodeOf(code: string): number {
  if (INVALID_CODES.has(code)) return ExitCode.INVALID
  if (PARTIAL_CODES.has(code)) return ExitCode.PARTIAL
  if (FAILURE_CODES.has(code)) return ExitCode.FAILURE
  // A bad deny-list file at start is a configuration error too.
  if (/^(CONFIG|CLI|DENY)_/.test(code) || USAGE_CODES.has(code)) return ExitCode.USAGE
  return ExitCode.FAILURE
}

/**
 * Classify any error: its code, its text, its exit code. `command` (`metatracker peers`) names
 * the command that ran, for the hint of a usage error raised by the command itself.
 */
export function reportOf(err: unknown, command?: string): ErrorReport {
  const r = classify(err)
  if (
    r.code !== null &&
    r.exitCode === ExitCode.USAGE &&
    r.hint === undefined &&
    command !== undefined
  )
    r.hint = `see '${command} --help'`
  return r
}

function classify(err: unknown): ErrorReport {
  if (err instanceof CommanderError) {
    // --help and --version end through the same path with exit code 0.
    if (err.exitCode === 0) return { code: null, text: '', exitCode: 0 }
    // No command given: the help was printed (to stderr) instead of an error line.
    if (err.code === 'commander.help') return { code: null, text: '', exitCode: ExitCode.USAGE }
    const report: ErrorReport = {
      code: 'CLI_USAGE',
      text: err.message.replace(/^error: /, ''),
      exitCode: ExitCode.USAGE,
    }
    if (err instanceof UsageError) report.hint = `see '${err.commandPath} --help'`
    return report
  }
  if (isTrackerError(err))
    return { code: err.code, text: err.message, exitCode: exitCodeOf(err.code) }
  const text = err instanceof Error ? err.message : String(err)
  return { code: 'CLI_UNEXPECTED', text, exitCode: ExitCode.FAILURE }
}

/**
 * Map any error to the lines for stderr and an exit code. Every error line reads
 * `error CODE: message` (docs/errors.md); a usage error adds a one-line hint.
 */
export function describeError(
  err: unknown,
  command?: string,
): { message: string; exitCode: number } {
  const r = reportOf(err, command)
  if (r.code === null) return { message: '', exitCode: r.exitCode }
  const line = `error ${r.code}: ${r.text}`
  return { message: r.hint === undefined ? line : `${line}\n${r.hint}`, exitCode: r.exitCode }
}

/**
 * The JSON form for commands run with `--json`, on stdout where the caller reads the result:
 * `{"error":{"code":"CLIENT_ALL_FAILED","message":"…"}}` (the shape of the HTTP API's errors).
 */
export function jsonError(
  err: unknown,
  command?: string,
): { json: string; exitCode: number } | null {
  const r = reportOf(err, command)
  if (r.code === null) return null
  const error = { code: r.code, message: r.text, ...(r.hint === undefined ? {} : { hint: r.hint }) }
  return { json: JSON.stringify({ error }), exitCode: r.exitCode }
}

/**
 * Whether the command line asks for JSON output: `--json` among the options (before `--`).
 * Read from the raw arguments so that a usage error found before any option is parsed is
 * reported as JSON too.
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json')
}

/**
 * Report the error a command ended with and return its exit code. With `--json` in `args` the
 * error is a JSON object on stdout, where the caller reads the result, unless the command had
 * already written its JSON result there (`bootpage verify --json` prints its verdict, then fails
 * with BOOTPAGE_NOT_VALID): stdout stays one JSON document and the error line goes to stderr.
 * Otherwise one `error CODE: message` line (and a hint for usage errors) on stderr. `command`
 * as in reportOf.
 */
export function reportFailure(
  err: unknown,
  args: readonly string[],
  io: CliIo,
  opts: { command?: string; wroteOut?: boolean } = {},
): number {
  const { command, wroteOut = false } = opts
  const json = wantsJson(args) && !wroteOut ? jsonError(err, command) : null
  const { message, exitCode } = describeError(err, command)
  if (json !== null) io.out(json.json)
  else if (message !== '') io.err(message)
  return exitCode
}
