// Replays of older records after the newer one left the table (docs/protocol.md §8.3): an
// attacker who kept a node's old, still valid record announces it once the tracker evicted or
// expired the node's newer entry. Socket-free (test/helpers/handler.ts), injected clock.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Announce, Message } from '../../src/wire/messages.js'
import type { SignedRecord } from '../../src/wire/record.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord } from '../helpers/tracker.js'

const announce = (record: SignedRecord): Announce => ({
  type: 'announce',
  txid: 7,
  cookie: new Uint8Array(12),
  record,
})

function outcome(m: Message | null): string {
  if (m?.type === 'announce-reply') return m.status
  if (m?.type === 'error') return `error ${m.code}`
  return String(m?.type)
}

const STALE = `error ${WireErrorCode.STALE_SEQUENCE}`

/** A node (key 1) that announced seq 1 and then seq 2; records live a day. */
function setup(options: Parameters<typeof harness>[0]) {
  const h = harness({ maxTtl: 600, replayMemory: 1000, ...options })
  const k = testKey(1)
  const now = h.nowSeconds()
  const old = makeRecord(k.privateKey, k.publicKey, now, { seq: 1, expiresAt: now + 86_400 })
  const newer = makeRecord(k.privateKey, k.publicKey, now, { seq: 2, expiresAt: now + 86_400 })
  const victim = h.source('192.0.2.10', 4000)
  assert.equal(outcome(h.send(announce(old), victim)), 'new')
  assert.equal(outcome(h.send(announce(newer), victim)), 'replaced')
  return { h, k, old, newer, victim, attacker: h.source('198.51.100.66', 5000) }
}

test('replay of an older record after its key was evicted is refused as STALE_SEQUENCE', () => {
  const { h, old, newer, attacker } = setup({ maxEntries: 4 })
  // Four other keys push the node out (it never refreshed, so it is in probation).
  for (let i = 2; i <= 5; i++) {
    const k = testKey(i)
    const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 1 })
    assert.equal(outcome(h.send(announce(r), h.source(`10.0.${i}.1`, 4000))), 'new')
  }
  assert.equal(h.table.counts.evicted, 1)
  assert.equal(outcome(h.send(announce(old), attacker)), STALE, 'seq 1 after seq 2')
  assert.equal(h.stats.get('stale_sequence'), 1)
  assert.equal(h.table.counts.staleReplays, 1)
  // Even the latest record itself does not bring the key back once it left: anyone who fetched
  // it could replay it. The node re-signs with a higher seq (docs/protocol.md §8.3 step 4).
  assert.equal(outcome(h.send(announce(newer), attacker)), STALE)
  const k = testKey(1)
  const seq3 = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 3 })
  assert.equal(outcome(h.send(announce(seq3), h.source('192.0.2.10', 4000))), 'new')
  assert.deepEqual(h.table.checkInvariants(), [])
})

test('replay of an older record after the newer entry expired is refused', () => {
  const { h, k, old, attacker } = setup({})
  h.clock.advance(601_000) // past maxTtl: the seq 2 entry is gone, seq 1 is still valid
  assert.equal(h.table.size, 1, 'still counted until met')
  assert.equal(outcome(h.send(announce(old), attacker)), STALE)
  assert.equal(h.table.size, 0)
  const seq3 = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { seq: 3 })
  assert.equal(outcome(h.send(announce(seq3), attacker)), 'new', 'a higher seq is welcome')
  // Held again: the table itself refuses lower seqs, as before.
  assert.equal(outcome(h.send(announce(old), attacker)), STALE)
})

test('with the replay memory off (replayMemory 0) the documented limit applies', () => {
  const { h, old, attacker } = setup({ replayMemory: 0 })
  h.clock.advance(601_000)
  assert.equal(outcome(h.send(announce(old), attacker)), 'new')
})
