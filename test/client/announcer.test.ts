import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Announcer, type AnnouncerOptions, type TrackerStatus } from '../../src/client/announcer.js'
import { ManualClock } from '../../src/clock.js'
import { toHex } from '../../src/crypto/keys.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { SignedRecord } from '../../src/wire/record.js'
import { FakeTracker } from '../helpers/fake-tracker.js'
import { testKey } from '../helpers/keys.js'
import { until } from '../helpers/signed-records.js'

type T = { after(fn: () => unknown): void }

async function fakes(t: T, n: number): Promise<FakeTracker[]> {
  const out: FakeTracker[] = []
  for (let i = 0; i < n; i++) {
    const f = await FakeTracker.start()
    t.after(() => f.close())
    out.push(f)
  }
  return out
}

function announcer(t: T, fs: FakeTracker[], extra: Partial<AnnouncerOptions> = {}): Announcer {
  const a = new Announcer({
    trackers: fs.map(f => f.address),
    privateKey: testKey(1).privateKey,
    network: 'testnet',
    timeout: 500,
    ...extra,
  })
  t.after(() => a.close())
  return a
}

function held(f: FakeTracker, key: Uint8Array): SignedRecord | undefined {
  return f.records.get(`testnet|${toHex(key)}`)?.signed
}

test('announces one signed record to every tracker; each reports up', async t => {
  const fs = await fakes(t, 3)
  const a = announcer(t, fs, {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 7777 }],
  })
  const states: TrackerStatus[] = []
  a.on('state', s => states.push(s))
  a.start()
  await until(() => states.filter(s => s.state === 'up').length === 3, 5000, 'three up')
  for (const f of fs) {
    const r = held(f, a.publicKey)
    assert.ok(r)
    assert.ok(Buffer.from(r.bytes).equals(Buffer.from(a.record.bytes)))
    assert.equal(r.record.endpoints[0]?.port, 7777)
  }
  const st = a.status()
  assert.ok(st.every(s => s.state === 'up' && s.failures === 0 && s.status === 'new'))
  assert.ok(st.every(s => s.observed?.address === '127.0.0.1'))
  // Interval hint 300 s, jitter 10 %: the next refresh is 270–330 s away.
  assert.ok(st.every(s => s.nextIn !== null && s.nextIn >= 269_000 && s.nextIn <= 330_000))
})

test('a dead tracker never holds up the others', async t => {
  const [dead, b, c] = await fakes(t, 3)
  assert.ok(dead && b && c)
  dead.behaviour.drop = true
  const a = announcer(t, [dead, b, c], { timeout: 1500 })
  const order: string[] = []
  a.on('state', s => order.push(`${s.state}:${s.tracker}`))
  a.start()
  await until(() => order.length === 3, 5000, 'three outcomes')
  const deadLabel = `127.0.0.1:${dead.address.udp}`
  // Both live trackers were up before the dead one's timeout was even reported.
  assert.equal(order[2], `down:${deadLabel}`)
  assert.ok(held(b, a.publicKey) && held(c, a.publicKey))
  const st = a.status().find(s => s.tracker === deadLabel)
  assert.equal(st?.error?.code, 'CLIENT_TIMEOUT')
})

test('backoff doubles per failure up to the cap, and resets after a success', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.drop = true
  f.behaviour.interval = 0 // no hint: the Announcer's defaultInterval applies
  const clock = new ManualClock(Date.now()) // record times; nextIn is exact with a still clock
  const a = announcer(t, [f], {
    clock,
    timeout: 30,
    retryBase: 20,
    retryCap: 80,
    jitter: 0,
    minInterval: 0,
    defaultInterval: 40,
  })
  const seen: TrackerStatus[] = []
  a.on('state', s => seen.push(s))
  a.start()
  await until(() => seen.length >= 5, 5000, 'five failures')
  assert.deepEqual(
    seen.slice(0, 5).map(s => [s.state, s.failures, s.nextIn]),
    [
      ['down', 1, 20],
      ['down', 2, 40],
      ['down', 3, 80],
      ['down', 4, 80],
      ['down', 5, 80],
    ],
  )
  f.behaviour.drop = false
  await until(() => seen.some(s => s.state === 'up'), 5000, 'up')
  const up = seen.find(s => s.state === 'up')
  assert.deepEqual([up?.failures, up?.nextIn], [0, 40])
  f.behaviour.drop = true
  const n = seen.length
  await until(() => seen.slice(n).some(s => s.state === 'down'), 5000, 'down again')
  const again = seen.slice(n).find(s => s.state === 'down')
  assert.deepEqual([again?.failures, again?.nextIn], [1, 20])
})

test('a refusal is backoff, and a retryAfter hint longer than the backoff is honoured', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.error = { code: WireErrorCode.RATE_LIMITED, retryAfter: 120 }
  const clock = new ManualClock(Date.now())
  const a = announcer(t, [f], { clock, retryBase: 1000, jitter: 0 })
  const [st] = await a.start().announceAll()
  assert.ok(st)
  assert.equal(st.state, 'backoff')
  assert.equal(st.error?.wireCode, WireErrorCode.RATE_LIMITED)
  assert.equal(st.nextIn, 120_000)
})

test('update() re-signs with a higher seq and pushes the new record to every tracker', async t => {
  const fs = await fakes(t, 2)
  const a = announcer(t, fs, {
    minUpdateGap: 0,
    server: { name: 'Arena', players: 0, maxPlayers: 8, world: 'dm1', version: '1', tags: ['ffa'] },
  })
  const signed: SignedRecord[] = []
  a.on('signed', r => signed.push(r))
  a.start()
  await until(() => fs.every(f => held(f, a.publicKey) !== undefined), 5000, 'first announce')
  const first = a.record
  assert.equal(a.update({ players: 0 }), first, 'no change, no new signature')
  const next = a.update({ players: 5 })
  assert.ok(next.record.seq > first.record.seq)
  assert.equal(next.record.server?.players, 5)
  assert.deepEqual(next.record.server.tags, ['ffa'])
  assert.equal(signed.length, 1)
  await until(
    () => fs.every(f => held(f, a.publicKey)?.record.server?.players === 5),
    5000,
    'update reaches every tracker',
  )
  await until(() => a.status().every(s => s.status === 'replaced'), 5000, 'replaced')
})

test('a peer record cannot take server fields; bad options fail at construction', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const a = announcer(t, [f])
  assert.throws(() => a.update({ players: 3 }), { code: 'CLIENT_BAD_OPTION' })
  const base = { trackers: [f.address], privateKey: testKey(1).privateKey, network: 'testnet' }
  assert.throws(() => new Announcer({ ...base, trackers: [] }), { code: 'CLIENT_BAD_OPTION' })
  assert.throws(() => new Announcer({ ...base, lifetime: 100_000 }), { code: 'CLIENT_BAD_OPTION' })
  assert.throws(() => new Announcer({ ...base, jitter: 2 }), { code: 'CLIENT_BAD_OPTION' })
  assert.throws(() => new Announcer({ ...base, network: 'Bad Name' }), { code: 'WIRE_BAD_STRING' })
})

test('the record is re-signed before it expires, and the trackers get the new one', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.interval = 0
  const clock = new ManualClock(Date.now())
  const a = announcer(t, [f], { clock, lifetime: 30, minInterval: 0, defaultInterval: 30 })
  a.start()
  await until(() => held(f, a.publicKey) !== undefined, 5000, 'first announce')
  const first = a.record
  // Refreshes resend the same bytes until two thirds of the lifetime has passed.
  await until(() => f.count('announce') >= 3, 5000, 'refreshes')
  assert.equal(a.record, first)
  clock.advance(21_000)
  await until(() => held(f, a.publicKey)?.record.seq !== first.record.seq, 5000, 're-signed')
  const now = a.record.record
  assert.ok(now.seq > first.record.seq)
  assert.equal(now.issuedAt, first.record.issuedAt + 21)
  assert.equal(now.expiresAt, now.issuedAt + 30)
})

test('seq comes from the clock in ms, so a restarted node never goes backwards', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const clock = new ManualClock(1_900_000_000_000)
  const one = announcer(t, [f], { clock })
  assert.equal(one.record.record.seq, 1_900_000_000_000)
  await one.close()
  const two = announcer(t, [f], { clock: new ManualClock(1_900_000_000_005) })
  assert.ok(two.record.record.seq > one.record.record.seq)
  // Two updates inside one millisecond still get increasing seqs.
  const s = announcer(t, [f], {
    clock,
    server: { name: 's', players: 0, maxPlayers: 2, world: '', version: '', tags: [] },
  })
  const a1 = s.update({ players: 1 }).record.seq
  const a2 = s.update({ players: 2 }).record.seq
  assert.ok(a2 > a1 && a1 > 1_900_000_000_000 - 1)
})

test('close() is idempotent, stops every timer and sends nothing more', async t => {
  const fs = await fakes(t, 2)
  for (const f of fs) f.behaviour.interval = 0
  const a = announcer(t, fs, { minInterval: 0, defaultInterval: 20 })
  a.start()
  await until(() => fs.every(f => f.count('announce') >= 2), 5000, 'refreshes')
  await Promise.all([a.close(), a.close()])
  // A datagram already on its way when close() ran may still land: let it.
  await new Promise(r => setTimeout(r, 50))
  const before = fs.map(f => f.count('announce'))
  await new Promise(r => setTimeout(r, 150))
  assert.deepEqual(
    fs.map(f => f.count('announce')),
    before,
  )
  assert.throws(() => a.update({}), { code: 'CLIENT_CLOSED' })
  assert.deepEqual(await a.announceAll().then(s => s.length), 2)
})

test('close() during a slow announce settles promptly without unhandled rejections', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  f.behaviour.drop = true
  const a = announcer(t, [f], { timeout: 60_000 })
  const states: TrackerStatus[] = []
  a.on('state', s => states.push(s))
  const round = a.announceAll()
  await until(() => f.count('cookie-request') === 1, 5000, 'request sent')
  await a.close()
  await round
  assert.equal(states.length, 0, 'a cancelled attempt is not reported as a failure')
})

test('close() withdraws the record from every tracker announced to (lifetime 0, higher seq)', async t => {
  const [f, g, dead] = await fakes(t, 3)
  assert.ok(f && g && dead)
  dead.behaviour.drop = true
  const a = announcer(t, [f, g, dead], {
    withdrawTimeout: 300,
    server: { name: 'Arena', players: 2, maxPlayers: 8, world: 'dm1', version: '1', tags: [] },
    endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
  })
  const states: TrackerStatus[] = []
  a.on('state', s => states.push(s))
  a.start()
  await until(() => states.length >= 3, 5000, 'three outcomes')
  assert.ok(held(f, a.publicKey) && held(g, a.publicKey))
  const last = a.record
  // A dead tracker holds close() up for withdrawTimeout at most, never for ever.
  await a.close()
  const w = a.withdrawal
  assert.ok(w !== null)
  assert.equal(w.record.expiresAt, w.record.issuedAt, 'lifetime 0')
  assert.deepEqual(w.record.endpoints, [])
  assert.ok(w.record.seq > last.record.seq)
  assert.equal(w.record.kind, 'server')
  assert.deepEqual(w.record.server, last.record.server)
  for (const x of [f, g]) {
    assert.equal(held(x, a.publicKey), undefined, 'gone')
    assert.equal(x.withdrawals.length, 1)
    assert.ok(Buffer.from(x.withdrawals[0]?.bytes ?? []).equals(Buffer.from(w.bytes)))
  }
  // The dead tracker never gave a cookie: the withdrawal's attempt is a second cookie request.
  assert.ok(dead.count('cookie-request') >= 2, 'the dead tracker was tried too')
  const st = a.status()
  assert.deepEqual(
    st.map(s => s.status === 'withdrawn'),
    [true, true, false],
  )
  await a.close() // idempotent: nothing sent again
  assert.equal(f.withdrawals.length, 1)
})

test('close({ withdraw: false }), withdrawTimeout 0 and a never-started announcer send no withdrawal', async t => {
  const [f] = await fakes(t, 1)
  assert.ok(f)
  const keep = announcer(t, [f])
  await keep.announceAll()
  await keep.close({ withdraw: false })
  assert.ok(held(f, keep.publicKey) !== undefined, 'still listed')
  const off = announcer(t, [f], { privateKey: testKey(2).privateKey, withdrawTimeout: 0 })
  await off.announceAll()
  await off.close()
  assert.ok(held(f, off.publicKey) !== undefined)
  const idle = announcer(t, [f], { privateKey: testKey(3).privateKey })
  await idle.close()
  assert.deepEqual(
    [f.withdrawals.length, keep.withdrawal, off.withdrawal, idle.withdrawal],
    [0, null, null, null],
  )
  assert.throws(() => announcer(t, [f], { withdrawTimeout: -1 }), { code: 'CLIENT_BAD_OPTION' })
})
