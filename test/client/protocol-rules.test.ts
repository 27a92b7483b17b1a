import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Announcer } from '../../src/client/announcer.js'
import { Querier, QueryFailedError } from '../../src/client/querier.js'
import { type VerifiedEntry, sortServers } from '../../src/client/verify.js'
import { ManualClock } from '../../src/clock.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { ServerInfo } from '../../src/wire/record.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { testKey } from '../helpers/keys.js'

/* The client side of docs/protocol.md §8.3, §8.5 and §8.7. */

type T = { after(fn: () => unknown): void }

async function fake(t: T): Promise<FakeTracker> {
  const f = await FakeTracker.start()
  t.after(() => f.close())
  return f
}

function entry(key: string, server: Partial<ServerInfo>): VerifiedEntry {
  return {
    record: {
      network: 'testnet',
      publicKey: Buffer.from(key, 'hex'),
      seq: 1,
      issuedAt: 0,
      expiresAt: 1,
      kind: 'server',
      endpoints: [],
      server: {
        name: 's',
        players: 0,
        maxPlayers: 16,
        world: '',
        version: '',
        tags: [],
        ...server,
      },
    },
    key,
    bytes: new Uint8Array(0),
    observed: { family: 4, address: '192.0.2.1', port: 1 },
    verified: false,
    proven: 0,
    proofAge: null,
    age: 0,
    tracker: 't',
  }
}

test('§8.5: the client sorts like the tracker: room never negative, names by code point', () => {
  const k1 = '01'.repeat(32)
  const k2 = '02'.repeat(32)
  const k3 = '03'.repeat(32)
  // Overfull (room 0, not −4) ties with exactly full: the lower key first.
  const room = sortServers(
    [entry(k2, { players: 16, maxPlayers: 16 }), entry(k1, { players: 20, maxPlayers: 16 })],
    'room',
  )
  assert.deepEqual(
    room.map(e => e.key),
    [k1, k2],
  )
  // U+E000 sorts before an astral character (UTF-8 byte order), unlike JavaScript's `<`.
  const names = sortServers(
    [entry(k1, { name: 'Z😀' }), entry(k2, { name: 'Z\u{e000}' }), entry(k3, { name: 'Z' })],
    'name',
  )
  assert.deepEqual(
    names.map(e => e.record.server?.name),
    ['Z', 'Z\u{e000}', 'Z😀'],
  )
})

test('§8.7: no request to a tracker before its retryAfter has passed', async t => {
  const f = await fake(t)
  f.behaviour.error = { code: WireErrorCode.RATE_LIMITED, retryAfter: 30 }
  const clock = new ManualClock(Date.now())
  const q = new Querier({ trackers: [f.address], timeout: 2000, clock })
  t.after(() => q.close())
  const failed = async (): Promise<QueryFailedError> => {
    const err = await q.peers({ network: 'testnet' }).then(
      () => null,
      (e: unknown) => e,
    )
    assert.ok(err instanceof QueryFailedError)
    return err
  }
  const first = await failed()
  assert.equal(first.attempts[0]?.outcome, 'rate-limited')
  assert.equal(f.count('query'), 1)
  clock.advance(10_000)
  const second = await failed()
  assert.deepEqual(
    second.attempts.map(a => [a.outcome, a.skipped, a.retryAfter]),
    [['rate-limited', true, 20]],
  )
  assert.equal(f.count('query'), 1, 'the tracker was not asked again')
  clock.advance(20_000)
  f.behaviour.error = null
  const third = await q.peers({ network: 'testnet' })
  assert.equal(third.attempts[0]?.outcome, 'ok')
  assert.equal(f.count('query'), 2)
})

test('§8.3: a node refused with STALE_SEQUENCE signs a higher seq for its retry', async t => {
  const f = await fake(t)
  const a = new Announcer({
    trackers: [f.address],
    privateKey: testKey(1).privateKey,
    network: 'testnet',
    timeout: 2000,
  })
  t.after(() => a.close())
  const first = await a.announceAll()
  assert.equal(first[0]?.state, 'up')
  const refused = a.record
  // The tracker remembers a seq at least as high (say the entry was evicted): STALE_SEQUENCE.
  f.behaviour.error = { code: WireErrorCode.STALE_SEQUENCE, retryAfter: 0 }
  const signed: number[] = []
  a.on('signed', r => signed.push(r.record.seq))
  const second = await a.announceAll()
  assert.equal(second[0]?.error?.wireCode, WireErrorCode.STALE_SEQUENCE)
  assert.equal(signed.length, 1, 're-signed once')
  assert.ok(a.record.record.seq > refused.record.seq)
  assert.deepEqual(a.record.record.endpoints, refused.record.endpoints, 'same content')
  f.behaviour.error = null
  const [third] = await a.announceAll()
  assert.ok(third)
  assert.equal(third.state, 'up')
  assert.equal(third.status, 'replaced')
  assert.equal(third.seq, a.record.record.seq)
})
