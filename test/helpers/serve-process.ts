// A spawned `metatracker serve` process for fault tests: start, read its listening line and its
// JSON log lines, signal it, kill it. Every wait has a deadline; teardown kills what is left.
import { type ChildProcess, spawn } from 'node:child_process'
import type { Teardown } from './tracker.js'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

export interface Listening {
  event: 'listening'
  udp: number
  tcp: number
  http: number | null
  hosts: string[]
  listing: number[]
}

export type LogRecord = Record<string, unknown> & { level: number; msg: string }

export class ServeProcess {
  stdout = ''
  stderr = ''
  readonly #exit: Promise<number | null>
  readonly #wakers = new Set<() => void>()

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (c: Buffer) => {
      this.stdout += c.toString()
      this.#wake()
    })
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString()
      this.#wake()
    })
    this.#exit = new Promise(resolve => {
      child.once('exit', code => {
        this.#wake()
        resolve(code)
      })
    })
  }

  /** Spawn `serve` with `args`; teardown kills it if it is still running. */
  static spawn(t: Teardown | null, args: string[]): ServeProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const p = new ServeProcess(child)
    t?.after(() => {
      p.kill('SIGKILL')
    })
    return p
  }

  /** Spawn and wait for the listening line. */
  static async start(t: Teardown | null, args: string[], timeoutMs = 20_000) {
    const p = ServeProcess.spawn(t, args)
    const info = await p.listening(timeoutMs)
    return { p, info }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  #wake(): void {
    for (const w of this.#wakers) w()
  }

  /** Resolves when `check` returns a value (re-checked on every output), or throws at the deadline. */
  async until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = check()
      if (v !== undefined) return v
      const left = deadline - Date.now()
      if (left <= 0 || !this.running) {
        throw new Error(`${what}: not seen in ${timeoutMs} ms; stderr:\n${this.stderr}`)
      }
      await new Promise<void>(resolve => {
        const done = (): void => {
          clearTimeout(timer)
          this.#wakers.delete(done)
          resolve()
        }
        const timer = setTimeout(done, Math.min(left, 200))
        this.#wakers.add(done)
      })
    }
  }

  listening(timeoutMs = 20_000): Promise<Listening> {
    return this.until(
      'listening line',
      () => {
        const nl = this.stdout.indexOf('\n')
        return nl < 0 ? undefined : (JSON.parse(this.stdout.slice(0, nl)) as Listening)
      },
      timeoutMs,
    )
  }

  /** Every JSON log line on stderr so far. */
  logs(): LogRecord[] {
    const out: LogRecord[] = []
    for (const line of this.stderr.split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        out.push(JSON.parse(line) as LogRecord)
      } catch {
        // a line still being written
      }
    }
    return out
  }

  /** The first log line (after `skip` earlier matches) that `pred` accepts. */
  waitForLog(pred: (r: LogRecord) => boolean, timeoutMs = 10_000, skip = 0): Promise<LogRecord> {
    return this.until('log line', () => this.logs().filter(pred)[skip], timeoutMs)
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal)
  }

  /** The exit code (null when killed by a signal), or throws after `timeoutMs`. */
  async exited(timeoutMs = 15_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no exit in ${timeoutMs} ms; stderr:\n${this.stderr}`))
      }, timeoutMs)
    })
    try {
      return await Promise.race([this.#exit, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
