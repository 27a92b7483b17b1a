import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { endpointFrom, formatIp, parseIp, parseIPv6 } from '../../src/wire/endpoint.js'
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
