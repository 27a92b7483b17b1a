// startTracker, the one lifecycle owner, from the package surface: a whole tracker (UDP, TCP,
// HTTP, a listing port, the deny list, checkpoints) from a config object with the file's keys.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type ConfigInput, type Tracker, parseConfig, startTracker } from '../../src/index.js'
import { LISTING_START } from '../../src/observe/listing-render.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { testKey } from '../helpers/keys.js'
import { rawExchange } from '../helpers/raw-tcp.js'
import {
  type Teardown,
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
} from '../helpers/tracker.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/**
 * A temp directory, and `defer` for teardown: run in reverse order of set-up, each step even if
 * an earlier one failed (trackers and clients close before their directory goes).
 */
function scope(t: Teardown): { dir: string; defer: (fn: () => unknown) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mt-start-'))
  const stack: (() => unknown)[] = [
    () => {
      rmSync(dir, { recursive: true, force: true })
    },
  ]
  t.after(async () => {
    const failed: unknown[] = []
    for (const fn of stack.reverse())
      await Promise.resolve()
        .then(fn)
        .catch((e: unknown) => failed.push(e))
    if (failed.length > 0) throw failed[0]
  })
  return { dir, defer: fn => stack.push(fn) }
}

function record(n: number): SignedRecord {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000))
}

/** The public keys (hex) a tracker holds. */
function heldKeys(tracker: Tracker): string[] {
  return [...tracker.daemon.table.entries()].map(e => hex(decodeRecord(e.record).record.publicKey))
}

test('startTracker runs a full tracker from a config object and stops it cleanly', async t => {
  const { dir, defer } = scope(t)
  const denyList = join(dir, 'deny.txt')
  writeFileSync(denyList, '# nobody yet\n')
  const config: ConfigInput = {
    host: '127.0.0.1',
    udp: 0,
    tcp: 0,
    http: 0,
    data: join(dir, 'data'),
    listing: [{ port: 0, kind: 'text' }],
    denyList,
    checkpoint: { interval: 0 },
  }
  const tracker = await startTracker(config)
  defer(() => tracker.stop())
  const { listening } = tracker
  // Exactly serve's JSON line.
  assert.deepEqual(Object.keys(listening), [
    'event',
    'udp',
    'tcp',
    'http',
    'hosts',
    'listing',
    'listeners',
  ])
  assert.equal(listening.event, 'listening')
  assert.deepEqual(listening.hosts, ['127.0.0.1'])
  assert.deepEqual(
    listening.listeners.map(l => [l.transport, l.host, l.port]),
    [
      ['udp', '127.0.0.1', listening.udp],
      ['tcp', '127.0.0.1', listening.tcp],
    ],
  )
  const [listingPort] = listening.listing
  assert.ok(listening.http !== null && listening.http > 0)
  assert.ok(listingPort !== undefined && listingPort > 0)

  // UDP: two announces, each acknowledged.
  const kept = record(1)
  const denied = record(2)
  const udp = await UdpTrackerClient.open('127.0.0.1', listening.udp ?? 0)
  defer(() => udp.close())
  for (const [i, r] of [kept, denied].entries()) {
    const reply = await udp.request({
      type: 'announce',
      txid: i,
      cookie: new Uint8Array(12),
      record: r,
    })
    assert.equal(reply?.type, 'announce-reply')
    assert.equal(reply.status, 'new')
  }
  // TCP, HTTP and the listing port answer.
  const tcp = await TcpTrackerClient.open('127.0.0.1', listening.tcp ?? 0)
  defer(() => {
    tcp.close()
  })
  const stats = await tcp.request({ type: 'stats-request', txid: 9, cookie: new Uint8Array(12) })
  assert.equal(stats?.type, 'stats-reply')
  const health = await fetch(`http://127.0.0.1:${listening.http}/healthz`)
  assert.equal(health.status, 200)
  const listing = await rawExchange(listingPort, null)
  assert.ok(listing.text.includes(`\n${LISTING_START}\n`), listing.text)

  // A key added to the deny list: reloaded, its entry dropped.
  writeFileSync(denyList, `${hex(denied.record.publicKey)}\n`)
  assert.deepEqual(await tracker.reloadDenyList(), { ok: true, keys: 1, addresses: 0, dropped: 1 })
  assert.deepEqual(heldKeys(tracker), [hex(kept.record.publicKey)])

  // stop: one promise however often it is called; everything closed.
  const stopping = tracker.stop('test')
  assert.equal(tracker.stop(), stopping)
  await stopping
  await tracker.stop()
  await assert.rejects(fetch(`http://127.0.0.1:${listening.http}/healthz`), 'HTTP closed')
  const late = await udp.request(
    { type: 'stats-request', txid: 10, cookie: new Uint8Array(12) },
    300,
  )
  assert.equal(late, null, 'UDP closed')

  // The last checkpoint holds the entry: a second tracker on the same data directory has it.
  const again = await startTracker(config)
  defer(() => again.stop())
  assert.deepEqual(heldKeys(again), [hex(kept.record.publicKey)])
  await again.stop()
})

test('startTracker refuses a bad option before binding anything, naming it', async t => {
  const data = join(scope(t).dir, 'data')
  await assert.rejects(startTracker({ udp: 0, tcp: 0, http: null, data, maxEntries: -5 }), {
    code: 'CONFIG_BAD_OPTION',
    message: /^maxEntries: expected a positive integer, got -5$/,
  })
  // A key of the Daemon's options, not of the file.
  const raw = { udp: 0, tcp: 0, http: null, data, udpPort: 0 }
  await assert.rejects(startTracker(raw), {
    code: 'CONFIG_UNKNOWN_OPTION',
    message: /^unknown option udpPort/,
  })
  assert.ok(!existsSync(data), 'nothing was started: no data directory')
})

test('startTracker takes what parseConfig returned as it is', async t => {
  const { dir, defer } = scope(t)
  const config = parseConfig({ udp: 0, tcp: null, http: null, data: join(dir, 'data') })
  const tracker = await startTracker(config)
  defer(() => tracker.stop())
  assert.equal(tracker.config, config)
  assert.equal(tracker.listening.tcp, null)
  assert.ok((tracker.listening.udp ?? 0) > 0)
  await tracker.stop()
})
