import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Slots, slotAdd, slotList, slotRemove } from '../../src/table/blocks.js'
import { ManualClock } from '../../src/clock.js'
import { ClientTable, Entry } from '../../src/table/client-table.js'
import { T0, fakeRecord } from '../helpers/records.js'

/** A member that sits in two lists at once, as an entry sits in its bucket and its blocks. */
interface Member {
  id: number
  a: number
  b: number
}
const IN_A: Slots<Member> = { get: m => m.a, set: (m, i) => void (m.a = i) }
const IN_B: Slots<Member> = { get: m => m.b, set: (m, i) => void (m.b = i) }

test('slot lists: random adds and removes keep every member at its slot, never twice', () => {
  const op = fc.record({
    add: fc.boolean(),
    member: fc.nat({ max: 15 }),
    list: fc.nat({ max: 3 }),
    lane: fc.constantFrom('a' as const, 'b' as const),
  })
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), ops => {
      const members: Member[] = Array.from({ length: 16 }, (_, id) => ({ id, a: -1, b: -1 }))
      // Per lane: the list each member is in (a member is in at most one list of a lane).
      const lists = { a: new Map<number, Member[]>(), b: new Map<number, Member[]>() }
      const model = { a: new Map<number, number>(), b: new Map<number, number>() }
      for (const o of ops) {
        const m = members[o.member] as Member
        const slots = o.lane === 'a' ? IN_A : IN_B
        const where = model[o.lane]
        const owner = lists[o.lane]
        if (o.add && !where.has(m.id)) {
          const list = owner.get(o.list)
          if (list === undefined) owner.set(o.list, slotList(m, slots))
          else slotAdd(list, m, slots)
          where.set(m.id, o.list)
        } else if (!o.add) {
          const list = owner.get(o.list)
          const removed = list !== undefined && slotRemove(list, m, slots)
          assert.equal(removed, where.get(m.id) === o.list, 'removed exactly when it was there')
          if (removed) where.delete(m.id)
          if (list?.length === 0) owner.delete(o.list)
        }
        for (const lane of ['a', 'b'] as const) {
          const slots = lane === 'a' ? IN_A : IN_B
          const seen = new Set<number>()
          for (const [id, list] of lists[lane]) {
            assert.ok(list.length > 0, 'an empty list is dropped')
            list.forEach((x, i) => {
              assert.equal(slots.get(x), i, 'member at its recorded slot')
              assert.ok(!seen.has(x.id), 'no member twice')
              seen.add(x.id)
              assert.equal(model[lane].get(x.id), id, 'member in the list the model says')
            })
          }
          assert.equal(seen.size, model[lane].size)
          for (const x of members) if (!model[lane].has(x.id)) assert.equal(slots.get(x), -1)
        }
      }
    }),
    { numRuns: 300 },
  )
})

test('Entry packs port, counted announces and segment in one field; seq and expiry from the record', () => {
  const t = new ClientTable({
    maxEntries: 10,
    maxBytes: 1_000_000,
    maxTtl: 3600,
    perBlockMax: 10,
    clock: new ManualClock(T0 * 1000),
  })
  const seq = 2 ** 40 + 0x89abcdef
  const r = fakeRecord(3, { seq, expiresAt: T0 + 1234 })
  const e = t.insert(r, { family: 4, address: '10.0.0.1', port: 65535 }) as Entry
  assert.ok(e instanceof Entry)
  assert.equal(e.seq, seq)
  assert.equal(e.expiresAt, T0 + 1234)
  assert.equal(e.port, 65535)
  e.hits = 16
  e.prot = true
  assert.deepEqual([e.port, e.hits, e.prot], [65535, 16, true])
  e.hits = 3
  e.prot = false
  assert.deepEqual([e.port, e.hits, e.prot], [65535, 3, false])
})
