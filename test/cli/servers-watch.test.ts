import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { Announcer } from '../../src/client/announcer.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { until } from '../helpers/signed-records.js'
import { startTracker } from '../helpers/tracker.js'

/*
 * `servers --watch` into a pipe (not a terminal): successive plain tables, no escape sequence, a
 * changed row marked, and a clean exit on SIGINT.
 */

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

test('servers --watch into a pipe: plain frames, changes marked, exits 0 on SIGINT', async t => {
  const tr = await startTracker(t)
  const a = new Announcer({
    trackers: [{ host: '127.0.0.1', udp: tr.udp, tcp: tr.tcp }],
    privateKey: generateKeyPair().privateKey,
    network: 'watchnet',
    server: { name: 'Arena', players: 1, maxPlayers: 8, world: 'island', version: '1', tags: [] },
    minUpdateGap: 0,
  })
  t.after(() => a.close())
  await a.announceAll()
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'servers',
      '--watch',
      '--interval',
      '300',
      '--network',
      'watchnet',
      '--tracker',
      `127.0.0.1:${tr.udp}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  )
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  child.stdout.on('data', (b: Buffer) => (out += b.toString()))
  const exited = new Promise<number | null>(resolve =>
    child.on('exit', code => {
      resolve(code)
    }),
  )
  const frames = (): number => (out.match(/^watchnet: /gm) ?? []).length
  await until(() => frames() >= 1, 20_000, 'first frame')
  assert.match(out, /^ {2}Arena +127\.0\.0\.1:\d+ +1\/8/m)
  a.update({ players: 5 })
  await a.announceAll()
  await until(() => /^\* Arena +127\.0\.0\.1:\d+ +5\/8/m.test(out), 20_000, 'changed row marked')
  child.kill('SIGINT')
  assert.equal(await exited, 0)
  assert.ok(!out.includes('\u001b'), 'no escape sequences into a pipe')
  assert.ok(frames() >= 2)
})
