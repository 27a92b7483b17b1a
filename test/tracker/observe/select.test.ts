import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  ANY_SERVER,
  TopK,
  bestServer,
  keyScore,
  listServers,
  sampleEntries,
} from '../../../src/tracker/observe/select.js'
import { FakeView, peerEntry, serverEntry } from '../../helpers/observe-view.js'

test('TopK keeps exactly the k first items of any stream, in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }),
      fc.nat(30),
      (xs, k) => {
        const top = new TopK<number>(k, (a, b) => a - b)
        for (const x of xs) top.add(x)
        assert.deepEqual(top.sorted(), [...xs].sort((a, b) => a - b).slice(0, k))
      },
    ),
  )
})

test('list: filters, sorts with key tie-break, pages, and skips expired entries', () => {
  const v = new FakeView()
  const c = v.clock
  v.add(
    serverEntry(c, 1, { players: 3, maxPlayers: 8, world: 'dm4', version: '1.2', tags: ['ctf'] }),
  )
  v.add(serverEntry(c, 2, { players: 8, maxPlayers: 8, world: 'dm4', version: '1.2' }))
  v.add(
    serverEntry(c, 3, {
      players: 1,
      maxPlayers: 8,
      world: 'e1m1',
      version: '1.1',
      tags: ['ctf', 'ffa'],
    }),
  )
  v.add(serverEntry(c, 4, { players: 5, maxPlayers: 8 }, { ttl: 1 }))
  c.advance(2_000) // entry 4 has expired
  const now = c.now()
  const names = (sel: { entries: { record: { server: { name: string } | null } }[] }) =>
    sel.entries.map(e => e.record.server?.name)

  const all = listServers(v.entries('server'), ANY_SERVER, 'players', 0, 10, now)
  assert.equal(all.total, 3)
  assert.deepEqual(names(all), ['server 2', 'server 1', 'server 3'])
  assert.deepEqual(names(listServers(v.entries('server'), ANY_SERVER, 'room', 0, 10, now)), [
    'server 3',
    'server 1',
    'server 2',
  ])
  assert.deepEqual(names(listServers(v.entries('server'), ANY_SERVER, 'name', 1, 1, now)), [
    'server 2',
  ])
  const f = { ...ANY_SERVER, notFull: true, world: 'dm4' }
  assert.deepEqual(names(listServers(v.entries('server'), f, 'players', 0, 10, now)), ['server 1'])
  const tagged = { ...ANY_SERVER, tags: ['ctf', 'ffa'] }
  assert.deepEqual(names(listServers(v.entries('server'), tagged, 'players', 0, 10, now)), [
    'server 3',
  ])
  const v11 = { ...ANY_SERVER, version: '1.1' }
  assert.equal(listServers(v.entries('server'), v11, 'players', 0, 10, now).total, 1)

  // Equal players: the public key decides, so the order is total and stable.
  const w = new FakeView()
  for (let i = 10; i < 20; i++) w.add(serverEntry(w.clock, i, { players: 2 }))
  const a = listServers(w.entries('server'), ANY_SERVER, 'players', 0, 10, w.clock.now())
  const keys = a.entries.map(e => Buffer.from(e.record.publicKey).toString('hex'))
  assert.deepEqual(keys, [...keys].sort())
})

test('best: the server hosting the world with most room, else the one with most room; never full', () => {
  const v = new FakeView()
  const c = v.clock
  v.add(serverEntry(c, 1, { players: 1, maxPlayers: 16, world: 'e1m1' }))
  v.add(serverEntry(c, 2, { players: 6, maxPlayers: 8, world: 'dm4' }))
  v.add(serverEntry(c, 3, { players: 4, maxPlayers: 8, world: 'dm4' }))
  v.add(serverEntry(c, 4, { players: 8, maxPlayers: 8, world: 'dm4' }))
  const now = c.now()
  const best = (world: string) =>
    bestServer(v.entries('server'), { ...ANY_SERVER, world }, now).entries.map(
      e => e.record.server?.name,
    )
  assert.deepEqual(best('dm4'), ['server 3'])
  assert.deepEqual(best('nowhere'), ['server 1'])
  assert.deepEqual(best(''), ['server 1'])
  const w = new FakeView()
  w.add(serverEntry(w.clock, 1, { players: 8, maxPlayers: 8, world: 'dm4' }))
  assert.deepEqual(
    bestServer(w.entries('server'), { ...ANY_SERVER, world: 'dm4' }, now).entries,
    [],
  )
})

test('sample: stable for one seed whatever the iteration order, different across seeds, excludes', () => {
  const v = new FakeView()
  for (let i = 0; i < 60; i++) v.add(peerEntry(v.clock, i))
  const now = v.clock.now()
  const keys = (s: { entries: { record: { publicKey: Uint8Array } }[] }) =>
    s.entries.map(e => Buffer.from(e.record.publicKey).toString('hex'))
  const a = sampleEntries(v.entries('peer'), 10, 1234, now)
  assert.equal(a.total, 60)
  assert.equal(a.entries.length, 10)
  v.list.reverse()
  assert.deepEqual(keys(sampleEntries(v.entries('peer'), 10, 1234, now)), keys(a))
  assert.notDeepEqual(keys(sampleEntries(v.entries('peer'), 10, 99, now)), keys(a))
  const own = a.entries[0]!.record.publicKey
  const b = sampleEntries(v.entries('peer'), 100, 1234, now, own)
  assert.equal(b.total, 59)
  assert.ok(!keys(b).includes(Buffer.from(own).toString('hex')))
})

test('keyScore spreads keys: the first of 20 keys under 200 seeds is not always the same', () => {
  const v = new FakeView()
  for (let i = 0; i < 20; i++) v.add(peerEntry(v.clock, i))
  const winners = new Set<number>()
  for (let seed = 0; seed < 200; seed++) {
    let best = -1
    let bestScore = Infinity
    v.list.forEach((e, i) => {
      const s = keyScore(e.record.publicKey, seed)
      if (s < bestScore) {
        bestScore = s
        best = i
      }
    })
    winners.add(best)
  }
  assert.ok(winners.size >= 15, `only ${winners.size} distinct winners`)
})
