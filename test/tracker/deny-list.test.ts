import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { signRecord } from '../../src/crypto/record-sign.js'
import { isTrackerError } from '../../src/errors.js'
import { loadDenyList } from '../../src/ops/deny-list.js'
import { DenyList, entryDenied, parseDenyList } from '../../src/tracker/deny-list.js'
import { formatIp } from '../../src/wire/endpoint.js'
import { ManualClock } from '../../src/clock.js'
import { recordingLogger } from '../helpers/ops.js'
import { testKey } from '../helpers/keys.js'

const KEY_A = 'ab'.repeat(32)
const SAMPLE = `# operator deny list
${KEY_A}
${'CD'.repeat(32)}   # upper case is fine
192.0.2.7
198.51.100.0/24
10.0.0.0/8
2001:db8:bad::/48
2001:db8::1
::ffff:203.0.113.5

`

test('parses keys, addresses and blocks with comments and blank lines', () => {
  const rules = parseDenyList(SAMPLE, 'deny.txt')
  assert.equal(rules.keys.size, 2)
  assert.equal(rules.addresses, 6)
})

test('denies the listed keys and nothing else', () => {
  const list = new DenyList(parseDenyList(SAMPLE))
  assert.equal(list.deniesKey(new Uint8Array(32).fill(0xab)), true)
  assert.equal(list.deniesKey(new Uint8Array(32).fill(0xcd)), true)
  assert.equal(list.deniesKey(new Uint8Array(32).fill(0xac)), false)
})

test('denies listed addresses and every address inside a listed block', () => {
  const list = new DenyList(parseDenyList(SAMPLE))
  const denied = [
    '192.0.2.7',
    '198.51.100.0',
    '198.51.100.255',
    '10.255.1.2',
    '2001:db8:bad::1',
    '2001:db8:bad:ffff:ffff:ffff:ffff:ffff',
    '2001:db8::1',
    '203.0.113.5',
    '::ffff:192.0.2.7',
    '::ffff:10.1.1.1',
  ]
  const allowed = [
    '192.0.2.8',
    '198.51.101.0',
    '11.0.0.0',
    '9.255.255.255',
    '2001:db8:bae::1',
    '2001:db8::2',
    '::1',
    'not an ip',
  ]
  for (const ip of denied) assert.equal(list.deniesAddress(ip), true, ip)
  for (const ip of allowed) assert.equal(list.deniesAddress(ip), false, ip)
})

test('block matching agrees with a bit-by-bit reference (IPv4 and IPv6)', () => {
  const bit = (b: Uint8Array, i: number): number => ((b[i >> 3] ?? 0) >> (7 - (i & 7))) & 1
  const inBlock = (a: Uint8Array, net: Uint8Array, len: number): boolean => {
    for (let i = 0; i < len; i++) if (bit(a, i) !== bit(net, i)) return false
    return true
  }
  /** Byte i of a /len mask. */
  const keep = (i: number, len: number): number =>
    (0xff << (8 - Math.max(0, Math.min(8, len - i * 8)))) & 0xff
  for (const size of [4, 16]) {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: size, maxLength: size }),
        fc.uint8Array({ minLength: size, maxLength: size }),
        fc.integer({ min: 0, max: size * 8 }),
        fc.boolean(),
        (addrRaw, netRaw, len, inside) => {
          // IPv6 samples stay out of ::ffff:0:0/96, which counts as IPv4.
          if (size === 16) {
            addrRaw[0] = (addrRaw[0] ?? 0) | 0x20
            netRaw[0] = (netRaw[0] ?? 0) | 0x20
          }
          const net = netRaw.map((b, i) => b & keep(i, len))
          // Half the cases take the prefix from the block, so they must be denied.
          const a = inside
            ? addrRaw.map((b, i) => ((net[i] ?? 0) & keep(i, len)) | (b & ~keep(i, len) & 0xff))
            : addrRaw
          const list = new DenyList(parseDenyList(`${formatIp(net)}/${len}`))
          const expected = inBlock(a, net, len)
          if (inside) assert.equal(expected, true)
          assert.equal(list.deniesAddress(formatIp(a)), expected)
        },
      ),
      { numRuns: 500 },
    )
  }
})

test('a bad line is refused with its line number and the text', () => {
  const cases: [string, RegExp][] = [
    ['192.0.2.1\nexample.com\n', /^deny\.txt:2: not a key, IP or CIDR: "example.com"$/],
    ['# c\n\n10.0.0.0/33\n', /^deny\.txt:3: .*prefix length must be 0-32.*"10.0.0.0\/33"$/],
    ['10.1.2.3/8', /^deny\.txt:1: host bits set after \/8: "10.1.2.3\/8"$/],
    [`${KEY_A}0`, /^deny\.txt:1: not a key, IP or CIDR/],
    ['192.0.2.1 192.0.2.2', /^deny\.txt:1: not a key/],
    ['2001:db8::/129', /prefix length must be 0-128/],
    ['10.0.0.0/08', /prefix length/],
  ]
  for (const [text, re] of cases) {
    assert.throws(
      () => parseDenyList(text, 'deny.txt'),
      (err: unknown) => isTrackerError(err) && err.code === 'DENY_BAD_LINE' && re.test(err.message),
      text,
    )
  }
})

test('loadDenyList reads a file; a missing file is DENY_READ_FAILED naming it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-deny-'))
  const path = join(dir, 'deny.txt')
  writeFileSync(path, SAMPLE)
  const rules = await loadDenyList(path)
  assert.equal(rules.keys.size, 2)
  await assert.rejects(loadDenyList(join(dir, 'nope.txt')), (err: unknown) => {
    assert.ok(isTrackerError(err) && err.code === 'DENY_READ_FAILED')
    assert.match(err.message, /nope\.txt: ENOENT/)
    return true
  })
  writeFileSync(path, '192.0.2.1\nbogus\n')
  await assert.rejects(loadDenyList(path), new RegExp(`${path}:2: not a key`))
})

test('replace() swaps the whole list at once', () => {
  const list = new DenyList()
  assert.equal(list.deniesAddress('192.0.2.7'), false)
  list.replace(parseDenyList('192.0.2.0/24'))
  assert.equal(list.deniesAddress('192.0.2.7'), true)
  list.replace(parseDenyList(''))
  assert.equal(list.deniesAddress('192.0.2.7'), false)
})

test('entryDenied matches a held entry by its key or by the address it came from', () => {
  const key = testKey(7)
  const signed = signRecord(
    {
      network: 'test',
      publicKey: key.publicKey,
      seq: 1,
      issuedAt: 1_800_000_000,
      expiresAt: 1_800_000_600,
      kind: 'peer',
      endpoints: [],
      server: null,
    },
    key.privateKey,
  )
  const entry = { record: signed.bytes, observed: { address: '192.0.2.9' } }
  const hexKey = Buffer.from(key.publicKey).toString('hex')
  assert.equal(entryDenied(new DenyList(parseDenyList('')), entry), false)
  assert.equal(entryDenied(new DenyList(parseDenyList(hexKey)), entry), true)
  assert.equal(entryDenied(new DenyList(parseDenyList('192.0.2.0/28')), entry), true)
  assert.equal(entryDenied(new DenyList(parseDenyList('192.0.2.16/28')), entry), false)
})

test('hits are counted and logged, at most ten lines a minute; the quiet view does neither', () => {
  const logger = recordingLogger()
  const clock = new ManualClock(0)
  const list = new DenyList(parseDenyList(`192.0.2.0/24\n${KEY_A}`), { logger, clock })
  for (let i = 0; i < 30; i++) list.deniesAddress(`192.0.2.${i}`)
  assert.equal(list.deniesKey(new Uint8Array(32).fill(0xab)), true)
  assert.equal(list.counts.addressHits, 30)
  assert.equal(list.counts.keyHits, 1)
  assert.equal(logger.lines.length, 10)
  assert.deepEqual(logger.lines[0]?.fields, { event: 'deny_hit', address: '192.0.2.0' })
  clock.advance(60_000)
  list.deniesKey(new Uint8Array(32).fill(0xab))
  assert.deepEqual(logger.lines[10]?.fields, { event: 'deny_hit', key: KEY_A, suppressed: 21 })
  assert.equal(list.quiet.deniesAddress('192.0.2.1'), true)
  assert.equal(list.counts.addressHits, 30)
  assert.equal(logger.lines.length, 11)
})
