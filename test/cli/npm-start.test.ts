// `npm start` under a supervisor: SIGTERM sent to the npm process (what a container runtime or an
// init system does) must reach the tracker, which writes its final checkpoint and exits; no node
// process may be left behind. The package is built into a temporary directory with its own copy of
// package.json, so the test runs the exact start script the README documents.
import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readCheckpoint } from '../../src/ops/checkpoint/index.js'
import { testKey } from '../helpers/keys.js'
import { until } from '../helpers/signed-records.js'
import { TcpTrackerClient, makeRecord } from '../helpers/tracker.js'

const ROOT = new URL('../../', import.meta.url).pathname
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

/** Direct children of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
  return out.stdout
    .split('\n')
    .map(s => Number(s.trim()))
    .filter(n => n > 0)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('SIGTERM to `npm start` stops the tracker with its final checkpoint; nothing is orphaned', async t => {
  if (process.platform !== 'linux' || spawnSync('npm', ['--version']).status !== 0) {
    assert.ok(!process.env.CI, 'npm start test needs npm and Linux under CI')
    t.skip('needs npm and Linux (ps --ppid)')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'mt-npm-start-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  // A package directory like an installed one: the build, package.json, the dependencies.
  execFileSync(
    process.execPath,
    [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    {
      cwd: ROOT,
      timeout: 180_000,
    },
  )
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  const data = join(dir, 'data')
  mkdirSync(data)

  const npm = spawn(
    'npm',
    [
      'start',
      '--',
      '--udp',
      '0',
      '--tcp',
      '0',
      '--http',
      '0',
      '--checkpoint-interval',
      '0',
      '--data',
      data,
    ],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false' },
    },
  )
  let stdout = ''
  let stderr = ''
  npm.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  npm.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<void>(resolve => {
    npm.once('exit', () => {
      resolve()
    })
  })
  const nodePids = new Set<number>()
  t.after(() => {
    // Leave nothing running whatever happened above.
    for (const pid of [npm.pid ?? 0, ...nodePids])
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL')
  })

  const listening = (): { tcp: number } | undefined => {
    const line = stdout.split('\n').find(l => l.startsWith('{"event":"listening"'))
    return line === undefined ? undefined : (JSON.parse(line) as { tcp: number })
  }
  await until(() => listening() !== undefined, 120_000, `listening line; stderr:\n${stderr}`)
  // Every process under npm (the shell, if any, and node).
  const collect = (pid: number): void => {
    for (const c of childrenOf(pid)) {
      nodePids.add(c)
      collect(c)
    }
  }
  collect(npm.pid ?? 0)
  assert.ok(nodePids.size > 0, 'npm start runs the tracker as a child process')

  // Something to checkpoint: one announced record.
  const k = testKey(1)
  const record = makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000), {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
  const tcp = await TcpTrackerClient.open('127.0.0.1', listening()?.tcp ?? 0)
  try {
    const r = await tcp.request({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record })
    assert.equal(r?.type, 'announce-reply', JSON.stringify(r))
  } finally {
    tcp.close()
  }

  npm.kill('SIGTERM')
  await until(() => npm.exitCode !== null || npm.signalCode !== null, 60_000, 'npm exit')
  await exited
  // The tracker itself stopped (not orphaned to init): every process npm started is gone.
  await until(
    () => [...nodePids].every(p => !alive(p)),
    30_000,
    `children of npm to exit: ${[...nodePids].join(' ')}`,
  )
  assert.match(stderr, /"reason":"stop"/, `no final checkpoint logged; stderr:\n${stderr}`)
  const saved = await readCheckpoint(data, Date.now())
  assert.ok(saved.status === 'read', saved.status)
  assert.equal(saved.checkpoint.entries.length, 1)
  // The start script is the one the README tells operators to run.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  assert.match(readme, /npm start/)
})
