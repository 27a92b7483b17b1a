// Where a tracker may send a challenge (docs/protocol.md §9.5, item 1): loopback only for a
// loopback tracker; global unicast only otherwise, special ranges only when allowed, never the
// tracker's own addresses. Pure: nothing is sent.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { challengeScope } from '../../src/tracker/challenge-scope.js'

test('a loopback tracker: loopback only, whatever challengeAllow says', () => {
  const s = challengeScope(['127.0.0.1', '::1'], ['10.0.0.0/8'])
  assert.equal(s.kind, 'loopback')
  for (const ip of ['127.0.0.2', '::1']) assert.ok(s.allows(ip), ip)
  for (const ip of ['10.0.0.1', '8.8.8.8', '2001:4860::1']) assert.ok(!s.allows(ip), ip)
})

test('a public tracker: global unicast only; special, NAT64, 6to4 and its own addresses never', () => {
  const s = challengeScope(['198.51.100.7'], [])
  assert.equal(s.kind, 'global')
  for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '2a00:1450::1']) {
    assert.ok(s.allows(ip), ip)
  }
  for (const ip of [
    '198.51.100.7', // its own (and documentation)
    '127.0.0.1',
    '10.0.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.1.1',
    '224.0.0.1',
    '255.255.255.255',
    '0.0.0.0',
    '192.0.2.1',
    '::',
    '::1',
    '::a00:1',
    '64:ff9b::a00:1',
    '64:ff9b::808:808',
    '64:ff9b:1::a00:1',
    '2002:a00:1::1',
    '2001::1',
    '2001:db8::1',
    'fc00::1',
    'fe80::1',
    'fec0::1',
    'ff02::1',
    '4000::1',
    '5f00::1',
  ]) {
    assert.ok(!s.allows(ip), ip)
  }
})

test('challengeAllow opens a special range; a wildcard tracker never challenges its own interfaces', () => {
  const lan = challengeScope(['0.0.0.0'], ['10.0.0.0/8', '127.0.0.0/8'])
  assert.ok(lan.allows('10.1.2.3'))
  assert.ok(!lan.allows('127.0.0.1'), 'an address of this host, allowed range or not')
  assert.ok(lan.allows('127.0.0.2'))
})
