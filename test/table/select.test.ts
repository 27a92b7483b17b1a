import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ClientTable, type Entry } from '../../src/table/client-table.js'
import {
  type SelectQuery,
  best,
  firstSorted,
  list,
  sample,
  seededRandom,
} from '../../src/table/select.js'
import fc from 'fast-check'
import { T0, fakeKey, fakeRecord } from '../helpers/records.js'
import type { ServerInfo } from '../../src/wire/record.js'
import { harness } from '../helpers/handler.js'
import { queryMessage } from '../helpers/tracker.js'

function newTable(): { t: ClientTable; clock: ManualClock } {
  const clock = new ManualClock(T0 * 1000)
  const t = new ClientTable({
    maxEntries: 10_000,
    maxBytes: 100_000_000,
    maxTtl: 3600,
    // Selection logic only: proof of address has its own tests (test/table/proof.test.ts).
    listUnproven: true,
    perBlockMax: 10_000,
    clock,
  })
  return { t, clock }
}

const q = (f: Partial<SelectQuery> = {}): SelectQuery => ({
  network: 'testnet',
  kind: 'server',
  count: 100,
  offset: 0,
  sort: 'players',
  notFull: false,
  world: '',
  version: '',
  tags: [],
  exclude: null,
  ...f,
})

const server = (i: number, s: Partial<ServerInfo>): ReturnType<typeof fakeRecord> =>
  fakeRecord(i, {
    kind: 'server',
    server: { name: `s${i}`, players: 0, maxPlayers: 10, world: '', version: '1', tags: [], ...s },
  })

const ids = (es: readonly Entry[]): number[] =>
  es.map(e => Buffer.from(e.publicKeyText, 'latin1').readUInt32BE(0))

function servers(): ClientTable {
  const { t } = newTable()
  const add = (i: number, s: Partial<ServerInfo>): void => {
    t.insert(server(i, s), { family: 4, address: `10.0.${i}.1`, port: 27960 })
  }
  add(1, { name: 'delta', players: 5, maxPlayers: 8, world: 'dm17', tags: ['ctf', 'eu'] })
  add(2, { name: 'alpha', players: 8, maxPlayers: 8, world: 'dm17', tags: ['eu'] })
  add(3, { name: 'charlie', players: 2, maxPlayers: 16, world: 'dm6', version: '2' })
  add(4, { name: 'bravo', players: 5, maxPlayers: 6, world: 'dm17', tags: ['ctf'] })
  add(5, { name: 'bravo', players: 0, maxPlayers: 12, world: 'dm6' })
  return t
}

test('list sorts by players, name or room, ties broken by key', () => {
  const t = servers()
  assert.deepEqual(ids(list(t, q({ sort: 'players' })).entries), [2, 1, 4, 3, 5])
  assert.deepEqual(ids(list(t, q({ sort: 'name' })).entries), [2, 4, 5, 3, 1])
  assert.deepEqual(ids(list(t, q({ sort: 'room' })).entries), [3, 5, 1, 4, 2])
})

test('list pages with offset and count; total counts every match', () => {
  const t = servers()
  const page = list(t, q({ sort: 'name', offset: 1, count: 2 }))
  assert.equal(page.total, 5)
  assert.deepEqual(ids(page.entries), [4, 5])
  assert.deepEqual(ids(list(t, q({ offset: 5 })).entries), [])
  assert.equal(list(t, q({ offset: 5 })).total, 5)
})

test('list filters: world, version, notFull, tags (all of them), exclude', () => {
  const t = servers()
  assert.deepEqual(ids(list(t, q({ world: 'dm17' })).entries), [2, 1, 4])
  assert.deepEqual(ids(list(t, q({ version: '2' })).entries), [3])
  assert.deepEqual(ids(list(t, q({ notFull: true })).entries), [1, 4, 3, 5])
  assert.deepEqual(ids(list(t, q({ tags: ['ctf'] })).entries), [1, 4])
  assert.deepEqual(ids(list(t, q({ tags: ['ctf', 'eu'] })).entries), [1])
  assert.deepEqual(ids(list(t, q({ world: 'dm17', notFull: true, tags: ['eu'] })).entries), [1])
  assert.deepEqual(ids(list(t, q({ exclude: fakeKey(2), world: 'dm17' })).entries), [1, 4])
  assert.deepEqual(ids(list(t, q({ network: 'elsewhere' })).entries), [])
  assert.deepEqual(ids(list(t, q({ kind: 'peer' })).entries), [])
})

test('best: the server hosting the world with the most room, else the most room', () => {
  const t = servers()
  assert.deepEqual(ids(best(t, q({ world: 'dm17' })).entries), [1], 'dm17: 1 has 3 free, 4 has 1')
  assert.deepEqual(ids(best(t, q({ world: 'dm6' })).entries), [3])
  assert.deepEqual(ids(best(t, q({ world: 'q3dm1' })).entries), [3], 'none hosts it: most room')
  assert.deepEqual(ids(best(t, q({ world: '' })).entries), [3])
  assert.deepEqual(ids(best(t, q({ world: 'dm17', tags: ['ctf'] })).entries), [1])
  assert.deepEqual(ids(best(t, q({ world: 'dm17', version: '2' })).entries), [3])
  assert.deepEqual(ids(best(t, q({ network: 'elsewhere' })).entries), [])
  // Hosting servers all full: a server with room elsewhere wins.
  const { t: u } = newTable()
  u.insert(server(1, { players: 8, maxPlayers: 8, world: 'dm17' }), {
    family: 4,
    address: '10.0.0.1',
    port: 1,
  })
  u.insert(server(2, { players: 1, maxPlayers: 4, world: 'dm6' }), {
    family: 4,
    address: '10.0.0.2',
    port: 1,
  })
  assert.deepEqual(ids(best(u, q({ world: 'dm17' })).entries), [2])
  // Equal room: the lower key.
  const { t: w } = newTable()
  for (const i of [9, 7, 8]) {
    w.insert(server(i, { players: 1, maxPlayers: 4, world: 'x' }), {
      family: 4,
      address: `10.0.${i}.2`,
      port: 1,
    })
  }
  assert.deepEqual(ids(best(w, q({ world: 'x' })).entries), [7])
})

test('sample: stable for one seed, different for another, excludes the asker, O(count)', () => {
  const { t } = newTable()
  for (let i = 0; i < 500; i++) {
    t.insert(fakeRecord(i), { family: 4, address: `10.${i >> 8}.${i & 255}.1`, port: 4000 })
  }
  const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
  const asker = { address: '192.0.2.1', port: 1 }
  const pq = { network: 'testnet', kind: 'peer' as const, count: 20, exclude: null }
  const a = ids(sample(t, pq, asker, seededRandom(seed(1))).entries)
  const b = ids(sample(t, pq, asker, seededRandom(seed(1))).entries)
  const c = ids(sample(t, pq, asker, seededRandom(seed(2))).entries)
  assert.equal(a.length, 20)
  assert.equal(new Set(a).size, 20, 'no duplicates')
  assert.deepEqual(a, b)
  assert.notDeepEqual(a, c)
  // Exclusion by source endpoint and by key, small and large indexes.
  const self = { address: '10.0.5.1', port: 4000 }
  for (let s = 0; s < 50; s++) {
    const got = ids(
      sample(t, { ...pq, count: 100, exclude: fakeKey(7) }, self, seededRandom(seed(s))).entries,
    )
    assert.ok(!got.includes(5) && !got.includes(7))
  }
  const { t: small } = newTable()
  for (let i = 0; i < 3; i++) {
    small.insert(fakeRecord(i), { family: 4, address: `10.0.${i}.1`, port: 4000 })
  }
  const got = ids(
    sample(
      small,
      { ...pq, exclude: fakeKey(1) },
      { address: '10.0.0.1', port: 4000 },
      seededRandom(seed(3)),
    ).entries,
  )
  assert.deepEqual(got, [2])
})

test('sample skips and deletes expired entries', () => {
  const { t, clock } = newTable()
  for (let i = 0; i < 10; i++) {
    t.insert(fakeRecord(i, { expiresAt: T0 + (i < 5 ? 10 : 1000) }), {
      family: 4,
      address: `10.0.${i}.1`,
      port: 1,
    })
  }
  clock.advance(11_000)
  const s = sample(
    t,
    { network: 'testnet', kind: 'peer', count: 10, exclude: null },
    { address: '1.1.1.1', port: 1 },
    seededRandom(new Uint8Array(32)),
  )
  assert.equal(s.entries.length, 5)
  assert.ok(ids(s.entries).every(i => i >= 5))
  assert.equal(t.size, 5)
  assert.deepEqual(t.checkInvariants(), [])
})

test('the same asker gets the same sample within the window, another asker or window differs', () => {
  const h = harness({ sampleWindow: 30 })
  for (let i = 0; i < 300; i++) {
    h.table.insert(fakeRecord(i), { family: 4, address: `10.${i >> 8}.${i & 255}.1`, port: 4000 })
  }
  h.clock.set(Math.floor(h.clock.now() / 30_000) * 30_000) // start of a window
  const asker = h.source('192.0.2.1', 5000)
  const ask = (src = asker): number[] => {
    const r = h.send(queryMessage({ count: 10 }), src, 'tcp')
    assert.ok(r?.type === 'introductions')
    return r.entries.map(e => Buffer.from(e.record).readUInt32BE(8))
  }
  const first = ask()
  assert.equal(first.length, 10)
  h.clock.advance(29_000)
  assert.deepEqual(ask(), first, 'same window')
  // §8.5: the asker is its address, not its port: a new port buys no fresh sample.
  assert.deepEqual(ask(h.source('192.0.2.1', 5001)), first, 'another port, same asker')
  assert.notDeepEqual(ask(h.source('192.0.2.2', 5000)), first, 'another address')
  const v6 = ask(h.source('2001:db8:1:2::1', 5000))
  assert.deepEqual(ask(h.source('2001:db8:1:2::ff', 7000)), v6, 'one IPv6 /64 is one asker')
  assert.notDeepEqual(ask(h.source('2001:db8:1:3::1', 5000)), v6, 'another /64')
  h.clock.advance(1_000)
  assert.notDeepEqual(ask(), first, 'next window')
})

test('table.query dispatches on the mode', () => {
  const t = servers()
  const base = { ...q({ world: 'dm17' }), mode: 'list' as const }
  assert.deepEqual(
    ids(t.query(base, { address: '1.1.1.1', port: 1 }, Math.random).entries),
    [2, 1, 4],
  )
  assert.deepEqual(
    ids(t.query({ ...base, mode: 'best' }, { address: '1.1.1.1', port: 1 }, Math.random).entries),
    [1],
  )
  assert.equal(
    t.query({ ...base, mode: 'sample', count: 2 }, { address: '1.1.1.1', port: 1 }, Math.random)
      .entries.length,
    2,
  )
})

test('property: firstSorted(items, k) equals a full sort sliced to k, for any k', () => {
  const cmp = (a: [number, number], b: [number, number]): number => a[0] - b[0] || a[1] - b[1]
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }),
      fc.integer({ min: 0, max: 320 }),
      (values, k) => {
        // Unique second components make the order total, as table keys do.
        const items = values.map((v, i): [number, number] => [v, i])
        const want = [...items].sort(cmp).slice(0, k)
        assert.deepEqual(firstSorted([...items], k, cmp), want)
      },
    ),
    { numRuns: 500 },
  )
})

test('list pages deep into a large network: totals right, pages ordered and disjoint', () => {
  const h = harness({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, perBlock: 100_000 })
  for (let i = 0; i < 2000; i++) {
    const players = (i * 7919) % 50
    const rec = fakeRecord(i + 1, {
      network: 'big',
      kind: 'server',
      server: { name: `s${i % 97}`, players, maxPlayers: 50, world: 'w', version: '1', tags: [] },
    })
    h.table.insert(rec, { family: 4, address: `10.0.${i >> 8}.${i & 255}`, port: 1000 })
  }
  const q = (offset: number, sort: 'players' | 'name' | 'room'): SelectQuery => ({
    ...queryMessage({ network: 'big', kind: 'server', mode: 'list', count: 100, offset, sort }),
  })
  for (const sort of ['players', 'name', 'room'] as const) {
    const pages = [0, 100, 400, 1900].map(o => list(h.table, q(o, sort)))
    const all = list(h.table, { ...q(0, sort), count: 100, offset: 0 })
    assert.equal(all.total, 2000)
    const seen = new Set(pages.flatMap(p => p.entries.map(e => e.key)))
    assert.equal(seen.size, 400, 'pages do not overlap')
    if (sort === 'players') {
      const players = pages.flatMap(p => p.entries.map(e => e.server?.players ?? -1))
      for (let i = 1; i < players.length; i++)
        assert.ok(players[i - 1]! >= players[i]!, `order at ${i}`)
    }
  }
})
