// Game servers for real, end to end on loopback (docs/protocol.md §9, §8.3): a server that
// answers challenges is listed within one announce round on every tracker, a "server" naming a
// port nobody answers on never is, documentation addresses are never contacted, kill -TERM
// removes a server from every tracker at once, kill -9 hides it within one re-check.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { writePrivateKeyFile } from '../../src/crypto/keys.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import type { Entry } from '../../src/table/entry.js'
import { until } from '../helpers/signed-records.js'
import { Querier } from '../../src/client/querier.js'
import { parseTrackerSpec } from '../../src/client/trackers.js'
import { entryToJson } from '../../src/client/format.js'
import {
  type TestTracker,
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  startTracker,
} from '../helpers/tracker.js'
import { testKey } from '../helpers/keys.js'
import { spawnAnnounce } from '../helpers/cli-run.js'

const dir = mkdtempSync(join(tmpdir(), 'mt-game-servers-'))

/** Trackers as an operator runs them: unproven entries held, never handed out. */
async function trackers(t: { after(fn: () => unknown): void }, n: number): Promise<TestTracker[]> {
  const out: TestTracker[] = []
  for (let i = 0; i < n; i++) {
    out.push(
      await startTracker(t, {
        listUnproven: false,
        networks: ['gamenet'],
        challenge: { ...DEFAULT_OPTIONS.challenge, timeout: 1, interval: 1 },
        recheck: { unreachable: 1, empty: 1, open: 1, full: 1 },
      }),
    )
  }
  return out
}

/** Server names a tracker hands out to a plain `list` (no `unproven`). */
function listed(tr: TestTracker): string[] {
  const sel = tr.daemon.table.query(
    {
      network: 'gamenet',
      kind: 'server',
      mode: 'list',
      count: 100,
      offset: 0,
      sort: 'name',
      notFull: false,
      world: '',
      version: '',
      tags: [],
      exclude: null,
    },
    { address: '', port: 0 },
    () => 0,
  )
  return sel.entries.map((e: Entry) => e.server?.name ?? '')
}

/** A UDP port free right now (bound, read, closed). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(r => s.bind(0, '0.0.0.0', r))
  const port = s.address().port
  await new Promise<void>(r => s.close(r))
  return port
}

async function keyFile(name: string): Promise<string> {
  const file = join(dir, `${name}.key`)
  await writePrivateKeyFile(file, generateKeyPair().privateKey)
  return file
}

function serverArgs(key: string, name: string, trs: TestTracker[], port: number): string[] {
  return [
    '--key',
    key,
    '--network',
    'gamenet',
    ...trs.flatMap(tr => ['--tracker', `127.0.0.1:${tr.udp}`]),
    '--server',
    '--name',
    name,
    '--max-players',
    '8',
    '--port',
    String(port),
    '--timeout',
    '2000',
  ]
}

test('a server answering challenges is listed within one round everywhere; kill -TERM removes it at once', async t => {
  const trs = await trackers(t, 3)
  const port = await freePort()
  const run = spawnAnnounce(t, [
    ...serverArgs(await keyFile('real'), 'Real', trs, port),
    '--answer-challenges',
  ])
  // One announce round: every tracker challenges the port and the answer lists the server.
  await until(() => trs.every(tr => listed(tr).includes('Real')), 20_000, 'listed on all three')
  for (const tr of trs) assert.equal(tr.daemon.stats.get('challenge_proofs'), 1)
  // The client sees the proof: verified, the one endpoint proven, and so does --json.
  const querier = new Querier({ trackers: trs.map(tr => parseTrackerSpec(`127.0.0.1:${tr.udp}`)) })
  t.after(() => querier.close())
  const got = await querier.servers({ network: 'gamenet' })
  assert.equal(got.entries.length, 1)
  assert.equal(got.entries[0]!.verified, true)
  assert.equal(got.entries[0]!.proven, 1)
  assert.deepEqual(entryToJson(got.entries[0]!).proven, [`127.0.0.1:${port}`])
  run.child.kill('SIGTERM')
  const t0 = Date.now()
  await until(() => trs.every(tr => tr.daemon.table.size === 0), 1000, 'withdrawn everywhere')
  assert.ok(Date.now() - t0 <= 1000)
  assert.equal(await run.exited, 0)
})

test('kill -9: the server stops answering and is hidden within one re-check', async t => {
  const trs = await trackers(t, 2)
  const port = await freePort()
  const run = spawnAnnounce(t, [
    ...serverArgs(await keyFile('crash'), 'Crash', trs, port),
    '--answer-challenges',
  ])
  await until(() => trs.every(tr => listed(tr).includes('Crash')), 20_000, 'listed')
  run.child.kill('SIGKILL')
  await run.exited
  const t0 = Date.now()
  // recheck.open 1 s (the tick is 1 s), then the 1 s timeout: hidden well within 6 s.
  await until(() => trs.every(tr => listed(tr).length === 0), 6000, 'hidden after the re-check')
  assert.ok(Date.now() - t0 < 6000)
  for (const tr of trs) {
    assert.ok(tr.daemon.stats.get('rechecks') >= 1)
    // Held until serverGrace intervals pass (the table removes it then; test/table covers it).
    const e = tr.daemon.table.bucket('gamenet', 'server')[0]
    assert.ok(e !== undefined && e.until <= e.seen + 3 * tr.daemon.options.announceInterval)
  }
})

test('a server naming a port nobody answers on is held, never listed, shown only to an asker of unproven entries', async t => {
  const [tr] = await trackers(t, 1)
  const port = await freePort()
  const run = spawnAnnounce(t, [
    ...serverArgs(await keyFile('fake'), 'Fake', [tr!], port),
    '--once',
  ])
  assert.equal(await run.exited, 0, run.stderr())
  assert.equal(tr!.daemon.table.size, 1)
  // The record was announced from the client's own socket, not from the port it names: the
  // port is challenged, nothing answers.
  await until(() => tr!.daemon.stats.get('challenges_sent') === 1, 5000, 'challenged')
  await new Promise(r => setTimeout(r, 1500))
  assert.deepEqual(listed(tr!), [])
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr!.tcp)
  t.after(() => {
    tcp.close()
  })
  const q = {
    type: 'query' as const,
    txid: 1,
    cookie: new Uint8Array(12),
    network: 'gamenet',
    kind: 'server' as const,
    mode: 'list' as const,
    count: 10,
    offset: 0,
    sort: 'players' as const,
    notFull: false,
    world: '',
    version: '',
    tags: [],
    exclude: null,
  }
  const plain = await tcp.request(q)
  assert.ok(plain?.type === 'introductions' && plain.entries.length === 0)
  const all = await tcp.request({ ...q, unproven: true })
  assert.ok(all?.type === 'introductions' && all.entries.length === 1)
  assert.equal(all.entries[0]!.verified, false)
})

test('documentation and private addresses are never contacted, from a loopback or a wildcard tracker', async t => {
  const now = Math.floor(Date.now() / 1000)
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    const tr = await startTracker(t, { host: [host], listUnproven: false })
    const k = testKey(7)
    const rec = makeRecord(k.privateKey, k.publicKey, now, {
      endpoints: [
        { family: 4, address: '192.0.2.10', port: 4000 },
        { family: 4, address: '203.0.113.5', port: 4000 },
        { family: 6, address: '2001:db8::10', port: 4000 },
        { family: 4, address: '10.1.2.3', port: 4000 },
      ],
    })
    const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
    t.after(() => udp.close())
    const r = await udp.request({ type: 'announce', txid: 1, cookie: udp.cookie, record: rec })
    assert.equal(r?.type, 'announce-reply', host)
    assert.equal(tr.daemon.stats.get('challenges_sent'), 0, host)
    assert.equal(tr.daemon.stats.get('challenges_out_of_scope'), 4, host)
  }
})
