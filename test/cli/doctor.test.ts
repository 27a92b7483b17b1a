import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import { startTracker } from '../helpers/tracker.js'
import { runCli } from '../helpers/cli-run.js'

/* `metatracker doctor` in this process, against real trackers on loopback. */

const inProcess = runCli

test('doctor: exit 0 and "No problem found" when the tracker reaches the port', async t => {
  const tr = await startTracker(t, { listUnproven: false })
  const r = await inProcess(['doctor', '--tracker', `127.0.0.1:${tr.udp}`, '--network', 'testnet'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /sees 127\.0\.0\.1:\d+, reached the port/)
  assert.match(r.stdout, /No problem found/)
})

test('doctor --json: one object; exit 5 with DOCTOR_PROBLEMS when the port is not reached', async t => {
  const tr = await startTracker(t, {
    listUnproven: false,
    challenge: { ...DEFAULT_OPTIONS.challenge, rate: 0 },
  })
  const r = await inProcess([
    'doctor',
    '--tracker',
    `127.0.0.1:${tr.udp}`,
    '--timeout',
    '1000',
    '--json',
  ])
  assert.equal(r.code, 5)
  assert.match(r.stderr, /error DOCTOR_PROBLEMS/)
  const report = JSON.parse(r.stdout) as { ok: boolean; findings: { problem: string }[] }
  assert.equal(report.ok, false)
  assert.deepEqual(
    report.findings.map(f => f.problem),
    ['port-closed'],
  )
})
