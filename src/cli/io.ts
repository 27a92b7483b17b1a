/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  out(line: string): void
  err(line: string): void
  /**
   * True when stderr, where progress lines are written, is a terminal (progress chatter is
   * shown only then).
   */
  readonly interactive: boolean
  /** Whether lines written to each stream may carry ANSI colours (`useColor`); none when absent. */
  readonly colors?: { readonly out: boolean; readonly err: boolean }
}

/** The part of a stream the colour decision reads. */
export interface StreamLike {
  readonly isTTY?: boolean
}

/**
 * Colours on `stream`, decided by that stream and the environment as Node decides for its own
 * output: `FORCE_COLOR` wins (`0` or `false` = off, anything else = on), then `NO_COLOR`
 * (https://no-color.org: set and not empty = off), then `TERM=dumb` = off, else only on a
 * terminal. Decided per stream: `peers 2>log` writes no escape codes into the log even when
 * stdout is a terminal.
 */
export function useColor(
  stream: StreamLike,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

/** `io` that remembers whether anything was written to stdout. */
export function watchOut(io: CliIo): CliIo & { readonly wroteOut: boolean } {
  let wrote = false
  return {
    ...io,
    out: line => {
      wrote = true
      io.out(line)
    },
    err: line => {
      io.err(line)
    },
    get wroteOut() {
      return wrote
    },
  }
}

export const processIo: CliIo = {
  out: line => process.stdout.write(line + '\n'),
  err: line => process.stderr.write(line + '\n'),
  interactive: process.stderr.isTTY,
  colors: {
    out: useColor(process.stdout, process.env),
    err: useColor(process.stderr, process.env),
  },
}
