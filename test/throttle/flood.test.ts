import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { formatIp } from '../../src/wire/endpoint.js'
import { ManualClock } from '../../src/clock.js'
import { FloodControl, createFloodGate, floodKey } from '../../src/throttle/flood.js'
import { openFloodGate } from '../../src/throttle/types.js'
import { recordingLogger } from '../helpers/ops.js'

test('a source within its burst is served; the first request over it is warned, then dropped', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 2, burst: 5, sources: 100 }, { clock })
  for (let i = 0; i < 5; i++) assert.deepEqual(gate.check('192.0.2.1'), { action: 'pass' })
  assert.deepEqual(gate.check('192.0.2.1'), { action: 'warn', retryAfter: 1 })
  for (let i = 0; i < 10; i++) assert.deepEqual(gate.check('192.0.2.1'), { action: 'drop' })
  assert.deepEqual(gate.counts, {
    passed: 5,
    warned: 1,
    dropped: 10,
    released: 0,
    evicted: 0,
  })
})

test('one flooding source is cut while another source is served', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 10, burst: 20, sources: 100 }, { clock })
  let served = 0
  let flooderServed = 0
  for (let ms = 0; ms < 10_000; ms += 10) {
    clock.advance(10)
    // The flooder sends 1,000 requests/s, the good source 5/s.
    if (gate.check('198.51.100.7').action === 'pass') flooderServed++
    if (ms % 200 === 0 && gate.check('203.0.113.9').action === 'pass') served++
  }
  assert.equal(served, 50, 'the well-behaved source is always served')
  // The flooder had its burst (20, plus 2 tokens refilled while spending it) and is then
  // silenced for good: it never pays off its debt.
  assert.equal(flooderServed, 22)
  assert.equal(gate.counts.warned, 1)
})

test('a silenced source that waits out the hint is served again and forgiven', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 1, burst: 3, sources: 100 }, { clock })
  for (let i = 0; i < 3; i++) gate.check('192.0.2.1')
  assert.deepEqual(gate.check('192.0.2.1'), { action: 'warn', retryAfter: 1 })
  clock.advance(1000)
  assert.deepEqual(gate.check('192.0.2.1'), { action: 'pass' })
  assert.equal(gate.counts.released, 1)
  // Forgiven: the next time it runs dry it is warned again (not silently dropped).
  assert.equal(gate.check('192.0.2.1').action, 'warn')
})

test('requests while silenced deepen the debt (bounded by one burst)', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 1, burst: 4, sources: 100 }, { clock })
  for (let i = 0; i < 4; i++) gate.check('192.0.2.1')
  assert.equal(gate.check('192.0.2.1').action, 'warn')
  for (let i = 0; i < 100; i++) gate.check('192.0.2.1') // debt capped at -4
  clock.advance(4_000) // back to 0 tokens: still nothing
  assert.equal(gate.check('192.0.2.1').action, 'drop') // now at -1
  clock.advance(2_000) // -1 + 2 = 1 token
  assert.equal(gate.check('192.0.2.1').action, 'pass')
})

test('the retry-after hint is the time until the source has the tokens it asked for', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 0.5, burst: 2, sources: 10 }, { clock })
  gate.check('192.0.2.1', 2)
  assert.deepEqual(gate.check('192.0.2.1', 2), { action: 'warn', retryAfter: 4 })
})

test('IPv6 sources share a bucket per /64; IPv4-mapped addresses count as IPv4', () => {
  assert.equal(floodKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
  assert.equal(floodKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64')
  assert.equal(floodKey('::ffff:192.0.2.1'), '192.0.2.1')
  assert.equal(floodKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
  assert.equal(floodKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.equal(floodKey('::ffff:c000:201'), '192.0.2.1')
  assert.equal(floodKey('not:an:address'), 'not:an:address')
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 1, burst: 2, sources: 10 }, { clock })
  assert.equal(gate.check('2001:db8:1:2::1').action, 'pass')
  assert.equal(gate.check('2001:db8:1:2::2').action, 'pass')
  assert.equal(gate.check('2001:db8:1:2::3').action, 'warn', 'same /64, same bucket')
  assert.equal(gate.check('2001:db8:1:3::1').action, 'pass', 'another /64 is another bucket')
})

test('the /64 key is the same for every text form of an address', () => {
  // Words that are often zero, so the '::' lands everywhere.
  const word = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
  fc.assert(
    fc.property(fc.array(word, { minLength: 8, maxLength: 8 }), ws => {
      const bytes = new Uint8Array(16)
      ws.forEach((w, i) => {
        bytes[2 * i] = w >> 8
        bytes[2 * i + 1] = w & 0xff
      })
      let expected = ''
      for (let i = 0; i < 8; i += 2)
        expected += `${((bytes[i]! << 8) | bytes[i + 1]!).toString(16)}:`
      expected += ':/64'
      const mapped =
        bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
      if (mapped) expected = formatIp(bytes.subarray(12))
      const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
      const forms = [
        formatIp(bytes),
        words.map(w => w.toString(16).padStart(4, '0')).join(':'),
        formatIp(bytes).toUpperCase(),
      ]
      for (const form of forms) assert.equal(floodKey(form), expected, form)
    }),
    { numRuns: 2000 },
  )
})

test('the source table is bounded: the least recently seen source is forgotten', () => {
  const clock = new ManualClock()
  const gate = new FloodControl({ rate: 1, burst: 1, sources: 3 }, { clock })
  gate.check('192.0.2.1')
  assert.equal(gate.check('192.0.2.1').action, 'warn')
  for (let i = 2; i < 100; i++) gate.check(`192.0.2.${i}`)
  assert.equal(gate.sources, 3)
  assert.equal(gate.counts.evicted, 96, 'every source pushed out is counted')
  // Forgotten, so it starts again with a full bucket (the price of a bounded table).
  assert.equal(gate.check('192.0.2.1').action, 'pass')
})

test('offenders are logged one line each, at most 10 a minute, the rest counted', () => {
  const clock = new ManualClock(0)
  const logger = recordingLogger()
  const gate = new FloodControl({ rate: 1, burst: 1, sources: 1000 }, { clock, logger })
  for (let i = 0; i < 50; i++) {
    gate.check(`10.0.0.${i}`)
    gate.check(`10.0.0.${i}`) // warned
    gate.check(`10.0.0.${i}`) // dropped: no line
  }
  assert.equal(logger.lines.length, 10)
  assert.equal(logger.lines[0]?.fields.event, 'flood_offender')
  clock.advance(60_000)
  gate.check('10.0.1.1')
  gate.check('10.0.1.1')
  assert.equal(logger.lines.length, 11)
  assert.equal(logger.lines[10]?.fields.suppressed, 40)
})

test('counters are named for the stats table', () => {
  const gate = new FloodControl({ rate: 1, burst: 1, sources: 10 }, { clock: new ManualClock() })
  gate.check('192.0.2.1')
  gate.check('192.0.2.1')
  gate.check('192.0.2.1')
  assert.deepEqual(gate.counters(), [
    { name: 'flood_passed', value: 1 },
    { name: 'flood_warned', value: 1 },
    { name: 'flood_dropped', value: 1 },
    { name: 'flood_released', value: 0 },
    { name: 'flood_sources', value: 1 },
  ])
})

test('rate 0 turns flood control off; numbers that are not numbers are a TypeError', () => {
  assert.equal(createFloodGate({ rate: 0, burst: 1, sources: 1 }), openFloodGate)
  // Config values are checked by the option table (flood.*); these are programmer mistakes.
  for (const [options, re] of [
    [{ rate: -1, burst: 1, sources: 1 }, /rate/],
    [{ rate: NaN, burst: 1, sources: 1 }, /rate/],
    [{ rate: 1, burst: 0, sources: 1 }, /burst/],
    [{ rate: 1, burst: 1, sources: Infinity }, /sources/],
  ] as const) {
    assert.throws(() => new FloodControl(options), { name: 'TypeError', message: re })
  }
})
