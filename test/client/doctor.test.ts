import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type TrackerProbe, analyse, runDoctor } from '../../src/client/doctor.js'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import { startTracker } from '../helpers/tracker.js'

/*
 * The NAT doctor against real trackers on loopback (nothing leaves the machine: the trackers
 * only challenge loopback, the doctor binds 127.0.0.1), and its analysis on made-up probes.
 */

const base = { network: 'testnet', bindHost4: '127.0.0.1', bindHost6: '::1', timeout: 3000 }
const at = (tr: { udp: number; tcp: number }) => ({ host: '127.0.0.1', udp: tr.udp, tcp: tr.tcp })

test('doctor: two trackers see the socket, reach its port, and keep nothing', async t => {
  const a = await startTracker(t, { listUnproven: false })
  const b = await startTracker(t, { listUnproven: false })
  const r = await runDoctor({ ...base, trackers: [at(a), at(b)] })
  assert.equal(r.probes.length, 2)
  for (const p of r.probes) {
    assert.equal(p.udp.ok, true, JSON.stringify(p))
    assert.equal(p.udp.observedAddress, `127.0.0.1:${r.port}`)
    assert.equal(p.reach.tested, true)
    assert.equal(p.reach.challenged, true, JSON.stringify(p))
  }
  assert.equal(r.ipv4, 'works')
  assert.equal(r.ipv6, 'untested')
  assert.deepEqual(r.findings, [])
  assert.equal(r.ok, true)
  // The test record was withdrawn: neither tracker holds an entry of network testnet.
  for (const tr of [a, b]) assert.equal(tr.daemon.table.size, 0)
})

test('doctor: a tracker that sends no challenge means the port is closed', async t => {
  const tr = await startTracker(t, {
    listUnproven: false,
    challenge: { ...DEFAULT_OPTIONS.challenge, rate: 0 },
  })
  const r = await runDoctor({ ...base, timeout: 1000, trackers: [at(tr)] })
  const [p] = r.probes
  assert.ok(p)
  assert.equal(p.udp.ok, true)
  assert.equal(p.reach.tested, true)
  assert.equal(p.reach.challenged, false)
  assert.equal(r.ok, false)
  assert.deepEqual(
    r.findings.map(f => f.problem),
    ['port-closed'],
  )
  assert.match(r.findings[0]?.advice ?? '', new RegExp(`forward UDP port ${r.port}`))
})

test('doctor: a given port is the one tested; a silent tracker is reported', async t => {
  const tr = await startTracker(t, { listUnproven: false })
  const silent = await startTracker(t)
  const dead = at(silent)
  await silent.close()
  const first = await runDoctor({ ...base, trackers: [at(tr)] })
  const r = await runDoctor({ ...base, port: first.port, timeout: 800, trackers: [at(tr), dead] })
  assert.equal(r.port, first.port)
  assert.deepEqual(
    r.findings.map(f => f.problem),
    ['tracker-unreachable'],
  )
  assert.equal(r.probes[1]?.udp.error?.code, 'CLIENT_TIMEOUT')
})

const probe = (port: number, fields: Partial<TrackerProbe> = {}): TrackerProbe => ({
  tracker: 'a:1',
  address: '198.51.100.1',
  family: 4,
  udp: { ok: true, observedAddress: `203.0.113.9:${port}`, observedPort: port },
  reach: { tested: true, challenged: true },
  ...fields,
})

test('analyse: the same remapped port everywhere is remapping, different ports symmetric NAT', () => {
  const remapped = analyse(27960, [probe(40000), probe(40000, { tracker: 'b:1' })])
  assert.deepEqual(
    remapped.findings.map(f => f.problem),
    ['port-remapped'],
  )
  assert.match(remapped.findings[0]?.advice ?? '', /maps local IPv4 port 27960 to 40000/)
  const symmetric = analyse(27960, [probe(40000), probe(40001, { tracker: 'b:1' })])
  assert.deepEqual(
    symmetric.findings.map(f => f.problem),
    ['symmetric-nat'],
  )
  assert.deepEqual(analyse(27960, [probe(27960), probe(27960)]).findings, [])
})

test('analyse: clock skew, refusals, a broken family, nobody answering', () => {
  const skew = analyse(1, [
    probe(1, { udp: { ok: false, error: { code: 'CLIENT_REFUSED', message: 'x', wireCode: 5 } } }),
  ])
  assert.deepEqual(
    skew.findings.map(f => f.problem),
    ['clock-skew'],
  )
  const net = analyse(1, [
    probe(1, { udp: { ok: false, error: { code: 'CLIENT_REFUSED', message: 'x', wireCode: 12 } } }),
  ])
  assert.match(net.findings[0]?.advice ?? '', /--network/)
  const v6 = analyse(1, [
    probe(1),
    probe(1, {
      family: 6,
      address: '2001:db8::1',
      udp: { ok: false, error: { code: 'CLIENT_TIMEOUT', message: 'x' } },
      reach: { tested: false, challenged: false },
    }),
  ])
  assert.equal(v6.ipv6, 'fails')
  assert.deepEqual(
    v6.findings.map(f => f.problem),
    ['tracker-unreachable', 'family-broken'],
  )
  const none = analyse(1, [
    probe(1, {
      udp: { ok: false, error: { code: 'CLIENT_TIMEOUT', message: 'x' } },
      reach: { tested: false, challenged: false },
    }),
  ])
  assert.deepEqual(
    none.findings.map(f => f.problem),
    ['no-tracker-answered'],
  )
})

test('doctor: a name with an IPv4 and an IPv6 address is checked on both, one port', async t => {
  let tr
  try {
    tr = await startTracker(t, { host: ['127.0.0.1', '::1'], listUnproven: false })
  } catch (err) {
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`)
    return
  }
  const r = await runDoctor({
    ...base,
    trackers: [{ host: 'tracker.test', udp: tr.udp, tcp: tr.tcp }],
    resolveAll: () =>
      Promise.resolve([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]),
  })
  assert.deepEqual(
    r.probes.map(p => [p.address, p.udp.observedAddress, p.reach.challenged]),
    [
      ['127.0.0.1', `127.0.0.1:${r.port}`, true],
      ['::1', `[::1]:${r.port}`, true],
    ],
  )
  assert.equal(r.ipv4, 'works')
  assert.equal(r.ipv6, 'works')
  assert.deepEqual(r.findings, [])
})
