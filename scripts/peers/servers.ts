// The servers scripts/bench-peers.ts measures, each in its own process on 127.0.0.1, and the
// tools it builds or fetches on demand (gcc, apt-get download, npm install into a temp dir).
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { INFO_HASHES } from './payloads.js'

const run = promisify(execFile)
const here = new URL('.', import.meta.url).pathname
export const BT_VERSION = '11.2.3'

export interface Server {
  name: string
  port: number
  pid: number
  /** Version or build of what runs, for the table's notes. */
  version: string
  stop(): Promise<void>
}

/** Resident set size of a process in bytes, from /proc; null if unreadable. */
export async function rssBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'latin1')
    const m = /VmRSS:\s+(\d+) kB/.exec(status)
    return m === null ? null : Number(m[1]) * 1024
  } catch {
    return null
  }
}

/** Seconds of CPU (user + system) the process has used, from /proc; null if unreadable. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime at USER_HZ = 100
  } catch {
    return null
  }
}

/** Start `cmd`, wait for a first stdout line {"port":N}. */
export async function startChild(
  name: string,
  cmd: string,
  args: string[],
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Server> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env })
  const port = await new Promise<number>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => {
      reject(new Error(`${name}: no port within 60 s`))
    }, 60_000)
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const nl = text.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        const first = text.slice(0, nl)
        const parsed: unknown = first.startsWith('{') ? JSON.parse(first) : Number(first)
        const p = typeof parsed === 'number' ? parsed : (parsed as { port?: unknown } | null)?.port
        if (typeof p === 'number' && p > 0) resolve(p)
        else reject(new Error(`${name}: bad first line ${first}`))
      }
    })
    child.on('exit', code => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code})`))
    })
  })
  return { name, port, pid: child.pid ?? 0, version, stop: () => stopChild(child) }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.stdin?.end()
    child.kill('SIGTERM')
  })
}

/** Compile the generator and the C echo server with the machine's gcc into `dir`. */
export async function compile(dir: string): Promise<{ loadgen: string; echo: string }> {
  const src = join(here, '..', 'loadgen')
  const loadgen = join(dir, 'loadgen')
  const echo = join(dir, 'echo')
  await run('gcc', ['-O2', '-o', loadgen, join(src, 'loadgen.c')])
  await run('gcc', ['-O2', '-o', echo, join(src, 'echo.c')])
  return { loadgen, echo }
}

export function cEcho(bin: string): Promise<Server> {
  return startChild('C echo', bin, ['127.0.0.1'], 'gcc -O2, recvmmsg/sendmmsg, one thread')
}

export function nodeEcho(): Promise<Server> {
  return startChild(
    'node:dgram echo',
    process.execPath,
    ['--import', 'tsx', join(here, 'node-echo.ts')],
    `node ${process.version}`,
  )
}

/**
 * Build src/ with the project's tsc as it ships (no tsx in the measured path) into a directory
 * under node_modules/.cache, where the build's own imports (lru-cache, ...) resolve.
 */
export async function buildMetatracker(): Promise<string> {
  const root = join(here, '..', '..')
  const out = join(root, 'node_modules', '.cache', 'bench-peers', 'dist')
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const flags = ['--outDir', out, '--declaration', 'false']
  await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), ...flags], {
    timeout: 300_000,
  })
  return out
}

/**
 * A metatracker Daemon; `verifyWorkers` its option of that name (absent: the default);
 * `nodeFlags` extra flags for node (e.g. --cpu-prof, for scripts/bench-hotpath.ts).
 */
export function metatracker(
  dist: string,
  sample: number,
  verifyWorkers?: number,
  nodeFlags: string[] = [],
): Promise<Server> {
  const workers = verifyWorkers === undefined ? [] : ['--verify-workers', String(verifyWorkers)]
  return startChild(
    'metatracker',
    process.execPath,
    [
      ...nodeFlags,
      join(here, 'metatracker-server.mjs'),
      '--dist',
      dist,
      '--sample',
      String(sample),
      ...workers,
    ],
    'this tree built with tsc (a Daemon in its own process)',
  )
}

/** npm install bittorrent-tracker into `dir` (not a dependency); a reason string on failure. */
export async function installBittorrentTracker(dir: string): Promise<string | null> {
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'package.json'), '{"private":true}\n')
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    // --ignore-scripts: its client side pulls node-datachannel, whose install script downloads
    // a prebuilt binary; the server side (server.js, imported directly) never loads it.
    await run(
      npm,
      [
        'install',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        `bittorrent-tracker@${BT_VERSION}`,
      ],
      { cwd: dir, timeout: 180_000 },
    )
    return null
  } catch (e) {
    return `npm install bittorrent-tracker@${BT_VERSION} failed: ${(e as Error).message.split('\n')[0] ?? ''}`
  }
}

export function bittorrentTracker(dir: string): Promise<Server> {
  return startChild(
    'bittorrent-tracker',
    process.execPath,
    [join(here, 'bt-server.mjs'), dir],
    `bittorrent-tracker ${BT_VERSION} (npm), node ${process.version}`,
  )
}

interface OpentrackerBin {
  bin: string
  env: NodeJS.ProcessEnv
  version: string
}

/** The Debian package's binary: installed, or fetched with `apt-get download` and unpacked. */
export async function findOpentracker(dir: string): Promise<OpentrackerBin | string> {
  if (existsSync('/usr/bin/opentracker')) {
    let version = 'Debian package (installed)'
    try {
      const { stdout } = await run('dpkg-query', ['-W', '-f=${Version}', 'opentracker'])
      version = `Debian package ${stdout.trim()}`
    } catch {
      // not from dpkg: keep the generic label
    }
    return { bin: '/usr/bin/opentracker', env: process.env, version }
  }
  try {
    const dl = join(dir, 'debs')
    await mkdir(dl, { recursive: true })
    await chmod(dl, 0o777) // apt's _apt user writes downloads here
    await run('apt-get', ['download', 'opentracker', 'libowfat0'], { cwd: dl, timeout: 120_000 })
    const root = join(dir, 'pkg')
    const debs = (await readdir(dl)).filter(f => f.endsWith('.deb'))
    for (const deb of debs) await run('dpkg-deb', ['-x', join(dl, deb), root])
    const ot = debs.find(f => f.startsWith('opentracker_')) ?? 'opentracker'
    const version = `Debian package ${ot.split('_')[1] ?? '?'} (apt-get download, not installed)`
    return {
      bin: join(root, 'usr/bin/opentracker'),
      env: { ...process.env, LD_LIBRARY_PATH: join(root, 'usr/lib') },
      version,
    }
  } catch (e) {
    return `opentracker not installed and apt-get download failed (${(e as Error).message.split('\n')[0] ?? ''}; try apt-get update)`
  }
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>(resolve => s.close(resolve))
  return port
}

/**
 * opentracker on 127.0.0.1 (UDP only), private mode with a whitelist of 16 torrents, chrooted to
 * an empty directory and running as `nobody` when started as root (as the Debian service runs
 * it under its own user).
 */
export async function opentracker(dir: string, found: OpentrackerBin): Promise<Server> {
  const root = join(dir, 'ot-root')
  await mkdir(root, { recursive: true })
  await chmod(root, 0o755)
  await writeFile(join(root, 'whitelist.txt'), `${INFO_HASHES.join('\n')}\n`, { mode: 0o644 })
  const port = await freeUdpPort()
  const args = ['-i', '127.0.0.1', '-P', String(port), '-w', 'whitelist.txt']
  if (process.getuid?.() === 0) args.push('-d', root, '-u', 'nobody')
  const child = spawn(found.bin, args, {
    stdio: ['pipe', 'ignore', 'inherit'],
    env: found.env,
    cwd: root,
  })
  const server: Server = {
    name: 'opentracker',
    port,
    pid: child.pid ?? 0,
    version: found.version,
    stop: () => stopChild(child),
  }
  // Ready when it answers a BEP 15 connect.
  const probe = createSocket('udp4')
  try {
    await new Promise<void>(resolve => probe.bind(0, '127.0.0.1', resolve))
    const ok = await new Promise<boolean>(resolve => {
      const req = Buffer.from('0000041727101980000000000000abcd', 'hex')
      let tries = 0
      const timer = setInterval(() => {
        if (child.exitCode !== null || ++tries > 50) {
          clearInterval(timer)
          resolve(false)
        } else probe.send(req, port, '127.0.0.1')
      }, 100)
      probe.on('message', msg => {
        if (msg.byteLength >= 16 && msg.readUInt32BE(0) === 0) {
          clearInterval(timer)
          resolve(true)
        }
      })
    })
    if (!ok) {
      await server.stop()
      throw new Error('opentracker did not answer a BEP 15 connect within 5 s')
    }
  } finally {
    probe.close()
  }
  return server
}
