import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type VerifiedEntry,
  connectEndpoints,
  emptyDrops,
  mergeEntries,
  pickBest,
  sortServers,
  totalDrops,
  verifyEntries,
} from '../../src/client/verify.js'
import { toHex } from '../../src/crypto/keys.js'
import { entryOf, makeRecord } from '../helpers/signed-records.js'
import { tamper } from '../helpers/fake-tracker.js'

const NOW = Date.now()
const expect = { network: 'testnet', kind: 'peer' as const, now: NOW, tracker: 't1' }

test('verifyEntries keeps good records and counts every reason for a drop', () => {
  const good = makeRecord(1)
  const drops = emptyDrops()
  const out = verifyEntries(
    [
      entryOf(good),
      { ...entryOf(good), record: tamper(good.bytes) },
      { ...entryOf(good), record: good.bytes.slice(0, 40) },
      entryOf(makeRecord(2, { network: 'othernet' })),
      entryOf(makeRecord(3, { server: { name: 'x' } })),
      entryOf(makeRecord(4, { issuedAt: Math.floor(NOW / 1000) - 1000, lifetime: 600 })),
      entryOf(makeRecord(5)),
    ],
    expect,
    drops,
  )
  assert.deepEqual(
    out.map(e => e.key),
    [toHex(good.record.publicKey), toHex(makeRecord(5).record.publicKey)],
  )
  assert.deepEqual(drops, {
    malformed: 1,
    badSignature: 1,
    wrongNetwork: 1,
    wrongKind: 1,
    expired: 1,
    filtered: 0,
  })
  assert.equal(totalDrops(drops), 5)
  assert.equal(out[0]?.tracker, 't1')
})

test('a record whose signature bytes were altered is dropped too', () => {
  const good = makeRecord(1)
  const bytes = good.bytes.slice()
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x80
  const drops = emptyDrops()
  assert.equal(verifyEntries([{ ...entryOf(good), record: bytes }], expect, drops).length, 0)
  assert.equal(drops.badSignature, 1)
})

test('server filters are re-checked by the client', () => {
  const s = (n: number, server: object) => entryOf(makeRecord(n, { server }))
  const entries = [
    s(1, { world: 'dm1', version: '2', players: 1, maxPlayers: 8, tags: ['ctf', 'eu'] }),
    s(2, { world: 'dm2', version: '2', players: 1, maxPlayers: 8, tags: ['ctf'] }),
    s(3, { world: 'dm1', version: '1', players: 1, maxPlayers: 8, tags: ['ctf'] }),
    s(4, { world: 'dm1', version: '2', players: 8, maxPlayers: 8, tags: ['ctf'] }),
    s(5, { world: 'dm1', version: '2', players: 0, maxPlayers: 8, tags: ['eu'] }),
  ]
  const drops = emptyDrops()
  const out = verifyEntries(
    entries,
    {
      ...expect,
      kind: 'server',
      filter: { world: 'dm1', version: '2', notFull: true, tags: ['ctf'] },
    },
    drops,
  )
  assert.deepEqual(
    out.map(e => e.record.server?.name),
    ['server 1'],
  )
  assert.equal(drops.filtered, 4)
})

function verified(n: number, seq: number, age = 0, server: object | null = null): VerifiedEntry {
  const drops = emptyDrops()
  const kind = server === null ? ('peer' as const) : ('server' as const)
  const [e] = verifyEntries(
    [entryOf(makeRecord(n, { seq, server }), age)],
    { ...expect, kind },
    drops,
  )
  assert.ok(e)
  return e
}

test('mergeEntries dedupes by key: highest seq wins, then the freshest; order of first sight', () => {
  const merged = mergeEntries([
    [verified(1, 5), verified(2, 1, 30)],
    [verified(2, 1, 3), verified(1, 4), verified(3, 1)],
    [verified(1, 7, 100)],
  ])
  assert.deepEqual(
    merged.map(e => [e.key, e.record.seq, e.age]),
    [
      [verified(1, 7).key, 7, 100],
      [verified(2, 1).key, 1, 3],
      [verified(3, 1).key, 1, 0],
    ],
  )
})

test('sortServers and pickBest follow §8.5 (players, name, room; best hosts the world)', () => {
  const a = verified(1, 1, 0, { name: 'bravo', players: 5, maxPlayers: 8, world: 'island' })
  const b = verified(2, 1, 0, { name: 'alpha', players: 2, maxPlayers: 16, world: 'desert' })
  const c = verified(3, 1, 0, { name: 'charlie', players: 8, maxPlayers: 8, world: 'island' })
  const d = verified(4, 1, 0, { name: 'delta', players: 1, maxPlayers: 4, world: 'island' })
  assert.deepEqual(
    sortServers([a, b, c, d], 'players').map(e => e.record.server?.name),
    ['charlie', 'bravo', 'alpha', 'delta'],
  )
  assert.deepEqual(
    sortServers([a, b, c, d], 'name').map(e => e.record.server?.name),
    ['alpha', 'bravo', 'charlie', 'delta'],
  )
  assert.deepEqual(
    sortServers([a, b, c, d], 'room').map(e => e.record.server?.name),
    ['alpha', 'bravo', 'delta', 'charlie'],
  )
  // island is hosted by a (3 free), c (full) and d (3 free): tie broken by key, full never best.
  assert.equal(pickBest([a, b, c, d], 'island')?.record.server?.world, 'island')
  assert.notEqual(pickBest([a, b, c, d], 'island')?.record.server?.name, 'charlie')
  // Nobody hosts 'moon': the server with the most room.
  assert.equal(pickBest([a, b, c, d], 'moon')?.record.server?.name, 'alpha')
  assert.equal(pickBest([c], 'island'), null)
})

test('connectEndpoints fills an unspecified address from what the tracker observed', () => {
  const drops = emptyDrops()
  const [e] = verifyEntries(
    [
      entryOf(
        makeRecord(1, {
          endpoints: [
            { family: 4, address: '0.0.0.0', port: 5000 },
            { family: 6, address: '2001:db8::5', port: 5001 },
          ],
        }),
      ),
    ],
    expect,
    drops,
  )
  assert.ok(e)
  assert.deepEqual(connectEndpoints(e), [
    { family: 4, address: '198.51.100.7', port: 5000 },
    { family: 6, address: '2001:db8::5', port: 5001 },
  ])
  const [bare] = verifyEntries([entryOf(makeRecord(2, { endpoints: [] }))], expect, drops)
  assert.ok(bare)
  assert.deepEqual(connectEndpoints(bare), [bare.observed])
})
