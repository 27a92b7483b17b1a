// Running the C load generator and the one-core verify loop for scripts/bench-peers.ts.
import { type ChildProcess, execFile, fork } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { verifyBytes } from '../../src/crypto/ed25519.js'
import { decodeRecord, recordSigningInput } from '../../src/wire/record.js'
import { cpuSeconds } from './servers.js'

const run = promisify(execFile)
const here = new URL('.', import.meta.url).pathname

export interface LoadResult {
  ok: number
  bad: number
  sent: number
  received: number
  seconds: number
  rate: number
  cpu: number
  wall: number
  refills: number
  next: number
  payloads: number
  exhausted: boolean
  /** Share of one core the server used over the generator's whole run; null if unknown. */
  serverCpu: number | null
}

export interface LoadSpec {
  port: number
  proto: 'raw' | 'bep15' | 'mt'
  file: string
  expect: string[]
  once?: boolean
  skip?: number
}

export interface LoadShape {
  sockets: number
  window: number
  seconds: number
  warmup: number
}

/** The generator's command line (also printed in the table's notes). */
export function loadArgs(spec: LoadSpec, shape: LoadShape): string[] {
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(spec.port),
    '--proto',
    spec.proto,
    '--file',
    spec.file,
    '--sockets',
    String(shape.sockets),
    '--window',
    String(shape.window),
    '--seconds',
    String(shape.seconds),
    '--warmup',
    String(shape.warmup),
  ]
  for (const e of spec.expect) args.push('--expect', e)
  if (spec.once === true) args.push('--once', '--skip', String(spec.skip ?? 0))
  return args
}

export async function runLoad(
  loadgen: string,
  spec: LoadSpec,
  shape: LoadShape,
  serverPid: number,
): Promise<LoadResult> {
  const c0 = await cpuSeconds(serverPid)
  const t0 = performance.now()
  const { stdout, stderr } = await run(loadgen, loadArgs(spec, shape), { timeout: 120_000 })
  const wall = (performance.now() - t0) / 1000
  const c1 = await cpuSeconds(serverPid)
  if (stderr.trim() !== '') console.error(stderr.trim())
  const r = JSON.parse(stdout) as Omit<LoadResult, 'serverCpu'>
  return { ...r, serverCpu: c0 === null || c1 === null ? null : (c1 - c0) / wall }
}

/** What one signature check needs, read back from an announce payload file. */
export interface SigItem {
  publicKey: Uint8Array
  input: Uint8Array
  signature: Uint8Array
}

/** The first `count` announces of a payload file as verify items (exactly what the tracker checks). */
export async function sigItems(file: string, count: number): Promise<SigItem[]> {
  const buf = new Uint8Array(await readFile(file))
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const items: SigItem[] = []
  let at = 0
  while (at + 2 <= buf.byteLength && items.length < count) {
    const len = view.getUint16(at)
    const record = buf.subarray(at + 2 + 17, at + 2 + len)
    const signed = decodeRecord(record)
    items.push({
      publicKey: signed.record.publicKey,
      input: recordSigningInput(record.subarray(0, record.byteLength - 64)),
      signature: signed.signature,
    })
    at += 2 + len
  }
  return items
}

/**
 * One core's node:crypto Ed25519 verify rate over `items` for `seconds`, through the tracker's
 * own verifyBytes (strict checks, KeyObject cache of 16,384 keys): cycling over more keys than
 * the cache holds imports every key first, as a fresh announce must.
 */
export function verifyLoop(
  items: readonly SigItem[],
  seconds: number,
  from: number,
): { rate: number; cpu: number } {
  const u0 = process.cpuUsage()
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 50; k++) {
      const it = items[(from + n) % items.length]
      if (it === undefined || !verifyBytes(it.publicKey, it.input, it.signature)) {
        throw new Error('verify failed')
      }
      n++
    }
  }
  const wall = (performance.now() - t0) / 1000
  const u = process.cpuUsage(u0)
  return { rate: n / wall, cpu: (u.user + u.system) / 1e6 / wall }
}

/**
 * Sign fresh announces in `workers` child processes (scripts/peers/sign-fresh.ts), each with its
 * own keys; returns the payload files in replay order: every key's seq 1, then every key's
 * seq 2, and so on (so each key comes back only after all others, past any KeyObject cache).
 */
export async function signFresh(
  prefix: string,
  keys: number,
  seqs: number,
  at: number,
  workers: number,
): Promise<string[]> {
  const per = Math.ceil(keys / workers)
  await Promise.all(
    Array.from(
      { length: workers },
      (_, w) =>
        new Promise<void>((resolve, reject) => {
          const child = fork(
            `${here}sign-fresh.ts`,
            [
              '--keys',
              String(per),
              '--seqs',
              String(seqs),
              '--out',
              `${prefix}-w${w}`,
              '--at',
              String(at),
            ],
            { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
          )
          child.on('exit', code => {
            if (code === 0) resolve()
            else reject(new Error(`sign-fresh exited ${code}`))
          })
        }),
    ),
  )
  const files: string[] = []
  for (let s = 1; s <= seqs; s++)
    for (let w = 0; w < workers; w++) files.push(`${prefix}-w${w}-s${s}.bin`)
  return files
}

export interface Verifier {
  /** One core's verify rate for `seconds` over new keys, or over 1,000 cached ones. */
  run(seconds: number, from: number, cached: boolean): Promise<{ rate: number; cpu: number }>
  stop(): void
}

/** The verify loop in its own process (scripts/peers/verify-child.ts). */
export async function startVerifier(file: string, keys: number): Promise<Verifier> {
  const child: ChildProcess = fork(
    `${here}verify-child.ts`,
    ['--file', file, '--keys', String(keys)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  )
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const onExit = (): void => {
        reject(new Error('verify child exited'))
      }
      child.once('exit', onExit)
      child.once('message', m => {
        child.off('exit', onExit)
        resolve(m)
      })
    })
  await next()
  return {
    async run(seconds, from, cached) {
      const reply = next()
      child.send({ seconds, from, cached })
      return (await reply) as { rate: number; cpu: number }
    },
    stop() {
      if (child.connected) child.send({ exit: true })
    },
  }
}
