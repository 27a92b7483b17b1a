import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compareNames, roomOf } from '../../src/wire/collate.js'

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

test('§8.5: names compare by code point, which is UTF-8 byte order, with no case folding', () => {
  const sorted = ['', 'B', 'Z', 'a', 'ab', 'b', 'é', '\u{e000}', '\u{ffff}', '😀', '😁']
  const shuffled = [...sorted].reverse()
  assert.deepEqual(shuffled.sort(compareNames), sorted)
  // JavaScript's own string order puts an astral character before U+E000–U+FFFF.
  const [astral, bmp] = ['😀', '\u{e000}'] as string[]
  assert.ok(astral !== undefined && bmp !== undefined && astral < bmp)
  assert.ok(compareNames('😀', '\u{e000}') > 0)
  assert.equal(compareNames('same', 'same'), 0)
})

test('property: compareNames agrees with UTF-8 byte comparison', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      assert.equal(Math.sign(compareNames(a, b)), Math.sign(Buffer.compare(utf8(a), utf8(b))))
    }),
    { numRuns: 2000 },
  )
})

test('§8.5: room is never negative', () => {
  assert.equal(roomOf(3, 16), 13)
  assert.equal(roomOf(16, 16), 0)
  assert.equal(roomOf(20, 16), 0)
})
