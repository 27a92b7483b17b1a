import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { blockOf } from '../../src/table/blocks.js'
import {
  ClientTable,
  ENTRY_OVERHEAD,
  INDEX_OVERHEAD,
  SERVER_OVERHEAD,
  type TableOptions,
} from '../../src/table/client-table.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { decodeRecord } from '../../src/wire/record.js'
import { T0, fakeKey, fakeRecord } from '../helpers/records.js'

const ep = (address: string, port = 1000): Endpoint => ({
  family: address.includes(':') ? 6 : 4,
  address,
  port,
})

function table(o: Partial<TableOptions> = {}): { t: ClientTable; clock: ManualClock } {
  const clock = o.clock instanceof ManualClock ? o.clock : new ManualClock(T0 * 1000)
  const t = new ClientTable({
    maxEntries: 1000,
    maxBytes: 10_000_000,
    maxTtl: 3600,
    perBlockMax: 1000,
    ...o,
    clock,
  })
  return { t, clock }
}

const keyOf = (i: number, network = 'testnet'): string =>
  String.fromCharCode(network.length) + network + Buffer.from(fakeKey(i)).toString('latin1')

test('blocks: IPv4 /24 and IPv6 /48, whatever the text form', () => {
  assert.equal(blockOf('192.0.2.1'), blockOf('192.0.2.254'))
  assert.notEqual(blockOf('192.0.2.1'), blockOf('192.0.3.1'))
  assert.equal(blockOf('2001:db8:1::1'), blockOf('2001:db8:1:ffff:1:2:3:4'))
  assert.equal(blockOf('2001:db8::1'), blockOf('2001:db8:0:1::'))
  assert.notEqual(blockOf('2001:db8:1::1'), blockOf('2001:db8:2::1'))
  assert.notEqual(blockOf('::1'), blockOf('0.0.0.1'))
})

test('least recently announced is evicted first; peek does not touch recency', () => {
  const { t } = table({ maxEntries: 3 })
  for (let i = 1; i <= 3; i++) t.insert(fakeRecord(i), ep(`10.0.${i}.1`))
  const one = t.peek(keyOf(1))!
  t.refresh(one) // 1 becomes most recent
  t.peek(keyOf(2)) // does not
  t.insert(fakeRecord(4), ep('10.0.4.1'))
  assert.equal(t.peek(keyOf(2)), undefined, '2 was least recent')
  assert.ok(t.peek(keyOf(1)))
  assert.ok(t.peek(keyOf(3)))
  assert.equal(t.counts.evicted, 1)
  assert.deepEqual(t.checkInvariants(), [])
  // entries() lists least recent first.
  const order = [...t.entries()].map(s =>
    new DataView(s.record.buffer, s.record.byteOffset + 8).getUint32(0),
  )
  assert.deepEqual(order, [3, 1, 4])
})

test('dispose keeps indexes and blocks right on evict, expire, delete and replace', () => {
  const { t, clock } = table({ maxEntries: 4, maxTtl: 100 })
  t.insert(fakeRecord(1), ep('10.0.0.1'))
  t.insert(fakeRecord(2, { kind: 'server', server: srv('a', 1, 2) }), ep('10.0.0.2'))
  t.insert(fakeRecord(3, { network: 'other' }), ep('10.0.1.1'))
  assert.deepEqual(t.bucketIds().sort(), ['pother', 'ptestnet', 'stestnet'])
  assert.equal(t.blockCount('10.0.0.9'), 2)
  // replace: seq 2 of key 1 from another block
  t.insert(fakeRecord(1, { seq: 2 }), ep('10.0.9.1'))
  assert.equal(t.blockCount('10.0.0.9'), 1)
  assert.equal(t.blockCount('10.0.9.9'), 1)
  assert.equal(t.counts.replaced, 1)
  assert.equal(t.bucket('testnet', 'peer').length, 1)
  assert.deepEqual(t.checkInvariants(), [])
  // delete
  assert.ok(t.delete(keyOf(3, 'other')))
  assert.deepEqual(t.bucketIds().sort(), ['ptestnet', 'stestnet'])
  assert.deepEqual(t.checkInvariants(), [])
  // expire: met on read
  clock.advance(101_000)
  assert.equal(t.peek(keyOf(2)), undefined)
  assert.equal(t.bucket('testnet', 'server').length, 0)
  assert.deepEqual(t.checkInvariants(), [])
  // evict: fill past 4
  for (let i = 10; i < 20; i++)
    t.insert(fakeRecord(i, { issuedAt: T0 + 101, expiresAt: T0 + 999 }), ep(`10.1.${i}.1`))
  assert.equal(t.size, 4)
  assert.equal(t.bucket('testnet', 'peer').length, 4)
  assert.equal(t.blocks, 4)
  assert.deepEqual(t.checkInvariants(), [])
  t.clear()
  assert.equal(t.size, 0)
  assert.equal(t.blocks, 0)
  assert.deepEqual(t.bucketIds(), [])
})

function srv(name: string, players: number, maxPlayers: number, world = '', tags: string[] = []) {
  return { name, players, maxPlayers, world, version: '1', tags }
}

test('count and byte budgets hold under 10x overfill', () => {
  const { t } = table({ maxEntries: 100, maxBytes: 1_000_000 })
  for (let i = 0; i < 1000; i++) {
    t.insert(fakeRecord(i), ep(`10.${i >> 8}.${i & 255}.1`))
    assert.ok(t.size <= 100)
  }
  assert.equal(t.size, 100)
  assert.deepEqual(t.checkInvariants(), [])

  const big = { tags: Array.from({ length: 8 }, (_, j) => `tag-${j}-${'x'.repeat(16)}`) }
  const maxBytes = 64 * 1024
  const b = table({ maxEntries: 100_000, maxBytes }).t
  const one = fakeRecord(0, {
    kind: 'server',
    server: { ...srv('n'.repeat(64), 1, 2, 'w'.repeat(64)), ...big },
  })
  const per = one.bytes.byteLength + ENTRY_OVERHEAD + SERVER_OVERHEAD
  const fits = Math.floor(maxBytes / per)
  let inserted = 0
  for (let i = 0; i < fits * 10; i++) {
    const r = fakeRecord(i, {
      kind: 'server',
      server: { ...srv('n'.repeat(64), 1, 2, 'w'.repeat(64)), ...big },
    })
    if (b.insert(r, ep(`10.${i >> 8}.${i & 255}.1`)) !== undefined) inserted++
    assert.ok(b.bytes <= maxBytes, `bytes ${b.bytes} within ${maxBytes}`)
  }
  assert.equal(inserted, fits * 10, 'every insert is stored, older ones evicted')
  // Held: the last n inserted, each in a /24 of its own, 256 to a /16, one bucket; every index
  // array is charged INDEX_OVERHEAD, so n is the most that fit with their indexes.
  const cost = (n: number): number => {
    const wides = new Set<number>()
    for (let i = fits * 10 - n; i < fits * 10; i++) wides.add(i >> 8)
    return n * per + (n + wides.size + 1) * INDEX_OVERHEAD
  }
  let n = 0
  while (cost(n + 1) <= maxBytes) n++
  assert.ok(n < fits && n > fits / 2, `${n} of ${fits} fit with their indexes`)
  assert.equal(b.size, n)
  assert.equal(b.bytes, cost(n))
  assert.deepEqual(b.checkInvariants(), [])
})

test('per-block cap: admit says block-full, and expired members free their places', () => {
  const { t, clock } = table({ perBlockMax: 2, maxTtl: 60 })
  assert.equal(t.admit(undefined, '10.0.0.1'), 'ok')
  t.insert(fakeRecord(1), ep('10.0.0.1'))
  t.insert(fakeRecord(2), ep('10.0.0.2'))
  assert.equal(t.admit(undefined, '10.0.0.3'), 'block-full')
  assert.equal(t.admit(t.peek(keyOf(1)), '10.0.0.3'), 'ok', 'moving inside its block')
  assert.equal(t.admit(undefined, '10.0.1.3'), 'ok')
  clock.advance(61_000)
  assert.equal(t.admit(undefined, '10.0.0.3'), 'ok', 'expired entries are purged from a full block')
  assert.equal(t.blockCount('10.0.0.0'), 0)
  assert.deepEqual(t.checkInvariants(), [])
})

test('entries() and insertTrusted() round-trip; expired and lower sequences are refused', () => {
  const { t, clock } = table()
  for (let i = 0; i < 20; i++) t.insert(fakeRecord(i, { seq: 5 }), ep(`10.0.${i}.1`, 2000 + i))
  t.insert(fakeRecord(99, { expiresAt: T0 + 10 }), ep('10.9.9.9'))
  const snaps = [...t.entries()]
  assert.equal(snaps.length, 21)
  clock.advance(20_000)
  const { t: u } = table({ clock })
  u.insert(fakeRecord(3, { seq: 9 }), ep('10.5.5.5'))
  let restored = 0
  for (const s of snaps)
    if (u.insertTrusted(decodeRecord(s.record), s.observed, s.lastSeen)) restored++
  assert.equal(restored, 19, 'the expired one and the lower seq are refused')
  assert.equal(u.size, 20)
  assert.equal(u.peek(keyOf(3))?.seq, 9)
  assert.equal(u.peek(keyOf(4))?.port, 2004)
  assert.equal(u.peek(keyOf(4))?.seen, T0)
  assert.deepEqual(u.checkInvariants(), [])
  const dropped = u.dropWhere(e => e.publicKey[3]! % 2 === 0 || e.observed.address === '10.0.5.1')
  assert.equal(dropped, 10 + 1)
  assert.equal(u.size, 9)
  assert.deepEqual(u.checkInvariants(), [])
})

test('sweep looks where the injected random points: no Math.random in the table', () => {
  let draws = 0
  const { t, clock } = table({
    random: () => {
      draws++
      return 0
    },
  })
  t.insert(fakeRecord(1, { expiresAt: T0 + 10 }), ep('10.0.0.1'))
  t.insert(fakeRecord(2, { expiresAt: T0 + 1000 }), ep('10.0.1.1'))
  clock.advance(20_000)
  // Position 0 is the expired entry (inserted first): a random of 0 always finds it.
  assert.equal(t.sweep('testnet', 'peer', 1), 1)
  assert.equal(draws, 1)
  assert.equal(t.size, 1)
  assert.equal(t.sweep('testnet', 'peer', 3), 0, 'the live entry stays')
  assert.equal(draws, 4)
  assert.deepEqual(t.checkInvariants(), [])
})

test('model: indexes, blocks and budgets stay consistent under random operations', () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('put' as const),
      key: fc.integer({ min: 0, max: 15 }),
      seq: fc.integer({ min: 1, max: 6 }),
      ip: fc.integer({ min: 0, max: 7 }),
      life: fc.integer({ min: 1, max: 200 }),
      server: fc.boolean(),
      network: fc.constantFrom('a', 'b'),
    }),
    fc.record({ kind: fc.constant('refresh' as const), key: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60_000 }) }),
    fc.record({ kind: fc.constant('sweep' as const), network: fc.constantFrom('a', 'b') }),
  )
  const ips = [
    '10.0.0.1',
    '10.0.0.2',
    '10.0.1.1',
    '10.0.2.1',
    '2001:db8::1',
    '2001:db8::2',
    '2001:db8:1::1',
    '10.0.3.1',
  ]
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), fc.boolean(), (ops, small) => {
      const clock = new ManualClock(T0 * 1000)
      const maxEntries = small ? 5 : 1000
      const maxBytes = small ? 5 * (ENTRY_OVERHEAD + 120) : 10_000_000
      const { t } = table({ clock, maxEntries, maxBytes, perBlockMax: 3, maxTtl: 120 })
      // Exact model when nothing can be evicted: key → { seq, until, network }.
      const model = new Map<string, { seq: number; until: number; network: string; ip: string }>()
      const now = (): number => Math.floor(clock.now() / 1000)
      for (const o of ops) {
        if (o.kind === 'put') {
          const issuedAt = now()
          const r = fakeRecord(o.key, {
            network: o.network,
            seq: o.seq,
            issuedAt,
            expiresAt: issuedAt + o.life,
            kind: o.server ? 'server' : 'peer',
            server: o.server ? srv(`s${o.key}`, o.key % 3, 2) : null,
          })
          const k = keyOf(o.key, o.network)
          const held = t.peek(k)
          if (held !== undefined && held.seq >= o.seq) continue
          const ip = ips[o.ip]!
          if (t.admit(held, ip) !== 'ok') continue
          const e = t.insert(r, ep(ip))
          assert.ok(e !== undefined)
          model.set(k, {
            seq: o.seq,
            until: Math.min(issuedAt + o.life, issuedAt + 120),
            network: o.network,
            ip,
          })
        } else if (o.kind === 'refresh') {
          for (const network of ['a', 'b']) {
            const k = keyOf(o.key, network)
            const held = t.peek(k)
            if (held === undefined) continue
            t.refresh(held)
            const m = model.get(k)
            if (m !== undefined) m.until = Math.min(held.expiresAt, now() + 120)
          }
        } else if (o.kind === 'delete') {
          for (const network of ['a', 'b']) {
            t.delete(keyOf(o.key, network))
            model.delete(keyOf(o.key, network))
          }
        } else if (o.kind === 'advance') {
          clock.advance(o.ms)
        } else {
          t.sweep(o.network, 'peer', 3)
          t.sweep(o.network, 'server', 3)
        }
        assert.deepEqual(t.checkInvariants(), [])
        assert.ok(t.size <= maxEntries)
        assert.ok(t.bytes <= maxBytes)
        for (const [k, m] of model) {
          const e = t.peek(k)
          if (e !== undefined) {
            assert.equal(e.seq, m.seq, 'never an older version')
            assert.equal(e.ip, m.ip)
          }
          if (!small) assert.equal(e !== undefined, m.until > now(), 'present exactly while live')
          if (e === undefined) model.delete(k)
        }
        const live = [...t.entries()]
        for (const s of live) assert.ok(s.lastSeen / 1000 <= now())
      }
    }),
    { numRuns: 150 },
  )
})

test('liveness: a server entry outlives its last announce by serverTtl, a peer by maxTtl', () => {
  const { t, clock } = table({ serverTtl: 900 })
  const server = fakeRecord(40, { kind: 'server', server: srv('s', 1, 8) })
  t.insert(server, ep('10.0.4.1'))
  t.insert(fakeRecord(41), ep('10.0.4.2'))
  const held = (i: number): boolean => t.peek(keyOf(i)) !== undefined
  clock.advance(600_000)
  t.refresh(t.peek(keyOf(40))!)
  clock.advance(899_000)
  assert.ok(held(40), 'alive while it announces within serverTtl')
  clock.advance(2_000)
  assert.equal(held(40), false, 'gone once serverTtl passed without an announce (a crash)')
  assert.ok(held(41), 'a peer still lives up to maxTtl')
  assert.deepEqual(t.checkInvariants(), [])
})

test('nothing is reserved for maxEntries at start: an empty table of 2,000,000 slots is small', () => {
  const used = (): number => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const before = used()
  const t = new ClientTable({
    maxEntries: 2_000_000,
    maxBytes: 4 * 1024 ** 3,
    maxTtl: 3600,
    perBlockMax: 64,
    clock: new ManualClock(T0 * 1000),
  })
  const grown = used() - before
  // lru-cache built with `max` preallocated about 50 B a slot in each segment (over 150 MB here).
  assert.ok(grown < 16 * 1024 ** 2, `an empty table took ${grown} bytes`)
  assert.equal(t.size, 0)
})
