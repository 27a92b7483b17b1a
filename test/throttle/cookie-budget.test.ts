import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ip16From } from '../../src/crypto/cookie.js'
import { COOKIE_BLOCK_SLOTS, CookieBudget, blockSlot } from '../../src/throttle/flood.js'
import { parseIp } from '../../src/wire/endpoint.js'

const ip = (text: string): Uint8Array => {
  const raw = parseIp(text)
  if (raw === null) throw new Error(text)
  return ip16From(raw)
}

test('the global budget: a one-second burst, then the rate', () => {
  const clock = new ManualClock()
  const b = new CookieBudget({ rate: 100, blockRate: 0 }, { clock, seed: 1 })
  let ok = 0
  for (let i = 0; i < 250; i++) if (b.admit(ip(`10.${i}.0.1`))) ok++
  assert.equal(ok, 100)
  assert.equal(b.counts.droppedGlobal, 150)
  clock.advance(500)
  ok = 0
  for (let i = 0; i < 100; i++) if (b.admit(ip(`10.${i}.1.1`))) ok++
  assert.equal(ok, 50)
})

test('the per-block share: one /24 or /48 cannot take the whole budget', () => {
  const clock = new ManualClock()
  const b = new CookieBudget({ rate: 1000, blockRate: 10 }, { clock, seed: 7 })
  let same = 0
  for (let i = 0; i < 50; i++) if (b.admit(ip(`192.0.2.${i}`))) same++
  assert.equal(same, 10)
  let v6 = 0
  for (let i = 0; i < 50; i++) if (b.admit(ip(`2001:db8:1:${i.toString(16)}::1`))) v6++
  assert.equal(v6, 10, 'a /48')
  // Another block still gets its share (its slot differs for this seed).
  assert.notEqual(blockSlot(ip('198.51.100.1'), 7), blockSlot(ip('192.0.2.1'), 7))
  assert.ok(b.admit(ip('198.51.100.1')))
  // The next second, the share is back.
  clock.advance(1000)
  assert.ok(b.admit(ip('192.0.2.200')))
  assert.equal(b.counts.droppedBlock, 80)
})

test('block slots: /24 and /48 granularity, bounded, seeded', () => {
  assert.equal(blockSlot(ip('192.0.2.1'), 3), blockSlot(ip('192.0.2.254'), 3))
  assert.equal(blockSlot(ip('::ffff:192.0.2.9'), 3), blockSlot(ip('192.0.2.1'), 3))
  assert.equal(blockSlot(ip('2001:db8:1::1'), 3), blockSlot(ip('2001:db8:1:ffff::9'), 3))
  const seen = new Set<number>()
  for (let i = 0; i < 20_000; i++) {
    const s = blockSlot(ip(`${1 + (i % 200)}.${i >> 8}.${i & 0xff}.1`), 11)
    assert.ok(s >= 0 && s < COOKIE_BLOCK_SLOTS)
    seen.add(s)
  }
  assert.ok(seen.size > COOKIE_BLOCK_SLOTS * 0.9, `spread over ${seen.size} slots`)
  let moved = 0
  for (let i = 0; i < 100; i++) {
    const a = ip(`10.0.${i}.1`)
    if (blockSlot(a, 1) !== blockSlot(a, 2)) moved++
  }
  assert.ok(moved > 90, 'the seed changes the slots')
})
