import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_LISTING_OPTIONS, ListingSource } from '../../src/observe/listing-listener.js'
import { REUSE_MAX_MS, reuseMs, timed } from '../../src/observe/reuse.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

test('reuseMs: at least the minimum, 20x the cost, at most a minute', () => {
  assert.equal(reuseMs(1000, 0.3), 1000)
  assert.equal(reuseMs(1000, 100), 2000)
  assert.equal(reuseMs(1000, 10_000), REUSE_MAX_MS)
  const { value, costMs } = timed(() => 42)
  assert.equal(value, 42)
  assert.ok(costMs >= 0)
})

test('a listing is rendered once for many connections, then again once its time is up', async () => {
  const v = new FakeView()
  v.add(serverEntry(v.clock, 1, { name: 'first' }))
  const src = new ListingSource(v, { port: 0, kind: 'text' }, DEFAULT_LISTING_OPTIONS)
  const a = await src.output()
  v.add(serverEntry(v.clock, 2, { name: 'second' }))
  v.clock.advance(500)
  assert.equal(await src.output(), a, 'the same buffer within the reuse time')
  v.clock.advance(REUSE_MAX_MS)
  const b = await src.output()
  assert.notEqual(b, a)
  assert.match(b.toString(), /second/)
})
