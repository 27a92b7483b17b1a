// A checkpointed proof put back on a restored entry (ClientTable#insertTrusted's proof, proof.ts
// restoreProof): only fresh, only of endpoints the record has.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ClientTable } from '../../src/table/client-table.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { T0, fakeRecord } from '../helpers/records.js'

const v4 = (address: string, port: number): Endpoint => ({ family: 4, address, port })
const v6 = (address: string, port: number): Endpoint => ({ family: 6, address, port })
const HOUR = 3600

function table(): { t: ClientTable; clock: ManualClock } {
  const clock = new ManualClock(T0 * 1000)
  const t = new ClientTable({
    maxEntries: 1000,
    maxBytes: 10_000_000,
    maxTtl: HOUR,
    perBlockMax: 1000,
    listUnproven: false,
    clock,
  })
  return { t, clock }
}

const observed = v4('127.0.0.1', 5000)
const now = (t: ClientTable): number => t.nowSeconds()

test('a fresh saved proof is put back: listed at once, re-check schedule kept from its time', () => {
  const { t, clock } = table()
  const rec = fakeRecord(1, { expiresAt: T0 + HOUR })
  const at = now(t) - 60
  assert.ok(t.insertTrusted(rec, observed, clock.now(), { mask: 1, at, maxAge: 900 }))
  const e = t.peek(t.refs()[0]!.key)!
  assert.equal(t.provenOf(e, now(t)), 1)
  assert.ok(t.shown(e, now(t)), 'listed without a new announce')
  assert.equal(e.provenAt, at)
  assert.equal(e.chAt, at, 'the next re-check is due from the proof time, not from now')
})

test('a proof at or past the bound, from the future or of time 0 is not put back', () => {
  for (const at of [T0 - 900, T0 - 5000, T0 + 1, 0]) {
    const { t, clock } = table()
    const rec = fakeRecord(1, { expiresAt: T0 + HOUR })
    assert.ok(t.insertTrusted(rec, observed, clock.now(), { mask: 1, at, maxAge: 900 }))
    const e = t.peek(t.refs()[0]!.key)!
    assert.equal(e.proven, 0, `proof at ${at - T0} s`)
    assert.equal(t.shown(e, now(t)), false)
  }
})

test('a tampered or foreign mask proves no endpoint the record does not have', () => {
  const { t, clock } = table()
  // Endpoint 0 resolves (IPv4 unspecified, observed IPv4); endpoint 1 (IPv6 unspecified) cannot.
  const endpoints = [v4('0.0.0.0', 4000), v6('::', 4000)]
  const rec = fakeRecord(1, { expiresAt: T0 + HOUR, endpoints })
  assert.ok(t.insertTrusted(rec, observed, clock.now(), { mask: 0xfe, at: T0 - 1, maxAge: 900 }))
  const e = t.peek(t.refs()[0]!.key)!
  assert.equal(e.want, 1)
  assert.equal(e.proven, 0, 'bits 1..7: endpoints it has not or cannot prove')
  assert.equal(t.shown(e, now(t)), false)

  const other = fakeRecord(2, { expiresAt: T0 + HOUR })
  assert.ok(t.insertTrusted(other, observed, clock.now(), { mask: 0xff, at: T0 - 1, maxAge: 900 }))
  const o = t.peek(t.refs()[1]!.key)!
  assert.equal(o.proven, 1, 'only the one endpoint of a record naming none (the observed one)')
})
