/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  out(line: string): void
  err(line: string): void
  /** True when stdout is a terminal (progress lines are shown only then). */
  readonly interactive: boolean
}

export const processIo: CliIo = {
  out: line => process.stdout.write(line + '\n'),
  err: line => process.stderr.write(line + '\n'),
  interactive: process.stdout.isTTY,
}
