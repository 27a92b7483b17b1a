import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  endpointFrom,
  formatIp,
  parseIp,
  parseIPv6,
  readEndpoint,
  writeEndpoint,
} from '../../src/wire/endpoint.js'
import { Reader } from '../../src/wire/reader.js'
import { Writer } from '../../src/wire/writer.js'
import { hex } from '../helpers/plain.js'

test('IPv6 text is formatted per RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ]
  for (const [input, want] of cases) assert.equal(formatIp(parseIp(input)!), want, input)
})

test('bad addresses parse to null', () => {
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1:2',
    ':::',
    '1::2::3',
    'g::1',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
  ])
    assert.equal(parseIp(bad), null, bad)
})

test('property: format(parse(format(bytes))) is stable for IPv6', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), b => {
      const text = formatIp(b)
      assert.equal(hex(parseIPv6(text)!), hex(b))
    }),
  )
})

test('socket addresses normalise (IPv4-mapped becomes IPv4, zone ids dropped)', () => {
  assert.deepEqual(endpointFrom('::ffff:127.0.0.1', 5), {
    family: 4,
    address: '127.0.0.1',
    port: 5,
  })
  assert.deepEqual(endpointFrom('::1', 6), { family: 6, address: '::1', port: 6 })
  assert.deepEqual(endpointFrom('fe80::1%eth0', 7), { family: 6, address: 'fe80::1', port: 7 })
  assert.equal(endpointFrom('nonsense', 1), null)
  assert.equal(endpointFrom('1.2.3.4', 70000), null)
})

test('§4: IPv4-mapped socket addresses normalise to IPv4 in either text form', () => {
  for (const text of [
    '::ffff:192.0.2.1',
    '::FFFF:192.0.2.1',
    '::ffff:c000:201',
    '0:0:0:0:0:ffff:c000:201',
  ]) {
    assert.deepEqual(endpointFrom(text, 9), { family: 4, address: '192.0.2.1', port: 9 }, text)
  }
  // Neighbours of the mapped prefix stay IPv6.
  assert.equal(endpointFrom('::fffe:c000:201', 9)?.family, 6)
  assert.equal(endpointFrom('1::ffff:c000:201', 9)?.family, 6)
  assert.equal(endpointFrom('::c000:201', 9)?.family, 6)
})

test('§4: a family-6 endpoint holding an IPv4-mapped address is refused both ways', () => {
  const mapped = { family: 6 as const, address: '::ffff:192.0.2.1', port: 9 }
  assert.throws(
    () => {
      writeEndpoint(new Writer(32), mapped, 'ep')
    },
    { code: 'WIRE_BAD_ENDPOINT' },
  )
  const bytes = Uint8Array.of(6, ...parseIPv6('::ffff:192.0.2.1')!, 0, 9)
  assert.throws(() => readEndpoint(new Reader(bytes), 'ep'), { code: 'WIRE_BAD_ENDPOINT' })
  // The same address as family 4 is the one encoding.
  const w = new Writer(32)
  writeEndpoint(w, { family: 4, address: '192.0.2.1', port: 9 }, 'ep')
  assert.deepEqual(readEndpoint(new Reader(w.finish()), 'ep'), {
    family: 4,
    address: '192.0.2.1',
    port: 9,
  })
  // Other IPv6 addresses with an embedded IPv4 tail are not mapped: they pass.
  const compat = Uint8Array.of(6, ...parseIPv6('64:ff9b::192.0.2.1')!, 0, 9)
  assert.equal(readEndpoint(new Reader(compat), 'ep').address, '64:ff9b::c000:201')
})
