// The per-entry proof state of src/table/proof.ts (docs/protocol.md §9.1, §9.5): which endpoints
// an entry has, which are proven, how a round times out, what a higher seq keeps, and the four
// masks packed in one integer on the entry.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { ClientTable } from '../../src/table/client-table.js'
import type { Entry } from '../../src/table/entry.js'
import {
  carryProofs,
  markProven,
  maskOf,
  provableMask,
  provenMask,
  resolveEndpoints,
  settle,
} from '../../src/table/proof.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { fakeRecord } from '../helpers/records.js'

const T0 = 1_800_000_000
const v4 = (address: string, port: number): Endpoint => ({ family: 4, address, port })

function entry(endpoints: Endpoint[], observed = v4('127.0.0.1', 5000)): Entry {
  const table = new ClientTable({
    maxEntries: 10,
    maxBytes: 1_000_000,
    maxTtl: 3600,
    perBlockMax: 10,
    clock: new ManualClock(T0 * 1000),
  })
  const e = table.insert(fakeRecord(1, { endpoints, expiresAt: T0 + 3600 }), observed)
  assert.ok(e !== undefined)
  return e
}

test('the entry endpoints: unspecified addresses take the observed address of the same family only', () => {
  const observed = v4('127.0.0.1', 5000)
  const r = resolveEndpoints(
    [v4('0.0.0.0', 27960), { family: 6, address: '::', port: 27960 }, v4('127.0.0.2', 1)],
    observed,
  )
  assert.deepEqual(r, [v4('127.0.0.1', 27960), null, v4('127.0.0.2', 1)])
  assert.equal(provableMask(r), 0b101)
  assert.deepEqual(resolveEndpoints([], observed), [observed])
  assert.equal(maskOf(r, v4('127.0.0.1', 27960)), 0b001)
  assert.equal(maskOf(r, null), 0)
})

test('stored from UDP: the source proves the endpoints equal to it; obs remembers them', () => {
  const e = entry([v4('0.0.0.0', 5000), v4('127.0.0.2', 7)])
  assert.equal(e.want, 0b11)
  assert.equal(e.obs, 0b01)
  assert.equal(e.proven, 0, 'insert without provenBy proves nothing')
})

test('a round times out: pending endpoints lose their proof only once the timeout passed', () => {
  const e = entry([v4('127.0.0.2', 1), v4('127.0.0.3', 1)])
  markProven(e, 0b11, T0)
  e.chAt = T0 + 100
  e.pending = 0b10
  assert.equal(provenMask(e, T0 + 105, 10), 0b11, 'within the timeout: still proven')
  assert.equal(provenMask(e, T0 + 110, 10), 0b01)
  settle(e, T0 + 110, 10)
  assert.equal(e.proven, 0b01)
  assert.equal(e.pending, 0)
})

test('a higher seq keeps the proofs of the endpoints both records name; a new endpoint is due at once', () => {
  const old = [v4('127.0.0.2', 1), v4('127.0.0.3', 1)]
  const from = entry(old)
  markProven(from, 0b01, T0)
  from.chAt = T0
  const fromResolved = resolveEndpoints(old, from.observed)
  const swapped = [v4('127.0.0.3', 1), v4('127.0.0.2', 1)]
  const same = entry(swapped)
  const none = carryProofs(
    from,
    fromResolved,
    same,
    resolveEndpoints(swapped, same.observed),
    T0 + 1,
    10,
  )
  assert.equal(same.proven, 0b10, 'the proof follows the endpoint, not its position')
  assert.equal(same.chAt, T0, 'the round interval holds')
  assert.equal(none, 0, 'no endpoint named for the first time')
  const elsewhere = [v4('127.0.0.9', 1)]
  const moved = entry(elsewhere)
  const fresh = carryProofs(
    from,
    fromResolved,
    moved,
    resolveEndpoints(elsewhere, moved.observed),
    T0 + 1,
    10,
  )
  assert.equal(moved.proven, 0)
  assert.equal(fresh, 0b1, 'the new endpoint is due at once (the caller challenges only it)')
})

test('the four masks share one integer without disturbing each other', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom('want', 'obs', 'proven', 'pending'),
          fc.integer({ min: 0, max: 255 }),
        ),
        { maxLength: 40 },
      ),
      writes => {
        const e = entry([])
        const model: Record<string, number> = {
          want: e.want,
          obs: e.obs,
          proven: e.proven,
          pending: e.pending,
        }
        for (const [k, v] of writes) {
          if (k === 'want') e.want = v
          else if (k === 'obs') e.obs = v
          else if (k === 'proven') e.proven = v
          else e.pending = v
          model[k] = v
        }
        assert.deepEqual({ want: e.want, obs: e.obs, proven: e.proven, pending: e.pending }, model)
        assert.ok(Number.isInteger(e.pbits) && e.pbits >= -(2 ** 31) && e.pbits < 2 ** 31)
      },
    ),
  )
})
