// Proof of address (docs/protocol.md §9), the challenge budget: an announce-triggered round the
// budget cut short is retried by a later announce, but at most once a second, so a flood of
// refreshes of an unproven entry does not re-run (and re-decode) the round on every datagram.
// Challenges are captured by a fake sender: nothing is sent anywhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { encodeMessage } from '../../src/wire/messages.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord } from '../helpers/tracker.js'

test('a round the budget cut short is retried once a second, not on every refresh', () => {
  const h = harness({
    listUnproven: false,
    challenge: { ...DEFAULT_OPTIONS.challenge, rate: 50, blockRate: 1 },
  })
  const sent: Endpoint[] = []
  h.ctx.prover.attach((_bytes, to) => {
    sent.push(to)
    return true
  })
  const packets = [1, 2].map(n => {
    const k = testKey(n)
    const rec = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
      endpoints: [{ family: 4, address: '127.0.0.2', port: 1000 + n }],
    })
    return encodeMessage({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record: rec })
  })
  const src = h.source('127.0.1.1', 7)
  const send = (p: Uint8Array): void => {
    const bytes = Uint8Array.from(p)
    bytes.set(h.cookieFor(src), 5)
    assert.equal(h.raw(bytes, src)?.bytes[0], 0x13)
  }
  // The first takes the block's one challenge of this second; the second's round is cut short.
  send(packets[0]!)
  send(packets[1]!)
  assert.equal(sent.length, 1)
  assert.equal(h.stats.get('challenges_over_budget'), 1)
  // Refreshes within the same second: no new round, so no new refusal either.
  for (let i = 0; i < 50; i++) send(packets[1]!)
  assert.equal(h.stats.get('announces_refreshed'), 50)
  assert.equal(h.stats.get('challenges_over_budget'), 1)
  // The next second the budget has a token again: the next refresh runs the round.
  h.clock.advance(1000)
  send(packets[1]!)
  assert.equal(sent.length, 2)
  assert.deepEqual(sent[1], { family: 4, address: '127.0.0.2', port: 1002 })
})
