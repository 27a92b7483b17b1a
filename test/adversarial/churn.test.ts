// Table churn: an attacker with many address blocks (hundreds of /24s in many /16s, and one IPv6
// /32 holding 65,536 /48s) announces 10 x N junk records while honest nodes refresh on schedule.
// The same simulation as scripts/bench-churn.ts at a small N: in process, injected clock, seeded.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ClientTable } from '../../src/table/client-table.js'
import { runChurn } from '../../scripts/bench-churn.js'
import { T0, fakeRecord } from '../helpers/records.js'

test('a 10 x N junk flood from many blocks leaves >= 90 % of honest entries held', () => {
  const setup = { entries: 2000, flood: 10, seed: 7 }
  const fresh = runChurn('new', setup)
  assert.equal(fresh.junkSent, 20_000)
  assert.ok(
    fresh.heldMin >= 0.9,
    `honest entries held: lowest ${(100 * fresh.heldMin).toFixed(1)} %, target >= 90 %`,
  )
  // The same flood against one plain LRU (the table before): most honest entries are pushed out.
  const old = runChurn('old', setup)
  assert.ok(old.heldAtEnd < 0.5, `one LRU keeps ${(100 * old.heldAtEnd).toFixed(1)} %`)
})

test('one IPv6 /32 cannot take more than perWideBlockMax entries, however many /48s it uses', () => {
  const clock = new ManualClock(T0 * 1000)
  const t = new ClientTable({
    maxEntries: 10_000,
    maxBytes: 10_000_000,
    maxTtl: 3600,
    perBlockMax: 64,
    perWideBlockMax: 100,
    clock,
  })
  let stored = 0
  for (let i = 0; i < 1000; i++) {
    const address = `2001:db8:${i.toString(16)}::1`
    if (t.admit(undefined, address) !== 'ok') continue
    if (t.insert(fakeRecord(i), { family: 6, address, port: 4000 }) !== undefined) stored++
  }
  assert.equal(stored, 100)
  assert.equal(t.counts.wideBlockFull, 900)
  assert.equal(t.wideBlockCount('2001:db8:ffff::1'), 100)
  assert.equal(t.admit(undefined, '2001:db9::1'), 'ok', 'the next /32 has its own cap')
  assert.deepEqual(t.checkInvariants(), [])
})
