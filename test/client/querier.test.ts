import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Attempt, Querier, QueryFailedError } from '../../src/client/querier.js'
import { ManualClock } from '../../src/clock.js'
import { toHex } from '../../src/crypto/keys.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { parseTrackerSpec } from '../../src/client/trackers.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { entryOf, makeRecord } from '../helpers/signed-records.js'

async function fakes(t: { after(fn: () => unknown): void }, n: number): Promise<FakeTracker[]> {
  const out: FakeTracker[] = []
  for (let i = 0; i < n; i++) {
    const f = await FakeTracker.start()
    t.after(() => f.close())
    out.push(f)
  }
  return out
}

function querier(
  t: { after(fn: () => unknown): void },
  trackers: FakeTracker[],
  extra: Partial<ConstructorParameters<typeof Querier>[0]> = {},
): Querier {
  const q = new Querier({ trackers: trackers.map(f => f.address), timeout: 1000, ...extra })
  t.after(() => q.close())
  return q
}

const queries = (fs: FakeTracker[]): number => fs.reduce((n, f) => n + f.count('query'), 0)

test('asks exactly one tracker when it answers, and returns verified entries', async t => {
  const fs = await fakes(t, 3)
  for (const f of fs) for (let i = 1; i <= 3; i++) f.hold(makeRecord(i))
  const q = querier(t, fs)
  const r = await q.peers({ network: 'testnet', count: 10 })
  assert.equal(r.entries.length, 3)
  assert.equal(r.attempts.length, 1)
  assert.equal(r.attempts[0]?.outcome, 'ok')
  assert.equal(r.answeredBy.length, 1)
  assert.equal(queries(fs), 1)
  assert.deepEqual(
    r.entries.map(e => e.key).sort(),
    [1, 2, 3].map(i => toHex(makeRecord(i).record.publicKey)).sort(),
  )
})

test('a tracker that drops every packet costs one timeout, then the next answers', async t => {
  const [dead, good] = await fakes(t, 2)
  assert.ok(dead && good)
  dead.behaviour.drop = true
  good.hold(makeRecord(1))
  const q = querier(t, [dead, good], { order: 'given', timeout: 300, hedge: false })
  const r = await q.peers({ network: 'testnet' })
  assert.deepEqual(
    r.attempts.map(a => [a.outcome, a.code]),
    [
      ['timeout', 'CLIENT_TIMEOUT'],
      ['ok', undefined],
    ],
  )
  // The dead tracker saw one datagram (the cookie request) and nothing more.
  assert.equal(dead.count('cookie-request'), 1)
  assert.equal(dead.count('query'), 0)
  assert.equal(r.entries.length, 1)
})

test('in random order, each call still costs at most one timeout per dead tracker', async t => {
  const fs = await fakes(t, 3)
  const [dead] = fs
  assert.ok(dead)
  dead.behaviour.drop = true
  for (const f of fs) f.hold(makeRecord(1))
  const q = querier(t, fs, { timeout: 200 })
  for (let i = 0; i < 6; i++) {
    const r = await q.peers({ network: 'testnet' })
    assert.ok(r.attempts.filter(a => a.outcome === 'timeout').length <= 1)
    const asked = r.attempts.map(a => a.tracker)
    assert.equal(new Set(asked).size, asked.length, 'no tracker asked twice')
  }
})

test('when every tracker fails: CLIENT_ALL_FAILED naming each tracker once', async t => {
  const fs = await fakes(t, 3)
  for (const f of fs) f.behaviour.drop = true
  const q = querier(t, fs, { timeout: 100 })
  const err = await q.peers({ network: 'testnet' }).then(
    () => null,
    (e: unknown) => e,
  )
  assert.ok(err instanceof QueryFailedError)
  assert.equal(err.code, 'CLIENT_ALL_FAILED')
  assert.equal(err.attempts.length, 3)
  assert.equal(new Set(err.attempts.map(a => a.tracker)).size, 3)
  assert.ok(err.attempts.every(a => a.outcome === 'timeout'))
})

test('the overall deadline ends the call even when trackers remain', async t => {
  const fs = await fakes(t, 3)
  for (const f of fs) f.behaviour.drop = true
  const q = querier(t, fs, { timeout: 5000, deadline: 200 })
  const err = await q.peers({ network: 'testnet' }).then(
    () => null,
    (e: unknown) => e,
  )
  assert.ok(err instanceof QueryFailedError)
  assert.equal(err.attempts.length, 1)
  assert.equal(err.attempts[0]?.outcome, 'timeout')
  assert.equal(
    fs.reduce((n, f) => n + f.count('cookie-request'), 0),
    1,
  )
})

test('a tampered record is dropped by the client; junk entries are counted by reason', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.hold(makeRecord(1))
  f.hold(makeRecord(2))
  f.behaviour.tamper = true
  f.injected.push(
    entryOf(makeRecord(3, { network: 'othernet' })),
    entryOf(makeRecord(4, { issuedAt: Math.floor(Date.now() / 1000) - 7200, lifetime: 60 })),
    entryOf(makeRecord(5, { server: { name: 'not a peer' } })),
  )
  const q = querier(t, [f])
  const r = await q.peers({ network: 'testnet', count: 20 })
  assert.equal(r.entries.length, 0)
  assert.equal(r.dropped.badSignature, 2)
  assert.equal(r.dropped.wrongNetwork, 1)
  assert.equal(r.dropped.expired, 1)
  assert.equal(r.dropped.wrongKind, 1)
  f.behaviour.tamper = false
  f.injected.length = 0
  const again = await q.peers({ network: 'testnet', count: 20 })
  assert.equal(again.entries.length, 2)
})

test('RATE_LIMITED moves on at once, and that tracker goes last until retryAfter passes', async t => {
  const [limited, good] = await fakes(t, 2)
  assert.ok(limited && good)
  limited.behaviour.error = { code: WireErrorCode.RATE_LIMITED, retryAfter: 30 }
  const clock = new ManualClock(Date.now())
  const q = querier(t, [limited, good], { order: 'given', clock })
  const outcomes = (as: Attempt[]) => as.map(a => [a.outcome, a.retryAfter])
  const first = await q.peers({ network: 'testnet' })
  assert.deepEqual(outcomes(first.attempts), [
    ['rate-limited', 30],
    ['ok', undefined],
  ])
  const second = await q.peers({ network: 'testnet' })
  assert.deepEqual(outcomes(second.attempts), [['ok', undefined]])
  assert.equal(second.answeredBy[0], first.answeredBy[0])
  clock.advance(31_000)
  const third = await q.peers({ network: 'testnet' })
  assert.equal(third.attempts[0]?.outcome, 'rate-limited')
})

test('any other error code also moves on to the next tracker', async t => {
  const [refusing, good] = await fakes(t, 2)
  assert.ok(refusing && good)
  refusing.behaviour.error = { code: WireErrorCode.OVERLOADED, retryAfter: 0 }
  const q = querier(t, [refusing, good], { order: 'given' })
  const r = await q.peers({ network: 'testnet' })
  assert.deepEqual(
    r.attempts.map(a => [a.outcome, a.wireCode]),
    [
      ['refused', WireErrorCode.OVERLOADED],
      ['ok', undefined],
    ],
  )
})

test('cookies: cached, renewed after 60 s, and renewed when the tracker answers with one', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const clock = new ManualClock(Date.now())
  const q = querier(t, [f], { clock })
  await q.peers({ network: 'testnet' })
  await q.peers({ network: 'testnet' })
  assert.equal(f.count('cookie-request'), 1)
  clock.advance(60_001)
  await q.peers({ network: 'testnet' })
  assert.equal(f.count('cookie-request'), 2)
  // The tracker forgets its cookies: it answers the query with a cookie-reply; the client
  // retries once with the new cookie and succeeds.
  f.forgetCookies()
  const r = await q.peers({ network: 'testnet' })
  assert.equal(r.attempts[0]?.outcome, 'ok')
  assert.equal(f.count('cookie-request'), 2)
  assert.equal(f.count('query'), 5)
})

test('a tracker that never accepts a cookie is a bad reply, not a loop', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.rejectCookies = true
  const q = querier(t, [f])
  const err = await q.peers({ network: 'testnet' }).then(
    () => null,
    (e: unknown) => e,
  )
  assert.ok(err instanceof QueryFailedError)
  assert.equal(err.attempts[0]?.outcome, 'bad-reply')
  assert.equal(f.count('query'), 2)
})

test('a long list: UDP first, then TCP from the same tracker for what did not fit', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  for (let i = 1; i <= 150; i++) {
    f.hold(makeRecord(i, { server: { name: `srv-${String(i).padStart(3, '0')}`, players: i % 9 } }))
  }
  const q = querier(t, [f])
  const udpOnly = await q.servers({ network: 'testnet', count: 1000 }, { transport: 'udp' })
  assert.ok(udpOnly.entries.length > 0 && udpOnly.entries.length < 20)
  assert.equal(udpOnly.total, 150)
  const auto = await q.servers({ network: 'testnet', count: 1000, sort: 'name' })
  assert.equal(auto.attempts[0]?.transport, 'udp+tcp')
  assert.equal(auto.entries.length, 150)
  assert.equal(auto.entries[0]?.record.server?.name, 'srv-001')
  assert.equal(auto.entries[149]?.record.server?.name, 'srv-150')
  assert.equal(f.count('tcp:query'), 2, 'two pages of 100 over one connection')
  const tcp = await q.servers({ network: 'testnet', count: 120 }, { transport: 'tcp' })
  assert.equal(tcp.entries.length, 120)
  assert.equal(tcp.attempts[0]?.transport, 'tcp')
})

test('answers: 2 merges two trackers, highest seq per key wins', async t => {
  const [a, b] = await fakes(t, 2)
  assert.ok(a && b)
  a.hold(makeRecord(1, { seq: 3 }))
  b.hold(makeRecord(1, { seq: 9 }))
  b.hold(makeRecord(2, { seq: 1 }))
  const q = querier(t, [a, b], { answers: 2 })
  const r = await q.peers({ network: 'testnet' })
  assert.equal(r.answeredBy.length, 2)
  assert.deepEqual(
    r.entries.map(e => e.record.seq).sort((x, y) => x - y),
    [1, 9],
  )
})

test('best() picks the server that hosts the world with the most room', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.hold(makeRecord(1, { server: { world: 'island', players: 7, maxPlayers: 8 } }))
  f.hold(makeRecord(2, { server: { world: 'island', players: 2, maxPlayers: 8 } }))
  f.hold(makeRecord(3, { server: { world: 'desert', players: 0, maxPlayers: 64 } }))
  const q = querier(t, [f])
  const r = await q.best({ network: 'testnet', world: 'island' })
  assert.equal(r.best?.key, toHex(makeRecord(2).record.publicKey))
  const none = await q.best({ network: 'testnet', world: 'moon' })
  assert.equal(none.best?.record.server?.world, 'desert')
})

test('an AbortSignal cancels a call with CLIENT_ABORTED; close() is idempotent', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.drop = true
  const q = querier(t, [f], { timeout: 10_000 })
  const ac = new AbortController()
  const p = q.peers({ network: 'testnet' }, { signal: ac.signal })
  setTimeout(() => {
    ac.abort()
  }, 50)
  await assert.rejects(p, { code: 'CLIENT_ABORTED' })
  await q.close()
  await q.close()
  await assert.rejects(q.peers({ network: 'testnet' }), { code: 'CLIENT_CLOSED' })
})

test('bad options fail loudly with CLIENT_BAD_OPTION', async t => {
  assert.throws(() => new Querier({ trackers: [] }), { code: 'CLIENT_BAD_OPTION' })
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const q = querier(t, [f])
  await assert.rejects(q.peers({ network: 'testnet', count: 0 }), { code: 'CLIENT_BAD_OPTION' })
  await assert.rejects(q.servers({ network: 'testnet', count: 1001 }), {
    code: 'CLIENT_BAD_OPTION',
  })
})

test('IPv6: a tracker on [::1] is asked and answers like any other', async t => {
  const f = await FakeTracker.start('::1')
  t.after(() => f.close())
  f.hold(makeRecord(1))
  // The fake listens for TCP on another port than UDP: take the host from the spec only.
  const spec = { ...parseTrackerSpec(`[::1]:${f.address.udp}`), tcp: f.address.tcp }
  const q = new Querier({ trackers: [spec] })
  t.after(() => q.close())
  const r = await q.peers({ network: 'testnet' })
  assert.equal(r.entries.length, 1)
  assert.equal(r.answeredBy[0], `[::1]:${f.address.udp}`)
  const tcp = await q.peers({ network: 'testnet' }, { transport: 'tcp' })
  assert.equal(tcp.entries.length, 1)
})

test('a sample never returns more peers than asked for, even after a TCP follow-up', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  for (let i = 1; i <= 40; i++) f.hold(makeRecord(i))
  const q = querier(t, [f])
  const r = await q.peers({ network: 'testnet', count: 25 })
  assert.equal(r.attempts[0]?.transport, 'udp+tcp')
  assert.equal(r.entries.length, 25)
})

test('a listener that throws on attempt or ask changes nothing: the first answer stands', async t => {
  const [first, second] = await fakes(t, 2)
  assert.ok(first && second)
  first.hold(makeRecord(1))
  second.hold(makeRecord(2))
  const errors: string[] = []
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (fields: Record<string, unknown>, msg: string) => {
      errors.push(`${String(fields.event)}: ${msg}`)
    },
  }
  const q = querier(t, [first, second], { order: 'given', logger })
  q.on('attempt', () => {
    throw new Error('listener bug')
  })
  q.on('ask', () => {
    throw new Error('listener bug')
  })
  const r = await q.peers({ network: 'testnet' })
  assert.deepEqual(
    r.attempts.map(a => a.outcome),
    ['ok'],
  )
  assert.equal(second.count('query'), 0, 'the next tracker is not asked')
  assert.deepEqual(
    r.entries.map(e => e.key),
    [toHex(makeRecord(1).record.publicKey)],
  )
  assert.deepEqual(errors, ['ask: querier listener threw', 'attempt: querier listener threw'])
})

test('a failed attempt names the transport used: forced TCP is tcp, not udp', async t => {
  const [refusing, good] = await fakes(t, 2)
  assert.ok(refusing && good)
  refusing.behaviour.error = { code: WireErrorCode.OVERLOADED, retryAfter: 0 }
  good.hold(makeRecord(1))
  const q = querier(t, [refusing, good], { order: 'given' })
  const tcp = await q.peers({ network: 'testnet' }, { transport: 'tcp' })
  assert.deepEqual(
    tcp.attempts.map(a => [a.outcome, a.transport]),
    [
      ['refused', 'tcp'],
      ['ok', 'tcp'],
    ],
  )
  // A fresh Querier: this one now remembers that `refusing` refused, and asks it last.
  const again = querier(t, [refusing, good], { order: 'given' })
  const udp = await again.peers({ network: 'testnet' }, { transport: 'udp' })
  assert.deepEqual(
    udp.attempts.map(a => [a.outcome, a.transport]),
    [
      ['refused', 'udp'],
      ['ok', 'udp'],
    ],
  )
})
