// HTTP registration (docs/protocol.md §12): POST /v1/announce on a whole tracker's HTTP port,
// handled by the tracker's own announce rules and listed on the wire like any announce.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Observers } from '../../src/observe/observers.js'
import { FakeView } from '../helpers/observe-view.js'
import { httpTracker, post, serverRecord, stat } from '../helpers/http-announce.js'
import { TcpTrackerClient, queryMessage } from '../helpers/tracker.js'
import { startResponder } from '../helpers/responder.js'
import { testKey } from '../helpers/keys.js'
import { waitFor } from '../helpers/tcp-probe.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('POST /v1/announce: new, then refreshed, then replaced; the entry is listed on TCP once proven', async t => {
  const { tracker, http, tcp } = await httpTracker(t, { announceInterval: 120 })
  // The game server's UDP port answers the tracker's challenge (docs/protocol.md §9).
  const game = await startResponder(t, testKey(1).publicKey, 'testnet')
  const rec = serverRecord(1, {}, game.port)

  const first = await post(http, rec.bytes)
  assert.equal(first.status, 200, first.body)
  assert.match(String(first.headers['content-type']), /^application\/json/)
  // The connection's address, the port from the record (the TCP rule of §8.3).
  assert.deepEqual(first.json, {
    status: 'new',
    observed: { family: 4, address: '127.0.0.1', port: game.port },
    interval: 120,
  })
  assert.equal(stat(tracker, 'announces_new'), 1)

  const client = await TcpTrackerClient.open('127.0.0.1', tcp)
  t.after(() => {
    client.close()
  })
  const list = async () => {
    const m = await client.request(
      queryMessage({ network: 'testnet', kind: 'server', mode: 'list' }),
    )
    assert.ok(m?.type === 'introductions', `introductions, got ${m?.type}`)
    return m
  }
  assert.ok(await waitFor(() => stat(tracker, 'challenge_proofs') === 1), 'challenge answered')
  const listed = await list()
  assert.deepEqual(
    listed.entries.map(e => hex(e.record)),
    [hex(rec.bytes)],
  )
  assert.deepEqual(listed.entries[0]?.observed, {
    family: 4,
    address: '127.0.0.1',
    port: game.port,
  })
  assert.equal(listed.entries[0].verified, true)
  assert.equal(listed.entries[0].proven, 1)

  const again = await post(http, rec.bytes)
  assert.equal(again.status, 200)
  assert.equal((again.json as { status: string }).status, 'refreshed')
  assert.equal(stat(tracker, 'announces_refreshed'), 1)

  // A new port nobody answers on: the new record is held but no longer listed.
  const silent = await startResponder(t, testKey(1).publicKey, 'testnet')
  silent.mute()
  const next = serverRecord(1, { seq: 2 }, silent.port)
  const replaced = await post(http, next.bytes)
  assert.equal(replaced.status, 200)
  assert.deepEqual(replaced.json, {
    status: 'replaced',
    observed: { family: 4, address: '127.0.0.1', port: silent.port },
    interval: 120,
  })
  assert.equal(tracker.daemon.table.size, 1)
  assert.ok(await waitFor(() => silent.received === 1), 'the new endpoint was challenged')
  assert.deepEqual((await list()).entries, [])
})

test('a record naming no port is refused (422 UNSUPPORTED), as on TCP', async t => {
  const { tracker, http } = await httpTracker(t)
  const res = await post(http, serverRecord(2, { endpoints: [] }).bytes)
  assert.equal(res.status, 422)
  assert.deepEqual(res.json, { error: { code: 'UNSUPPORTED', message: 'unsupported' } })
  assert.equal(stat(tracker, 'tcp_no_port'), 1)
  assert.equal(tracker.daemon.table.size, 0)
})

test('refusals by the announce rules carry the protocol §6 name and a fitting status', async t => {
  const { tracker, http } = await httpTracker(t, { networks: ['other.example'] })
  const unknown = await post(http, serverRecord(3).bytes)
  assert.equal(unknown.status, 422)
  assert.deepEqual(unknown.json, {
    error: { code: 'UNKNOWN_NETWORK', message: 'unknown network' },
  })
  const empty = await post(http, new Uint8Array(0))
  assert.equal(empty.status, 400)
  assert.equal((empty.json as { error: { code: string } }).error.code, 'MALFORMED')
  const junk = await post(http, new Uint8Array(300).fill(7))
  assert.equal(junk.status, 400)
  assert.equal((junk.json as { error: { code: string } }).error.code, 'MALFORMED')
  assert.equal(tracker.daemon.table.size, 0)
  // Counted as the HTTP route in the metrics.
  const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()
  assert.match(metrics, /metatracker_http_requests_total\{route="\/v1\/announce",code="422"\} 1/)
  assert.match(metrics, /metatracker_http_requests_total\{route="\/v1\/announce",code="400"\} 2/)
})

test('a view without announce serves no POST (405, GET and HEAD only)', async t => {
  const view = new FakeView()
  const obs = await Observers.start(view, {
    hosts: ['127.0.0.1'],
    http: 0,
    listing: [],
    version: '0.1.0',
  })
  t.after(() => obs.close())
  const res = await post(obs.httpPort ?? 0, serverRecord(4).bytes)
  assert.equal(res.status, 405)
  assert.equal(res.headers.allow, 'GET, HEAD')
  assert.equal((res.json as { error: { code: string } }).error.code, 'HTTP_METHOD_NOT_ALLOWED')
})

test('POST /v1/announce carries a signed withdrawal too: the server leaves at once (§8.3)', async t => {
  const { tracker, http } = await httpTracker(t)
  const now = Math.floor(Date.now() / 1000)
  const rec = serverRecord(7)
  assert.equal((await post(http, rec.bytes)).status, 200)
  assert.equal(tracker.daemon.table.size, 1)
  const leaving = serverRecord(7, { seq: 2, issuedAt: now, expiresAt: now, endpoints: [] })
  const res = await post(http, leaving.bytes)
  assert.equal(res.status, 200, res.body)
  assert.equal((res.json as { status: string }).status, 'withdrawn')
  assert.equal(tracker.daemon.table.size, 0)
  // The older record cannot be replayed back in over HTTP either.
  const replay = await post(http, rec.bytes)
  assert.equal(replay.status, 409)
})
