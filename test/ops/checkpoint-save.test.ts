// A save walks the table's entry references (ClientTable#refs) in slices (held.ts): an Entry is
// a stable handle, so what changes while the save runs is saved in a stated version.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { heldEntries } from '../../src/ops/checkpoint/held.js'
import { ClientTable, REFRESH_GAP } from '../../src/table/client-table.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { T0, fakeRecord } from '../helpers/records.js'

const v4 = (address: string, port: number): Endpoint => ({ family: 4, address, port })
const HOUR = 3600

function table(): { t: ClientTable; clock: ManualClock } {
  const clock = new ManualClock(T0 * 1000)
  const t = new ClientTable({
    maxEntries: 1000,
    maxBytes: 10_000_000,
    maxTtl: HOUR,
    perBlockMax: 1000,
    clock,
  })
  return { t, clock }
}

test('refs: one pass of stable handles; a save writes what is held under each key when it gets there', () => {
  const { t, clock } = table()
  for (let i = 1; i <= 20; i++)
    t.insert(fakeRecord(i, { expiresAt: T0 + HOUR }), v4(`10.0.${i}.1`, 1000))
  const refs = t.refs()
  assert.equal(refs.length, 20)
  assert.ok(refs.every(e => t.peek(e.key) === e))

  const out: { seq: number; key: string; lastSeen: number }[] = []
  let i = 0
  for (const c of heldEntries(t)) {
    const key = Buffer.from(c.record).toString('latin1').slice(0, refs[0]!.key.length)
    out.push({ seq: fakeSeq(c.record), key, lastSeen: c.lastSeen })
    if (i++ === 2) {
      // While the save is under way: a higher seq replaces key 10, key 11 leaves, key 12 is
      // announced again later, a new key 99 arrives.
      clock.advance(5000)
      assert.ok(t.insert(fakeRecord(10, { seq: 2, expiresAt: T0 + HOUR }), v4('10.0.10.1', 1000)))
      assert.ok(t.delete(refs[10]!.key))
      t.refresh(t.peek(refs[11]!.key)!)
      assert.ok(t.insert(fakeRecord(99, { expiresAt: T0 + HOUR }), v4('10.9.9.1', 1000)))
      assert.notEqual(t.peek(refs[9]!.key), refs[9], 'replaced: a new handle')
      assert.equal(t.peek(refs[11]!.key), refs[11], 'refreshed: the same handle')
    }
  }
  const keys = out.map(o => o.key)
  assert.equal(new Set(keys).size, keys.length, 'each key once')
  assert.equal(
    out.length,
    19,
    'the deleted key skipped; the key added meanwhile is for the next save',
  )
  assert.equal(out.find(o => o.key === refs[9]!.key)?.seq, 2, 'the replacing version is saved')
  assert.equal(keys.includes(refs[10]!.key), false)
  assert.equal(out.find(o => o.key === refs[11]!.key)?.lastSeen, clock.now() - (clock.now() % 1000))
})

/** The seq of a record: the u64 after its key (u8 network length, network, 32-byte key). */
function fakeSeq(record: Uint8Array): number {
  const at = 1 + record[0]! + 32
  const v = new DataView(record.buffer, record.byteOffset)
  return v.getUint32(at) * 2 ** 32 + v.getUint32(at + 4)
}

test('refs: the table order (least recently announced first, probation before protected), without lru-cache iteration', () => {
  const { t, clock } = table()
  for (let i = 1; i <= 30; i++) {
    clock.advance(1000)
    t.insert(fakeRecord(i, { expiresAt: T0 + HOUR }), v4(`10.0.${i}.1`, 1000))
  }
  // Announced again later (REFRESH_GAP apart): these move to protected, in this order.
  for (const i of [3, 7, 11, 5, 20]) {
    const e = t.refs().find(r => fakeIndex(r.recordBytes) === i)!
    for (let k = 0; k < 3; k++) {
      clock.advance(REFRESH_GAP * 1000)
      t.refresh(e)
    }
  }
  const expected = [...t.entries()].map(s => Buffer.from(s.record).toString('latin1'))
  assert.ok(t.protectedSize > 0)
  assert.deepEqual(
    t.refs().map(e => e.rec),
    expected,
  )
})

/** The number a fake record's key was made from (records.ts fakeKey). */
function fakeIndex(record: Uint8Array): number {
  return new DataView(record.buffer, record.byteOffset).getUint32(1 + record[0]!)
}
