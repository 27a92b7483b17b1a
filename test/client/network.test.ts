import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Announcer, type TrackerStatus } from '../../src/client/announcer.js'
import { Querier } from '../../src/client/querier.js'
import type { TrackerAddress } from '../../src/client/trackers.js'
import { generateKeyPair, toHex } from '../../src/crypto/keys.js'
import type { Daemon } from '../../src/tracker/daemon.js'
import { until } from '../helpers/signed-records.js'
import { type TestTracker, startTracker } from '../helpers/tracker.js'

/*
 * The client against three real trackers (src/tracker Daemon) on loopback.
 */

type T = { after(fn: () => unknown): void }

async function three(t: T, announceInterval = 300): Promise<TestTracker[]> {
  const out: TestTracker[] = []
  for (let i = 0; i < 3; i++) out.push(await startTracker(t, { announceInterval }))
  return out
}

const address = (tr: TestTracker): TrackerAddress => ({ host: tr.host, udp: tr.udp, tcp: tr.tcp })

function holds(d: Daemon, bytes: Uint8Array): boolean {
  for (const e of d.table.entries())
    if (Buffer.from(e.record).equals(Buffer.from(bytes))) return true
  return false
}

function announcer(t: T, trackers: TrackerAddress[], extra: object = {}): Announcer {
  const a = new Announcer({
    trackers,
    privateKey: generateKeyPair().privateKey,
    network: 'testnet',
    timeout: 1000,
    ...extra,
  })
  t.after(() => a.close())
  return a
}

test('a record announced through the Announcer appears on all three trackers', async t => {
  const trs = await three(t)
  const a = announcer(t, trs.map(address), {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 6000 }],
  })
  a.start()
  await until(() => a.status().every(s => s.state === 'up'), 5000, 'all up')
  for (const tr of trs) assert.ok(holds(tr.daemon, a.record.bytes), 'held verbatim')
  // And each tracker hands it out: ask all three and merge.
  const q = new Querier({ trackers: trs.map(address), answers: 3 })
  t.after(() => q.close())
  const r = await q.peers({ network: 'testnet' })
  assert.equal(r.answeredBy.length, 3)
  assert.deepEqual(
    r.entries.map(e => [e.key, e.record.seq]),
    [[toHex(a.publicKey), a.record.record.seq]],
  )
  const [entry] = r.entries
  assert.ok(entry)
  assert.deepEqual(entry.record.endpoints, [{ family: 4, address: '0.0.0.0', port: 6000 }])
  assert.equal(entry.observed.address, '127.0.0.1')
  // The tracker's interval hint is what the Announcer schedules by.
  assert.ok(a.status().every(s => s.interval === 300))
})

test('with one tracker stopped, queries still succeed and announces go on to the other two', async t => {
  const trs = await three(t, 1)
  const [dead, b, c] = trs
  assert.ok(dead && b && c)
  const a = announcer(t, trs.map(address), {
    minInterval: 0,
    timeout: 300,
    retryBase: 100,
    retryCap: 400,
  })
  const states: TrackerStatus[] = []
  a.on('state', s => states.push(s))
  a.start()
  await until(() => a.status().every(s => s.state === 'up'), 5000, 'all up')
  await dead.close()
  const deadLabel = `127.0.0.1:${dead.udp}`
  const mark = states.length
  // Announces: the dead tracker goes down, the live ones keep refreshing (interval 1 s).
  await until(
    () => {
      const since = states.slice(mark)
      const ups = (tr: TestTracker): number =>
        since.filter(s => s.tracker === `127.0.0.1:${tr.udp}` && s.state === 'up').length
      return (
        since.some(s => s.tracker === deadLabel && s.state === 'down') && ups(b) >= 2 && ups(c) >= 2
      )
    },
    8000,
    'refreshes to the live trackers and failures on the dead one',
  )
  assert.ok(
    states
      .slice(mark)
      .filter(s => s.tracker === deadLabel)
      .every(s => s.state === 'down'),
  )
  // Queries: every call succeeds; the dead tracker costs at most one timeout per call.
  const q = new Querier({ trackers: trs.map(address), timeout: 300 })
  t.after(() => q.close())
  for (let i = 0; i < 8; i++) {
    const r = await q.peers({ network: 'testnet' })
    assert.equal(r.entries.length, 1)
    assert.ok(r.attempts.filter(x => x.outcome === 'timeout').length <= 1)
    assert.ok(!r.answeredBy.includes(deadLabel))
  }
  // With the stopped tracker first in line, the failover is one timeout then an answer.
  const ordered = new Querier({ trackers: trs.map(address), timeout: 300, order: 'given' })
  t.after(() => ordered.close())
  const r = await ordered.peers({ network: 'testnet' })
  // A stopped tracker's port answers with ICMP port unreachable (on loopback): an immediate
  // failure; where no ICMP comes back it is a timeout.
  assert.deepEqual(
    r.attempts.map(x => (x.outcome === 'unreachable' ? 'timeout' : x.outcome)),
    ['timeout', 'ok'],
  )
})

test('servers: list, filters and best against a real tracker; long lists go over TCP', async t => {
  const [tr] = await three(t)
  assert.ok(tr)
  const announcers: Announcer[] = []
  for (let i = 0; i < 30; i++) {
    announcers.push(
      announcer(t, [address(tr)], {
        server: {
          name: `a rather long server name to fill the datagram ${String(i).padStart(2, '0')}`,
          players: i % 10,
          maxPlayers: 9,
          world: i % 3 === 0 ? 'island' : 'desert',
          version: i % 2 === 0 ? '2.0' : '1.0',
          tags: ['eu', i % 2 === 0 ? 'ctf' : 'ffa'],
        },
      }),
    )
  }
  const rounds = await Promise.all(announcers.map(a => a.announceAll()))
  assert.ok(rounds.every(r => r[0]?.state === 'up'))
  const q = new Querier({ trackers: [address(tr)] })
  t.after(() => q.close())
  const all = await q.servers({ network: 'testnet', sort: 'name' })
  assert.equal(all.entries.length, 30)
  assert.equal(all.attempts[0]?.transport, 'udp+tcp')
  assert.deepEqual(
    all.entries.map(e => e.record.server?.name),
    all.entries.map(e => e.record.server?.name).sort(),
  )
  const island = await q.servers({
    network: 'testnet',
    world: 'island',
    notFull: true,
    tags: ['ctf'],
  })
  assert.ok(island.entries.length > 0)
  for (const e of island.entries) {
    const s = e.record.server
    assert.ok(s && s.world === 'island' && s.players < s.maxPlayers && s.tags.includes('ctf'))
  }
  const best = await q.best({ network: 'testnet', world: 'island' })
  const room = (n: number | undefined, m: number | undefined): number => (m ?? 0) - (n ?? 0)
  const bestRoom = room(best.best?.record.server?.players, best.best?.record.server?.maxPlayers)
  assert.equal(best.best?.record.server?.world, 'island')
  for (const e of all.entries) {
    if (e.record.server?.world === 'island') {
      assert.ok(room(e.record.server.players, e.record.server.maxPlayers) <= bestRoom)
    }
  }
})
