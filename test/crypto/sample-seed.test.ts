import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { ip16From } from '../../src/crypto/cookie.js'
import { type SampleSeedInput, deriveSampleKey, sampleSeed } from '../../src/crypto/sample-seed.js'
import { parseIp } from '../../src/wire/endpoint.js'

const key = deriveSampleKey(new Uint8Array(32).fill(7))
const ip16 = (address: string): Uint8Array => ip16From(parseIp(address)!)
const base: Omit<SampleSeedInput, 'ip16' | 'family'> = {
  window: 1234,
  kind: 'server',
  count: 20,
  network: 'quake.example',
}

test('sampleSeed is HMAC(sampleKey, asker[16] || u48 window || kind || count || network)', () => {
  const asker = ip16('192.0.2.7')
  const head = Buffer.alloc(26)
  head.set(asker, 0)
  head.writeUIntBE(1234, 16, 6)
  head[24] = 1
  head[25] = 20
  const expected = createHmac('sha256', key).update(head).update('quake.example').digest()
  assert.deepEqual(sampleSeed(key, { ip16: asker, family: 4, ...base }), expected)
  assert.deepEqual(
    deriveSampleKey(new Uint8Array(32).fill(7)),
    createHmac('sha256', new Uint8Array(32).fill(7)).update('metatracker/v1/sample-seed').digest(),
  )
})

test('sampleSeed: an IPv6 asker is its /64; every other input changes the seed', () => {
  const seed = (address: string, o: Partial<typeof base> = {}): string =>
    Buffer.from(
      sampleSeed(key, {
        ip16: ip16(address),
        family: address.includes(':') ? 6 : 4,
        ...base,
        ...o,
      }),
    ).toString('hex')
  assert.equal(seed('2001:db8:1:2::1'), seed('2001:db8:1:2:ffff::9'))
  assert.notEqual(seed('2001:db8:1:2::1'), seed('2001:db8:1:3::1'))
  assert.notEqual(seed('192.0.2.7'), seed('192.0.2.8'))
  const one = seed('192.0.2.7')
  const changes: Partial<SampleSeedInput>[] = [
    { window: 1235 },
    { kind: 'peer' },
    { count: 21 },
    { network: 'x' },
  ]
  for (const o of changes) {
    assert.notEqual(seed('192.0.2.7', o), one, JSON.stringify(o))
  }
})
