// `best` among equal servers prefers the one handed out least often (docs/protocol.md §8.5,
// MetaServerII's "server du jour"): players spread over equal servers instead of piling onto
// the one with the lowest key.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, queryMessage } from '../helpers/tracker.js'

test('best spreads over equal servers; the served counts add up in entries_served', () => {
  const h = harness()
  const server = { name: 'x', players: 2, maxPlayers: 8, world: 'dm4', version: '', tags: [] }
  for (const n of [1, 2, 3]) {
    const k = testKey(n)
    const rec = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { kind: 'server', server })
    h.send(
      { type: 'announce', txid: n, cookie: new Uint8Array(12), record: rec },
      h.source(`127.0.0.${n}`, 27960),
    )
  }
  const picks: string[] = []
  for (let i = 0; i < 6; i++) {
    const m = h.send(
      queryMessage({ kind: 'server', mode: 'best', world: 'dm4' }),
      h.source('127.0.1.1', 1),
    )
    assert.ok(m?.type === 'introductions' && m.entries.length === 1)
    picks.push(m.entries[0]!.observed.address)
  }
  // Each of the three twice, in a round: never the same one twice in a row.
  assert.deepEqual([...picks].sort(), [
    '127.0.0.1',
    '127.0.0.1',
    '127.0.0.2',
    '127.0.0.2',
    '127.0.0.3',
    '127.0.0.3',
  ])
  for (let i = 1; i < picks.length; i++) assert.notEqual(picks[i], picks[i - 1])
  assert.equal(h.stats.get('entries_served'), 6)
  // A server with more room still wins whatever it was handed out.
  const k = testKey(4)
  const roomy = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
    kind: 'server',
    server: { ...server, players: 0 },
  })
  h.send(
    { type: 'announce', txid: 9, cookie: new Uint8Array(12), record: roomy },
    h.source('127.0.0.4', 27960),
  )
  for (let i = 0; i < 3; i++) {
    const m = h.send(
      queryMessage({ kind: 'server', mode: 'best', world: 'dm4' }),
      h.source('127.0.1.1', 1),
    )
    assert.ok(m?.type === 'introductions')
    assert.equal(m.entries[0]!.observed.address, '127.0.0.4')
  }
})
