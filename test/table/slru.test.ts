import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { blocksOf } from '../../src/table/blocks.js'
import { ClientTable, REFRESH_GAP, type TableOptions } from '../../src/table/client-table.js'
import { SEQ_SLOT_BYTES, SeqMemory } from '../../src/table/seq-memory.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import type { SignedRecord } from '../../src/wire/record.js'
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
    secret: new Uint8Array(16).fill(9),
    ...o,
    clock,
  })
  return { t, clock }
}

const keyOf = (i: number, network = 'testnet'): string =>
  String.fromCharCode(network.length) + network + Buffer.from(fakeKey(i)).toString('latin1')

/** What the announce handler does once the signature is good (docs/protocol.md §8.3). */
function announce(t: ClientTable, r: SignedRecord, address: string): string {
  const key = Buffer.from(r.bytes.subarray(0, 1 + r.record.network.length + 32)).toString('latin1')
  const held = t.peek(key)
  if (held !== undefined && held.rec === Buffer.from(r.bytes).toString('latin1')) {
    t.refresh(held)
    return 'refreshed'
  }
  if (held !== undefined && r.record.seq <= held.seq) return 'stale'
  const admitted = t.admit(held, address, r)
  if (admitted !== 'ok') return admitted
  return t.insert(r, ep(address)) === undefined
    ? 'refused'
    : held === undefined
      ? 'new'
      : 'replaced'
}

test('blocks: /16 and /32 around /24 and /48, distinct keys', () => {
  assert.deepEqual(blocksOf('192.0.2.1'), ['192.0.2', 'w192.0'])
  assert.equal(blocksOf('192.0.200.1')[1], blocksOf('192.0.2.1')[1])
  assert.notEqual(blocksOf('192.1.2.1')[1], blocksOf('192.0.2.1')[1])
  assert.equal(blocksOf('2001:db8:1::1')[1], blocksOf('2001:db8:ffff:1::')[1])
  assert.notEqual(blocksOf('2001:db8::1')[1], blocksOf('2001:db9::1')[1])
  assert.notEqual(blocksOf('2001:db8:1::1')[0], blocksOf('2001:db8:2::1')[0])
})

test('entries announced protectAfter times (REFRESH_GAP apart) survive a flood of newcomers', () => {
  const { t, clock } = table({ maxEntries: 10, protectAfter: 2 })
  for (let i = 0; i < 5; i++) t.insert(fakeRecord(i), ep(`10.0.${i}.1`))
  // Refreshes within REFRESH_GAP do not count.
  for (let i = 0; i < 5; i++) t.refresh(t.peek(keyOf(i))!)
  assert.equal(t.protectedSize, 0)
  for (let round = 1; round <= 2; round++) {
    clock.advance(REFRESH_GAP * 1000)
    for (let i = 0; i < 5; i++) t.refresh(t.peek(keyOf(i))!)
  }
  assert.equal(t.protectedSize, 5)
  assert.equal(t.counts.promoted, 5)
  for (let j = 100; j < 1100; j++) t.insert(fakeRecord(j), ep(`10.1.${j % 250}.1`))
  for (let i = 0; i < 5; i++) assert.ok(t.peek(keyOf(i)), `protected ${i} held`)
  assert.equal(t.size, 10)
  assert.equal(t.counts.evicted, 995)
  assert.deepEqual(t.checkInvariants(), [])
})

test('the protected segment is capped; a longer record keeps its place, the LRU is demoted', () => {
  const { t, clock } = table({ maxEntries: 4, protectAfter: 1, protectedShare: 0.5 })
  for (let i = 0; i < 3; i++) t.insert(fakeRecord(i), ep(`10.0.${i}.1`))
  clock.advance(REFRESH_GAP * 1000)
  for (let i = 0; i < 3; i++) t.refresh(t.peek(keyOf(i))!)
  // 0 and 1 are protected (one counted announce each); 2 has no more than the LRU (0): refused.
  assert.equal(t.protectedSize, 2)
  assert.equal(t.counts.notPromoted, 1)
  assert.equal(t.peek(keyOf(2))?.prot, false)
  clock.advance(REFRESH_GAP * 1000)
  t.refresh(t.peek(keyOf(2))!)
  // Two counted announces beat one: 2 enters, 0 (least recent) is demoted, not dropped.
  assert.equal(t.peek(keyOf(2))?.prot, true)
  assert.equal(t.peek(keyOf(0))?.prot, false, 'demoted to probation')
  assert.equal(t.size, 3)
  // A higher seq keeps the entry's standing (servers sign a new record when players change).
  t.insert(fakeRecord(2, { seq: 2 }), ep('10.0.2.1'))
  assert.equal(t.peek(keyOf(2))?.prot, true)
  assert.equal(t.counts.replaced, 1)
  assert.deepEqual(t.checkInvariants(), [])
})

test('the replay memory is fixed in size, charged to maxBytes, and counts early losses', () => {
  const { t } = table({ maxEntries: 100, maxBytes: 1_000_000, replayMemory: 800 })
  assert.equal(t.replayMemory.capacity, 800)
  assert.equal(t.bytes, 800 * SEQ_SLOT_BYTES, 'reserved up front')
  assert.equal(t.maxBytes, 1_000_000)
  const capped = table({ maxBytes: 64 * 1024, replayMemory: 1_000_000 }).t
  assert.ok(capped.replayMemory.bytes <= 64 * 1024 * 0.125, 'at most an eighth of the budget')

  const m = new SeqMemory(8, new Uint8Array(16))
  const now = T0
  for (let i = 0; i < 8; i++) m.remember(`k${i}`, i, now + 100, i < 4, now)
  assert.equal(m.live(now), 8)
  assert.equal(m.counts.dropped, 0)
  // Full: a newcomer replaces the weakest newcomer (earliest until), never an established key.
  m.remember('late', 1, now + 200, false, now)
  assert.equal(m.counts.dropped, 1)
  assert.equal(m.recall('late', now), 1)
  for (let i = 0; i < 4; i++) assert.equal(m.recall(`k${i}`, now), i, 'established kept')
  m.remember('weak', 1, now + 1, false, now)
  assert.equal(m.recall('weak', now), undefined, 'outranked by every held memory: not stored')
  // Expired memories free their slots.
  assert.equal(m.live(now + 300), 0)
  m.remember('late', 0, now + 200, false, now)
  assert.equal(m.recall('late', now), 1, 'never lowered')
  m.forget('late', now)
  assert.equal(m.recall('late', now), undefined)
})

test('model: invariants, budgets and replay refusal under random insert/refresh/evict/replay', () => {
  const ips = ['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.1.0.1', '2001:db8::1', '2001:db8:1::1']
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('put' as const),
      key: fc.integer({ min: 0, max: 11 }),
      seq: fc.integer({ min: 1, max: 5 }),
      ip: fc.integer({ min: 0, max: ips.length - 1 }),
      life: fc.integer({ min: 30, max: 2000 }),
      server: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('refresh' as const), key: fc.integer({ min: 0, max: 11 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 11 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 90_000 }) }),
    fc.record({ kind: fc.constant('flood' as const), n: fc.integer({ min: 1, max: 12 }) }),
  )
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 100 }),
      fc.integer({ min: 2, max: 8 }),
      fc.constantFrom(0.25, 0.5, 0.8, 1),
      (ops, maxEntries, share) => {
        const clock = new ManualClock(T0 * 1000)
        const maxBytes = 64 * 1024
        const { t } = table({
          clock,
          maxEntries,
          maxBytes,
          maxTtl: 600,
          perBlockMax: 3,
          perWideBlockMax: 4,
          protectAfter: 2,
          protectedShare: share,
          replayMemory: 64,
        })
        // Highest seq each key ever had accepted, and the bytes of that record.
        const best = new Map<number, { seq: number; rec: string }>()
        const records = new Map<string, SignedRecord>()
        let junk = 1000
        const now = (): number => Math.floor(clock.now() / 1000)
        for (const o of ops) {
          if (o.kind === 'put') {
            // Records are deterministic per (key, seq): a replay is the same bytes again.
            const id = `${o.key}/${o.seq}`
            const r =
              records.get(id) ??
              fakeRecord(o.key, {
                seq: o.seq,
                issuedAt: now(),
                expiresAt: now() + o.life,
                kind: o.server ? 'server' : 'peer',
                server: o.server
                  ? {
                      name: `s${o.key}`,
                      players: 1,
                      maxPlayers: 2,
                      world: '',
                      version: '1',
                      tags: [],
                    }
                  : null,
              })
            records.set(id, r)
            if (r.record.expiresAt <= now()) continue
            const result = announce(t, r, ips[o.ip]!)
            const b = best.get(o.key)
            const text = Buffer.from(r.bytes).toString('latin1')
            if (result === 'new' || result === 'replaced') {
              // The memory holds 64 keys for 12 keys plus junk: never full here, so once a key
              // had a seq, only a higher one is stored again (a refresh is not a store).
              if (b !== undefined) assert.ok(o.seq > b.seq, 'no going back')
              best.set(o.key, { seq: o.seq, rec: text })
            }
          } else if (o.kind === 'refresh') {
            const e = t.peek(keyOf(o.key))
            if (e !== undefined) t.refresh(e)
          } else if (o.kind === 'delete') {
            t.delete(keyOf(o.key))
          } else if (o.kind === 'advance') {
            clock.advance(o.ms)
          } else {
            for (let i = 0; i < o.n; i++, junk++) {
              const r = fakeRecord(junk, { issuedAt: now(), expiresAt: now() + 600 })
              announce(t, r, `10.${junk % 3}.${junk % 5}.1`)
            }
          }
          assert.deepEqual(t.checkInvariants(), [])
          assert.ok(t.size <= maxEntries)
          assert.ok(t.bytes <= maxBytes)
          assert.ok(t.protectedSize <= Math.max(1, Math.floor(maxEntries * share)))
        }
      },
    ),
    { numRuns: 200, seed: 20261129 },
  )
})

test('a memory re-remembered as a newcomer keeps its established standing (withdrawals)', () => {
  const m = new SeqMemory(8, new Uint8Array(16))
  const now = T0
  for (let i = 0; i < 8; i++) m.remember(`k${i}`, i, now + 100, true, now)
  // k0 withdrawn later, by a record whose entry was not held (newcomer standing): still established.
  m.remember('k0', 50, now + 100, false, now)
  assert.equal(m.recall('k0', now), 50)
  m.remember('late', 1, now + 200, false, now)
  assert.equal(m.recall('late', now), undefined, 'every slot established: the newcomer is dropped')
  assert.equal(m.recall('k0', now), 50)
})

test('withdraw(): the entry leaves at once, its seq is remembered, held or not; never stored', () => {
  const { t, clock } = table({ replayMemory: 800 })
  assert.ok(t.insert(fakeRecord(1, { seq: 5 }), ep('10.0.0.1')))
  const w = fakeRecord(1, { seq: 6, expiresAt: T0 })
  assert.equal(t.insert(w, ep('10.0.0.1')), undefined, 'a withdrawal is never stored')
  assert.equal(t.withdraw(w), true)
  assert.equal(t.size, 0)
  assert.equal(t.replayMemory.recall(keyOf(1), t.nowSeconds()), 6)
  assert.ok(t.isReplay(fakeRecord(1, { seq: 6 })))
  assert.ok(!t.isReplay(fakeRecord(1, { seq: 7 })))
  // A key never held: remembered all the same.
  assert.equal(t.withdraw(fakeRecord(2, { seq: 9, expiresAt: T0 })), false)
  assert.ok(t.isReplay(fakeRecord(2, { seq: 8 })))
  assert.deepEqual([t.counts.withdrawn, t.counts.deleted], [2, 1])
  clock.advance(86_400_000)
  assert.ok(!t.isReplay(fakeRecord(2, { seq: 8 })), 'remembered 86,400 s, not longer')
  assert.deepEqual(t.checkInvariants(), [])
})
