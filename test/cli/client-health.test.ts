import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { HEALTH_FILE, healthFile } from '../../src/cli/query.js'
import type { EntryJson } from '../../src/client/format.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { makeRecord } from '../helpers/signed-records.js'
import { runCli } from '../helpers/cli-run.js'

/*
 * peers/servers across runs: the health file in the cache directory makes a dead tracker cost a
 * timeout once, not once per run; a partial answer exits 4 with a notice. The program runs in
 * this process (main.ts's exit-code mapping included) so the figures are the command's own,
 * not node's start-up.
 */

const root = mkdtempSync(join(tmpdir(), 'mt-client-health-'))
process.env.XDG_CACHE_HOME = join(root, 'xdg')

const run = runCli

async function fakes(t: { after(fn: () => unknown): void }, n: number): Promise<FakeTracker[]> {
  const out: FakeTracker[] = []
  for (let i = 0; i < n; i++) {
    const f = await FakeTracker.start()
    t.after(() => f.close())
    out.push(f)
  }
  return out
}

/** --tracker for a FakeTracker whose TCP port is its own (the flag gives one port for both). */
const flag = (f: FakeTracker): string => `127.0.0.1:${f.address.udp}`

test('two of three trackers black-holed: with the health cache, only the first run pays a timeout', async t => {
  const fs = await fakes(t, 3)
  const [dead1, dead2, alive] = fs
  assert.ok(dead1 && dead2 && alive)
  dead1.behaviour.drop = true
  dead2.behaviour.drop = true
  alive.hold(makeRecord(1))
  const cache = join(root, 'two-dead')
  const args = [
    'peers',
    '--network',
    'testnet',
    ...fs.flatMap(f => ['--tracker', flag(f)]),
    '--timeout',
    '1000',
    '--bootpage-cache',
    cache,
    '--json',
  ]
  const first = await run(args)
  assert.equal(first.code, 0, first.stderr)
  assert.ok(existsSync(join(cache, HEALTH_FILE)))
  const later: number[] = []
  for (let i = 0; i < 10; i++) {
    const r = await run(args)
    assert.equal(r.code, 0, r.stderr)
    assert.equal((JSON.parse(r.stdout) as EntryJson[]).length, 1)
    assert.doesNotMatch(r.stderr, /: timeout/)
    later.push(r.ms)
  }
  assert.ok(Math.max(...later) < 500, `later runs: ${later.map(Math.round).join(', ')} ms`)
  // Each dead tracker was asked until it had failed once, then left alone.
  const asked = (f: FakeTracker): number => f.count('cookie-request') + f.count('query')
  assert.ok(asked(dead1) <= 1 && asked(dead2) <= 1, `${asked(dead1)}, ${asked(dead2)}`)
  const saved = JSON.parse(readFileSync(join(cache, HEALTH_FILE), 'utf8')) as {
    trackers: Record<string, { failures: number }>
  }
  assert.equal(Object.keys(saved.trackers).length, 3)
})

test('--no-health-cache and METATRACKER_HEALTH_CACHE=0 keep no health file', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.hold(makeRecord(1))
  const cache = join(root, 'off')
  const args = ['peers', '--network', 'testnet', '--tracker', flag(f), '--bootpage-cache', cache]
  const r = await run([...args, '--no-health-cache'])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(!existsSync(join(cache, HEALTH_FILE)))
  const flags = { timeout: 1, deadline: 1, json: false, healthCache: true, bootpageCache: cache }
  assert.equal(healthFile(flags, { METATRACKER_HEALTH_CACHE: '0' }), null)
  assert.equal(healthFile({ ...flags, healthCache: false }, {}), null)
  assert.equal(healthFile(flags, {}), join(cache, HEALTH_FILE))
  assert.equal(
    healthFile({ ...flags, bootpageCache: false }, {}),
    join(root, 'xdg', 'metatracker', HEALTH_FILE),
  )
})

test('a tracker whose TCP port differs: peers prints what came and exits 4 with a notice', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  for (let i = 1; i <= 40; i++) f.hold(makeRecord(i))
  // HOST:PORT means UDP and TCP on PORT; this tracker's TCP listener is elsewhere.
  const r = await run([
    'peers',
    '--network',
    'testnet',
    '--tracker',
    flag(f),
    '--count',
    '30',
    '--json',
    '--no-health-cache',
  ])
  assert.equal(r.code, 4)
  const got = JSON.parse(r.stdout) as EntryJson[]
  assert.ok(got.length > 0 && got.length < 30, `${got.length} entries`)
  assert.match(r.stderr, /error CLIENT_PARTIAL: partial answer: \d+ entries printed, \d+ matched/)
  const servers = await run([
    'servers',
    '--network',
    'testnet',
    '--tracker',
    flag(f),
    '--no-health-cache',
  ])
  // No server records held: nothing matched, nothing is missing.
  assert.equal(servers.code, 0, servers.stderr)
})
