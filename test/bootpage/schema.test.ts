import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type BootpageDocument,
  BootpageLimits,
  formatBootpage,
  isValidHost,
  parseBootpage,
  validateDocument,
} from '../../src/bootpage/schema.js'
import { isTrackerError } from '../../src/errors.js'
import { makePage } from '../helpers/bootpage.js'

const codeIs = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code

/** A deep copy of a valid document with one change applied. */
function mutate(change: (doc: BootpageDocument) => unknown): unknown {
  const doc = JSON.parse(JSON.stringify(makePage())) as BootpageDocument
  change(doc)
  return doc
}

/** Write any value, well-typed or not (the point of these cases). */
const set = (obj: object, key: string, value: unknown): boolean => Reflect.set(obj, key, value)

test('a valid document parses, and formatBootpage round-trips it', () => {
  const doc = makePage()
  const text = formatBootpage(doc)
  assert.ok(text.endsWith('}\n'))
  assert.deepEqual(parseBootpage(text), doc)
  assert.deepEqual(parseBootpage(new TextEncoder().encode(text)), doc)
})

test('every field is checked: each bad document names the field', () => {
  const long = (n: number) => 'x'.repeat(n + 1)
  const cases: [string, (d: BootpageDocument) => unknown, RegExp][] = [
    ['unknown top-level key', d => set(d, 'extra', 1), /Unrecognized key/],
    ['unknown page key', d => set(d.page, 'comment', 'x'), /Unrecognized key/],
    ['unknown tracker key', d => set(d.page.trackers[0]!, 'port', 1), /Unrecognized key/],
    ['version 2', d => set(d.page, 'version', 2), /page\.version/],
    ['bad network', d => set(d.page, 'network', 'Demo Net'), /page\.network/],
    ['sequence 0', d => set(d.page, 'sequence', 0), /page\.sequence/],
    ['fractional sequence', d => set(d.page, 'sequence', 1.5), /page\.sequence/],
    ['sequence as string', d => set(d.page, 'sequence', '1'), /page\.sequence/],
    ['negative time', d => set(d.page, 'issuedAt', -1), /page\.issuedAt/],
    ['time beyond u32', d => set(d.page, 'validUntil', 2 ** 32), /page\.validUntil/],
    ['validUntil before issuedAt', d => set(d.page, 'validUntil', d.page.issuedAt), /validUntil/],
    ['threshold 0', d => set(d.page, 'threshold', 0), /page\.threshold/],
    ['threshold above n', d => set(d.page, 'threshold', 4), /threshold exceeds/],
    ['no operators', d => set(d.page, 'operators', []), /page\.operators/],
    [
      'operator key twice',
      d => set(d.page.operators[1]!, 'key', d.page.operators[0]!.key),
      /twice/,
    ],
    [
      'uppercase key',
      d => (d.page.operators[0]!.key = d.page.operators[0]!.key.toUpperCase()),
      /hex/,
    ],
    ['short key', d => set(d.page.operators[0]!, 'key', 'ab'), /hex/],
    ['no trackers', d => set(d.page, 'trackers', []), /page\.trackers/],
    ['tracker name twice', d => set(d.page.trackers[1]!, 'name', 'alpha'), /twice/],
    ['name too long', d => set(d.page.trackers[0]!, 'name', long(BootpageLimits.NAME_MAX)), /name/],
    ['empty name', d => set(d.page.trackers[0]!, 'name', ''), /name/],
    [
      'contact too long',
      d => (d.page.trackers[0]!.contact = long(BootpageLimits.CONTACT_MAX)),
      /contact/,
    ],
    [
      'location too long',
      d => (d.page.trackers[0]!.location = long(BootpageLimits.LOCATION_MAX)),
      /location/,
    ],
    [
      'notes too long',
      d => set(d.page.trackers[0]!, 'notes', long(BootpageLimits.NOTES_MAX)),
      /notes/,
    ],
    [
      'operator too long',
      d => (d.page.trackers[0]!.operator = long(BootpageLimits.OPERATOR_MAX)),
      /operator/,
    ],
    ['control character', d => set(d.page.trackers[0]!, 'name', 'a\nb'), /control/],
    ['bidi override', d => set(d.page.trackers[0]!, 'location', 'abc\u202edcba'), /bidi/],
    ['lone surrogate', d => set(d.page.trackers[0]!, 'notes', 'x\ud800'), /surrogate/],
    ['port 0', d => set(d.page.trackers[0]!, 'udp', 0), /udp/],
    ['port 65536', d => set(d.page.trackers[0]!, 'tcp', 65536), /tcp/],
    ['no udp or tcp', d => set(d.page.trackers[2]!, 'tcp', undefined), /udp or a tcp/],
    ['bad host', d => set(d.page.trackers[0]!, 'host', 'bad host'), /host/],
    ['null field', d => set(d.page.trackers[0]!, 'http', null), /http/],
    [
      'too many trackers',
      d =>
        (d.page.trackers = Array.from({ length: 65 }, (_x, i) => ({
          name: `t${i}`,
          operator: 'o',
          host: 'a.example',
          udp: 1,
        }))),
      /trackers/,
    ],
    ['signature too short', d => set(d.signatures[0]!, 'signature', 'ab'), /signature/],
    ['a key signed twice', d => d.signatures.push({ ...d.signatures[0]! }), /signed twice/],
    ['signatures not an array', d => set(d, 'signatures', {}), /signatures/],
    ['page missing', d => Reflect.deleteProperty(d, 'page'), /page/],
  ]
  for (const [name, change, pattern] of cases) {
    assert.throws(
      () => validateDocument(mutate(change)),
      (err: unknown) => {
        assert.ok(isTrackerError(err), name)
        assert.equal(err.code, 'BOOTPAGE_BAD_SHAPE', name)
        assert.match(err.message, pattern, `${name}: ${err.message}`)
        assert.ok(err.message.length < 400, name)
        return true
      },
      name,
    )
  }
})

test('hosts: lowercase DNS names and IP literals only', () => {
  for (const ok of [
    'tracker.example.org',
    'a',
    '127.0.0.1',
    '::1',
    '2001:db8::7',
    'xn--bcher-kva.example',
  ])
    assert.ok(isValidHost(ok), ok)
  for (const bad of [
    '',
    'Tracker.example',
    'a..b',
    '-a.example',
    '1.2.3',
    '256.1.1.1',
    '[::1]',
    'a b',
    'a/b',
    'x'.repeat(254),
    ':::',
  ])
    assert.ok(!isValidHost(bad), bad)
})

test('size cap, UTF-8 and JSON syntax are coded errors', () => {
  const big = ' '.repeat(BootpageLimits.MAX_BYTES) + '{}'
  assert.throws(() => parseBootpage(big), codeIs('BOOTPAGE_TOO_LARGE'))
  assert.throws(
    () => parseBootpage(new Uint8Array(BootpageLimits.MAX_BYTES + 1)),
    codeIs('BOOTPAGE_TOO_LARGE'),
  )
  assert.throws(
    () => parseBootpage(new Uint8Array([0x7b, 0xff, 0x7d])),
    codeIs('BOOTPAGE_BAD_JSON'),
  )
  const bom = new Uint8Array([
    0xef,
    0xbb,
    0xbf,
    ...new TextEncoder().encode(formatBootpage(makePage())),
  ])
  assert.throws(() => parseBootpage(bom), codeIs('BOOTPAGE_BAD_JSON'))
  assert.throws(() => parseBootpage('{"page":'), codeIs('BOOTPAGE_BAD_JSON'))
  assert.throws(() => parseBootpage('[1]'), codeIs('BOOTPAGE_BAD_SHAPE'))
  assert.throws(() => parseBootpage('"x"'), codeIs('BOOTPAGE_BAD_SHAPE'))
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  assert.throws(
    () => parseBootpage(deep),
    (err: unknown) => isTrackerError(err) && err.code.startsWith('BOOTPAGE_'),
  )
})

const onlyBootpageErrors = (input: string | Uint8Array) => {
  try {
    parseBootpage(input)
  } catch (err) {
    assert.ok(isTrackerError(err) && err.code.startsWith('BOOTPAGE_'), String(err))
  }
}

test('property: hostile bytes and JSON only ever give BOOTPAGE_* errors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), onlyBootpageErrors), { numRuns: 300 })
  fc.assert(fc.property(fc.json({ maxDepth: 6 }), onlyBootpageErrors), { numRuns: 300 })
  // Valid documents with one leaf replaced by an arbitrary JSON value.
  const valid = JSON.parse(JSON.stringify(makePage())) as unknown
  const paths: (string | number)[][] = []
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path)
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, [...path, i])
      })
    } else if (typeof v === 'object' && v !== null)
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
  }
  walk(valid, [])
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: paths.length - 1 }),
      fc.jsonValue({ maxDepth: 3 }),
      (i, replacement) => {
        const doc = JSON.parse(JSON.stringify(valid)) as Record<string | number, unknown>
        const path = paths[i]!
        let at: Record<string | number, unknown> = doc
        for (const p of path.slice(0, -1)) at = at[p] as Record<string | number, unknown>
        at[path.at(-1)!] = replacement
        onlyBootpageErrors(JSON.stringify(doc))
      },
    ),
    { numRuns: 500 },
  )
})
