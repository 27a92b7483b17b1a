import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  parseTrackerSpec,
  randomOrder,
  trackerId,
  trackerLabel,
} from '../../src/client/trackers.js'

test('parseTrackerSpec reads IPv4, bracketed IPv6 and host names; UDP and TCP share the port', () => {
  assert.deepEqual(parseTrackerSpec('127.0.0.1:3520'), { host: '127.0.0.1', udp: 3520, tcp: 3520 })
  assert.deepEqual(parseTrackerSpec('[::1]:9'), { host: '::1', udp: 9, tcp: 9 })
  assert.deepEqual(parseTrackerSpec('[2001:DB8:0:0::1]:65535'), {
    host: '2001:db8::1',
    udp: 65535,
    tcp: 65535,
  })
  assert.deepEqual(parseTrackerSpec(' Tracker-1.Example.org.:3520 '), {
    host: 'tracker-1.example.org',
    udp: 3520,
    tcp: 3520,
  })
  assert.deepEqual(parseTrackerSpec('localhost:1'), { host: 'localhost', udp: 1, tcp: 1 })
})

test('parseTrackerSpec refuses what is not HOST:PORT, with CLIENT_BAD_TRACKER', () => {
  const bad = [
    '',
    '127.0.0.1',
    ':3520',
    '127.0.0.1:',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:35a',
    '127.0.0.1:+35',
    '256.0.0.1:3520',
    '1.2.3:3520',
    '::1:3520',
    '[::1]3520',
    '[::1:3520',
    '[nope]:3520',
    'bad_host:3520',
    '-bad.example:3520',
    'a..b:3520',
    'http://x:3520',
  ]
  for (const spec of bad) {
    assert.throws(
      () => parseTrackerSpec(spec),
      (err: { code?: string }) => err.code === 'CLIENT_BAD_TRACKER',
      spec,
    )
  }
})

test('trackerLabel prefers the bootpage name and brackets IPv6', () => {
  assert.equal(trackerLabel(parseTrackerSpec('[::1]:9')), '[::1]:9')
  assert.equal(trackerLabel({ host: 'a', udp: 1, tcp: 1, name: 'alpha' }), 'alpha')
  assert.equal(trackerLabel({ host: 'a', udp: null, tcp: 7 }), 'a:7')
  assert.notEqual(
    trackerId({ host: 'a', udp: 1, tcp: 2 }),
    trackerId({ host: 'a', udp: 1, tcp: 3 }),
  )
})

test('randomOrder is a permutation: every item exactly once, input untouched', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer(), { maxLength: 20 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1 }),
      (items, rolls) => {
        let i = 0
        const random = (): number => rolls[i++ % rolls.length] ?? 0
        const copy = items.slice()
        const out = randomOrder(items, random)
        assert.deepEqual(items, copy)
        assert.deepEqual(
          out.slice().sort((a, b) => a - b),
          items.slice().sort((a, b) => a - b),
        )
      },
    ),
  )
})

test('randomOrder puts every tracker first about equally often', () => {
  // Deterministic generator (LCG) so the test cannot flake; 3000 rounds over 3 items.
  let s = 42
  const random = (): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
  const firsts = new Map<string, number>()
  for (let i = 0; i < 3000; i++) {
    const first = randomOrder(['a', 'b', 'c'], random)[0] ?? ''
    firsts.set(first, (firsts.get(first) ?? 0) + 1)
  }
  for (const k of ['a', 'b', 'c']) {
    const n = firsts.get(k) ?? 0
    assert.ok(n > 800 && n < 1200, `${k} first ${n} times of 3000`)
  }
})
