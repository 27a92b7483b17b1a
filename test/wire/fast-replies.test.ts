import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { ClientTable } from '../../src/table/client-table.js'
import { isTrackerError } from '../../src/errors.js'
import { Limits } from '../../src/wire/constants.js'
import { encodeAnnounceReply, encodeIntroductions } from '../../src/wire/fast-replies.js'
import { encodeMessage, fitIntroductions } from '../../src/wire/messages.js'
import { endpoint } from '../helpers/arbitraries.js'
import { T0, fakeRecord } from '../helpers/records.js'

test('encodeAnnounceReply matches the codec byte for byte', () => {
  fc.assert(
    fc.property(
      endpoint,
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.constantFrom('new' as const, 'refreshed' as const, 'replaced' as const),
      fc.integer({ min: 0, max: 65535 }),
      (ep, txid, status, interval) => {
        const direct = encodeAnnounceReply(txid, status, interval, ep.address, ep.port)
        const codec = encodeMessage({
          type: 'announce-reply',
          txid,
          status,
          interval,
          observed: ep,
        })
        assert.deepEqual(Buffer.from(direct), Buffer.from(codec))
      },
    ),
    { numRuns: 500 },
  )
})

test('encodeIntroductions matches the codec (fitIntroductions) byte for byte', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          endpoint,
          fc.integer({ min: 0, max: 8 }),
          fc.integer({ min: 0, max: 70_000 }),
          // The proof mask (0 = unproven) and the seconds since the proof.
          fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 255 })),
          fc.integer({ min: 0, max: 70_000 }),
        ),
        {
          maxLength: 40,
        },
      ),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.boolean(),
      (rows, txid, total, udp) => {
        const clock = new ManualClock(T0 * 1000)
        const table = new ClientTable({
          maxEntries: 1000,
          maxBytes: 10_000_000,
          maxTtl: 86_400,
          perBlockMax: 1000,
          clock,
        })
        const masks = new Map<string, [number, number]>()
        rows.forEach(([ep, tags, seenAgo, mask, provenAgo], i) => {
          const rec = fakeRecord(i, {
            kind: 'server',
            expiresAt: T0 + 86_400,
            server: {
              name: `s${i}`,
              players: 1,
              maxPlayers: 2,
              world: 'w',
              version: 'v',
              tags: Array.from({ length: tags }, (_, j) => `t${j}`),
            },
          })
          const e = table.insert(rec, ep, (T0 - seenAgo) * 1000)
          if (e !== undefined) {
            e.provenAt = T0 - provenAgo
            masks.set(e.key, [mask, provenAgo])
          }
        })
        const entries = [...table.bucket('testnet', 'server')]
        const proven = entries.map(e => masks.get(e.key)?.[0] ?? 0)
        const now = T0
        const maxBytes = udp ? Limits.MAX_DATAGRAM : Limits.MAX_FRAME
        const direct = encodeIntroductions(txid, total, entries, now, maxBytes, proven)
        const codec = encodeMessage(
          fitIntroductions(
            {
              type: 'introductions',
              txid,
              total: Math.min(total, 0xffff),
              entries: entries.slice(0, Limits.QUERY_COUNT_MAX).map((e, i) => {
                const mask = proven[i] ?? 0
                const proofAge = Math.min(0xffff, now - e.provenAt)
                return {
                  observed: e.observed,
                  verified: mask !== 0,
                  ...(mask !== 0 ? { proven: mask, proofAge } : {}),
                  age: Math.min(0xffff, now - e.seen),
                  record: e.recordBytes,
                }
              }),
            },
            maxBytes,
          ),
        )
        assert.deepEqual(Buffer.from(direct), Buffer.from(codec))
      },
    ),
    { numRuns: 200 },
  )
})

const badEndpoint = (err: unknown): boolean =>
  isTrackerError(err) && err.code === 'WIRE_BAD_ENDPOINT'

test('the fast encoders throw on an address that does not parse, never encode a made-up one', () => {
  const bad = [
    '',
    'not-an-ip',
    '2001:db8::zz',
    ':::',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    '01.2.3.4',
    '1.2.3.4 ',
    '1234.1.1.1',
  ]
  for (const address of bad) {
    // The codec refuses each one too: the two encoders agree on what an address is.
    const family = address.includes(':') ? (6 as const) : (4 as const)
    assert.throws(
      () =>
        encodeMessage({
          type: 'announce-reply',
          txid: 1,
          status: 'new',
          interval: 60,
          observed: { family, address, port: 1 },
        }),
      badEndpoint,
      address,
    )
    assert.throws(() => encodeAnnounceReply(1, 'new', 60, address, 1), badEndpoint, address)
    const held = { ip: address, port: 1, seen: T0, rec: 'x', provenAt: 0 }
    assert.throws(
      () => encodeIntroductions(1, 1, [held], T0, Limits.MAX_DATAGRAM),
      badEndpoint,
      address,
    )
  }
  // The boundaries of the IPv4 scan still encode.
  for (const address of ['0.0.0.0', '255.255.255.255', '10.0.0.1', '::', '2001:db8::1']) {
    assert.doesNotThrow(() => encodeAnnounceReply(1, 'new', 60, address, 1), address)
  }
})
