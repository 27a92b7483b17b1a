import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import type { EntryJson } from '../../src/client/format.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { until } from '../helpers/signed-records.js'
import { type TestTracker, startTracker } from '../helpers/tracker.js'
import { runCli, spawnAnnounce } from '../helpers/cli-run.js'

/*
 * The client commands end to end: `node --import tsx src/cli/main.ts …` against trackers
 * started by the test.
 */

const run = promisify(execFile)
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'mt-client-cli-'))
// The commands keep caches (bootpage, tracker health): in this test's directory, not the home's.
process.env.XDG_CACHE_HOME = join(dir, 'cache')
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    timeout: 30_000,
    env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') },
  })

interface Failed {
  code: number
  stdout: string
  stderr: string
}
const fails = (p: Promise<unknown>): Promise<Failed> =>
  p.then(
    () => assert.fail('expected a non-zero exit'),
    (err: unknown) => err as Failed,
  )

/** Run the program in this process with captured output; `code` as main.ts would set it. */
const inProcess = runCli

const spec = (tr: TestTracker): string => `127.0.0.1:${tr.udp}`

async function key(name: string): Promise<{ file: string; pub: string }> {
  const file = join(dir, `${name}.pem`)
  const { stdout } = await cli('keygen', '--out', file)
  return { file, pub: stdout.trim() }
}

test('announce --once, then peers and servers --json read the records back', async t => {
  const a = await startTracker(t)
  const b = await startTracker(t)
  const [peer, server] = await Promise.all([key('peer'), key('server')])
  const [once] = await Promise.all([
    cli(
      'announce',
      '--key',
      peer.file,
      '--network',
      'clinet',
      '--tracker',
      spec(a),
      '--tracker',
      spec(b),
      '--port',
      '7000',
      '--once',
      '--json',
    ),
    cli(
      'announce',
      '--key',
      server.file,
      '--network',
      'clinet',
      '--tracker',
      spec(a),
      '--server',
      '--name',
      'Arena',
      '--players',
      '3',
      '--max-players',
      '8',
      '--world',
      'island',
      '--version',
      '1.2',
      '--tag',
      'ctf',
      '--tag',
      'eu',
      '--once',
    ),
  ])
  const states = JSON.parse(once.stdout) as { tracker: string; state: string; status: string }[]
  assert.deepEqual(
    states.map(s => [s.state, s.status]),
    [
      ['up', 'new'],
      ['up', 'new'],
    ],
  )
  const ask = (...args: string[]) => cli(...args, '--network', 'clinet', '--tracker', spec(a))
  const [peersOut, serversOut, bestOut, noneOut, table] = await Promise.all([
    ask('peers', '--json'),
    ask('servers', '--world', 'island', '--not-full', '--json'),
    ask('servers', '--best', '--world', 'island', '--json'),
    ask('servers', '--world', 'moon', '--json'),
    ask('servers'),
  ])
  const peers = JSON.parse(peersOut.stdout) as EntryJson[]
  assert.equal(peers.length, 1)
  const p = peers[0]
  assert.ok(p)
  assert.equal(p.key, peer.pub)
  assert.deepEqual(p.endpoints, ['0.0.0.0:7000'])
  assert.match(p.observed, /^127\.0\.0\.1:\d+$/)
  assert.deepEqual(p.connect, ['127.0.0.1:7000'])
  assert.equal(typeof p.seq, 'number')
  const servers = JSON.parse(serversOut.stdout) as EntryJson[]
  assert.equal(servers.length, 1)
  const s = servers[0]
  assert.ok(s)
  assert.equal(s.key, server.pub)
  assert.deepEqual(
    [s.name, s.players, s.maxPlayers, s.world, s.version, s.tags],
    ['Arena', 3, 8, 'island', '1.2', ['ctf', 'eu']],
  )
  assert.ok(
    Array.isArray(s.endpoints) && typeof s.observed === 'string' && typeof s.seq === 'number',
  )
  const best = JSON.parse(bestOut.stdout) as EntryJson[]
  assert.equal(best[0]?.name, 'Arena')
  const none = JSON.parse(noneOut.stdout) as EntryJson[]
  assert.deepEqual(none, [])
  // The table: aligned columns, no colours when stdout is not a terminal.
  const lines = table.stdout.trimEnd().split('\n')
  assert.match(lines[0] ?? '', /^SERVER\s+ADDRESS\s+PLAYERS\s+WORLD\s+VERSION\s+TAGS\s+AGE\s+KEY$/)
  assert.match(
    lines[2] ?? '',
    /^Arena\s+127\.0\.0\.1:\d+\s+3\/8\s+island\s+1\.2\s+ctf,eu\s+\d+s\s+[0-9a-f]{16}$/,
  )
  assert.equal(lines[0]?.indexOf('PLAYERS'), lines[1]?.indexOf('-', lines[0]?.indexOf('PLAYERS')))
  assert.ok(!table.stderr.includes('\u001b'), 'no ANSI on a pipe')
})

test('announce runs until SIGINT, logging each tracker state on run.stderr(), then exits 0', async t => {
  const a = await startTracker(t, { announceInterval: 1 })
  const dead = await FakeTracker.start()
  t.after(() => dead.close())
  dead.behaviour.drop = true
  const k = await key('long')
  const run = spawnAnnounce(t, [
    '--key',
    k.file,
    '--network',
    'clinet',
    '--tracker',
    spec(a),
    '--tracker',
    `127.0.0.1:${dead.address.udp}`,
    '--timeout',
    '300',
  ])
  const { child, exited } = run
  await until(
    () => /up\s+new/.test(run.stderr()) && /down\s+CLIENT_TIMEOUT/.test(run.stderr()),
    15_000,
    'states',
  )
  assert.ok(a.daemon.table.size === 1)
  child.kill('SIGINT')
  assert.equal(await exited, 0)
  assert.match(run.stderr(), /SIGINT: stopping/)
  assert.match(run.stderr(), /retry 2 in/)
  // The live tracker acknowledged the withdrawal; the silent one could not.
  assert.match(run.stderr(), /withdrawn from 1 of 2 tracker/)
  assert.equal(a.daemon.table.size, 0)
  assert.ok(!run.stderr().includes('\u001b'))
})

test('announce on SIGTERM withdraws its record: the tracker drops it before the process exits', async t => {
  const a = await startTracker(t)
  const k = await key('term')
  const run = spawnAnnounce(t, [
    '--key',
    k.file,
    '--network',
    'clinet',
    '--tracker',
    spec(a),
    '--port',
    '27960',
  ])
  const { child, exited } = run
  await until(() => /up\s+new/.test(run.stderr()), 15_000, 'announced')
  assert.equal(a.daemon.table.size, 1)
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
  assert.equal(a.daemon.table.size, 0, 'withdrawn, not left to expire')
  assert.equal(a.daemon.stats.get('withdrawals'), 1)
  assert.match(run.stderr(), /SIGTERM: stopping, withdrawing the record/)
  assert.match(run.stderr(), /withdrawn from 1 of 1 tracker/)
})

test('usage errors exit 2, a network with no answer exits 1, each naming the problem', async t => {
  const k = await key('errs')
  const dead = await FakeTracker.start()
  t.after(() => dead.close())
  dead.behaviour.drop = true
  const deadSpec = `127.0.0.1:${dead.address.udp}`
  const base = ['--network', 'clinet', '--tracker', '127.0.0.1:1']
  const cases: [string[], number, RegExp][] = [
    [['peers', '--network', 'clinet'], 2, /CLI_NO_TRACKERS/],
    [['peers', '--network', 'clinet', '--tracker', 'nope'], 2, /--tracker.*HOST:PORT/s],
    [['peers', '--network', 'Bad Net', '--tracker', '127.0.0.1:1'], 2, /--network/],
    [['peers', ...base, '--count', '101'], 2, /--count/],
    [['servers', ...base, '--sort', 'size'], 2, /--sort/],
    [['announce', '--key', k.file, ...base, '--server', '--once'], 2, /--server needs --name/],
    [
      ['announce', '--key', k.file, ...base, '--server', '--name', 'x'.repeat(65), '--once'],
      2,
      /CLI_BAD_RECORD.*name/,
    ],
    [['announce', '--key', join(dir, 'missing.pem'), ...base, '--once'], 1, /KEY_READ_FAILED/],
    [
      ['servers', '--network', 'clinet', '--tracker', deadSpec, '--timeout', '200'],
      1,
      /CLIENT_ALL_FAILED/,
    ],
    [
      [
        'announce',
        '--key',
        k.file,
        '--network',
        'clinet',
        '--tracker',
        deadSpec,
        '--timeout',
        '200',
        '--once',
      ],
      1,
      /CLIENT_ALL_FAILED/,
    ],
  ]
  // In process (the same program and error mapping main.ts uses): spawning is ~1 s each.
  for (const [args, code, pattern] of cases) {
    const r = await inProcess(args)
    assert.equal(r.code, code, args.join(' '))
    assert.match(r.stderr, pattern, args.join(' '))
  }
  // And two through a real process, for the exit codes themselves.
  const [usage, failure] = await Promise.all([
    fails(cli('peers', '--network', 'clinet')),
    fails(cli('peers', '--network', 'clinet', '--tracker', deadSpec, '--timeout', '200')),
  ])
  assert.deepEqual([usage.code, failure.code], [2, 1])
  assert.match(usage.stderr, /CLI_NO_TRACKERS/)
  assert.match(failure.stderr, /CLIENT_ALL_FAILED/)
})

test('peers drops a tampered record and says so on stderr', async t => {
  const f = await FakeTracker.start()
  t.after(() => f.close())
  const k = await key('tampered')
  await cli(
    'announce',
    '--key',
    k.file,
    '--network',
    'clinet',
    '--tracker',
    `127.0.0.1:${f.address.udp}`,
    '--once',
  )
  f.behaviour.tamper = true
  const { stdout, stderr } = await cli(
    'peers',
    '--network',
    'clinet',
    '--tracker',
    `127.0.0.1:${f.address.udp}`,
    '--json',
  )
  assert.deepEqual(JSON.parse(stdout), [])
  assert.match(stderr, /dropped 1 record.*1 badSignature/)
})

test('demo exits 0 within its duration with a good report', async () => {
  const started = Date.now()
  const { stdout, stderr } = await cli('demo', '--duration', '6', '--json')
  const report = JSON.parse(stdout) as {
    ok: boolean
    nodes: number
    nodesOnEveryTracker: number
    held: number[]
    afterKill: { answeredBy: string[]; attempts: { outcome: string }[] }
    nodesUpOnLiveTrackers: number
    elapsedMs: number
    best: { world: string } | null
  }
  assert.equal(report.ok, true)
  assert.equal(report.nodes, 16)
  assert.equal(report.nodesOnEveryTracker, 16)
  assert.deepEqual(report.held, [16, 16, 16])
  // The stopped tracker, asked first: ICMP port unreachable on loopback fails it at once (a
  // timeout, or a hedged request cancelling it, where no ICMP comes back); the next answers.
  const outcomes = report.afterKill.attempts.map(a => a.outcome).sort()
  assert.equal(outcomes.length, 2)
  assert.ok(outcomes.includes('ok'), outcomes.join())
  assert.ok(
    outcomes.some(o => ['unreachable', 'timeout', 'cancelled'].includes(o)),
    outcomes.join(),
  )
  assert.equal(report.nodesUpOnLiveTrackers, 16)
  assert.equal(report.best?.world, 'island')
  assert.ok(report.elapsedMs <= 6000, `took ${report.elapsedMs} ms`)
  assert.match(stderr, /stopping tracker alpha/)
  // Process start-up (tsx) on top of the demo's own budget.
  assert.ok(Date.now() - started < 30_000)
})
