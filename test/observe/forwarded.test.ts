import assert from 'node:assert/strict'
import { test } from 'node:test'
import { canonicalIp, clientAddress } from '../../src/observe/forwarded.js'

const trusted = (list: string[]) => (a: string) => list.includes(a)

test('canonicalIp: literal addresses only, IPv4-mapped as IPv4', () => {
  assert.equal(canonicalIp('127.0.0.1'), '127.0.0.1')
  assert.equal(canonicalIp('::ffff:127.0.0.1'), '127.0.0.1')
  assert.equal(canonicalIp('2001:DB8::0:1'), '2001:db8::1')
  for (const bad of ['', 'localhost', '127.0.0.1:80', '[::1]', 'fe80::1%eth0', '1.2.3'])
    assert.equal(canonicalIp(bad), null, bad)
})

test('clientAddress: the header counts only from a trusted peer, read from the right', () => {
  const proxies = trusted(['127.0.0.2', '::1'])
  assert.equal(clientAddress('127.0.0.1', '127.0.0.9', proxies), '127.0.0.1')
  assert.equal(clientAddress('127.0.0.2', undefined, proxies), '127.0.0.2')
  assert.equal(clientAddress('127.0.0.2', '127.0.0.5, 127.0.0.9', proxies), '127.0.0.9')
  assert.equal(clientAddress('127.0.0.2', '127.0.0.5,::1', proxies), '127.0.0.5')
  assert.equal(clientAddress('::1', ['2001:db8::7', '127.0.0.2'], proxies), '2001:db8::7')
  // Every hop trusted: the left-most one.
  assert.equal(clientAddress('127.0.0.2', '::1', proxies), '::1')
  // Junk stops the walk at the nearest trusted hop.
  assert.equal(clientAddress('127.0.0.2', '127.0.0.5, junk', proxies), '127.0.0.2')
  assert.equal(clientAddress('127.0.0.2', '127.0.0.5, junk, ::1', proxies), '::1')
  assert.equal(clientAddress('127.0.0.2', '', proxies), '127.0.0.2')
})
