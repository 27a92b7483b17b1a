// The `metatracker` program in this process with captured output (as main.ts runs it: the
// exit code it would set, the error line it would print), and `announce` as a child process.
import { type ChildProcess, spawn } from 'node:child_process'
import { describeError } from '../../src/cli/errors.js'
import type { CliIo } from '../../src/cli/io.js'
import { buildProgram } from '../../src/cli/program.js'

export interface CliRun {
  code: number
  /** Every line printed, each followed by a newline. */
  stdout: string
  stderr: string
  /** Milliseconds the command took. */
  ms: number
}

export async function runCli(args: string[]): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    out: line => void (stdout += line + '\n'),
    err: line => void (stderr += line + '\n'),
    interactive: false,
  }
  const started = performance.now()
  try {
    await buildProgram(io).parseAsync(['node', 'metatracker', ...args])
    return { code: 0, stdout, stderr, ms: performance.now() - started }
  } catch (err) {
    const { message, exitCode } = describeError(err)
    if (message !== '') stderr += message + '\n'
    return { code: exitCode, stdout, stderr, ms: performance.now() - started }
  }
}

/** `runCli` with the output as joined lines (no trailing newline). */
export async function runCliLines(
  ...args: string[]
): Promise<{ out: string; err: string; code: number }> {
  const r = await runCli(args)
  return { out: r.stdout.replace(/\n$/, ''), err: r.stderr.replace(/\n$/, ''), code: r.code }
}

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

/** `metatracker announce ARGS` as a child process; its stderr collected, its exit awaited. */
export function spawnAnnounce(
  t: { after: (fn: () => void) => void },
  args: string[],
): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'announce', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => child.kill('SIGKILL'))
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>(resolve => {
    child.on('exit', code => {
      resolve(code)
    })
  })
  return { child, stderr: () => stderr, exited }
}
