import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WireError } from '../../src/errors.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/framing.js'

test('frames split at every possible boundary come back whole', () => {
  const a = Uint8Array.of(1, 2, 3)
  const b = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
  const stream = Uint8Array.from([...encodeFrame(a), ...encodeFrame(b)])
  for (let cut = 0; cut <= stream.byteLength; cut++) {
    const d = new FrameDecoder(1024)
    const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))]
    assert.deepEqual(
      frames.map(f => Array.from(f)),
      [Array.from(a), Array.from(b)],
      `cut ${cut}`,
    )
    assert.equal(d.buffered, 0)
  }
})

test('byte-at-a-time feeding works', () => {
  const d = new FrameDecoder(64)
  const stream = encodeFrame(Uint8Array.of(9, 8, 7))
  const frames = Array.from(stream).flatMap(byte => d.push(Uint8Array.of(byte)))
  assert.deepEqual(
    frames.map(f => Array.from(f)),
    [[9, 8, 7]],
  )
})

test('a zero or oversize length is refused before buffering the body', () => {
  // §10: the zero-length frame has its own name, WIRE_FRAME_EMPTY.
  assert.throws(() => new FrameDecoder(64).push(Uint8Array.of(0, 0, 0, 0)), {
    code: 'WIRE_FRAME_EMPTY',
  })
  // Refused as soon as the header is in, even with body bytes after it.
  assert.throws(() => new FrameDecoder(64).push(Uint8Array.of(0, 0, 0, 0, 0x10, 1, 2)), {
    code: 'WIRE_FRAME_EMPTY',
  })
  assert.throws(
    () => new FrameDecoder(64).push(Uint8Array.of(0, 0, 0, 65)),
    (e: unknown) => e instanceof WireError && e.code === 'WIRE_FRAME_TOO_LARGE',
  )
  assert.throws(() => encodeFrame(new Uint8Array(0)), { code: 'WIRE_FRAME_EMPTY' })
  assert.throws(() => encodeFrame(new Uint8Array(262_145)), { code: 'WIRE_FRAME_TOO_LARGE' })
})
