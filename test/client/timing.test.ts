import assert from 'node:assert/strict'
import { test } from 'node:test'
import { backoffDelay, jittered } from '../../src/client/timing.js'

test('backoffDelay doubles from the base and stops at the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 100].map(n => backoffDelay(n, 5000, 60_000)),
    [0, 5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000],
  )
})

test('jittered stays within ±fraction and is exact without jitter', () => {
  assert.equal(
    jittered(1000, 0, () => 0.9),
    1000,
  )
  assert.equal(
    jittered(1000, 0.1, () => 0),
    900,
  )
  assert.equal(
    jittered(1000, 0.1, () => 0.5),
    1000,
  )
  assert.equal(
    jittered(1000, 0.1, () => 1),
    1100,
  )
  assert.equal(
    jittered(1000, 5, () => 0),
    0,
  )
})
