import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { makeCookie } from '../../src/crypto/cookie.js'
import { createFloodGate } from '../../src/throttle/flood.js'
import type { DenyPolicy } from '../../src/tracker/policy.js'
import { Limits, WireErrorCode } from '../../src/wire/constants.js'
import { type Message, type Query, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { type Harness, harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, queryMessage } from '../helpers/tracker.js'

/*
 * docs/protocol.md §8.2, §8.3, §8.5–§8.10 as a tracker applies them, through the socket-free
 * handler: which answer (or silence) each request gets, cookies, the order of announce checks,
 * samples, sorting, totals, UDP prefixes and stats.
 */

type Transport = 'udp' | 'tcp'

function reply(
  h: Harness,
  bytes: Uint8Array,
  src = h.source('192.0.2.1', 4000),
  t: Transport = 'udp',
): Message | null {
  const r = h.raw(bytes, src, t)
  return r === null ? null : decodeMessage(r.bytes)
}

/** The bytes of `m` with a valid cookie for `src` written at bytes 5..17. */
function withCookie(h: Harness, bytes: Uint8Array, src: ReturnType<Harness['source']>): Uint8Array {
  const b = bytes.slice()
  b.set(h.cookieFor(src), 5)
  return b
}

function errorOf(m: Message | null): { code: number; txid: number; retryAfter: number } | null {
  return m?.type === 'error' ? { code: m.code, txid: m.txid, retryAfter: m.retryAfter } : null
}

function announceBytes(record: SignedRecord, txid = 1): Uint8Array {
  return encodeMessage({ type: 'announce', txid, cookie: new Uint8Array(12), record })
}

/** The same record with one signature byte flipped: decodes, never verifies. */
function badlySigned(r: SignedRecord): SignedRecord {
  const b = r.bytes.slice()
  b[b.byteLength - 1] = (b[b.byteLength - 1] ?? 0) ^ 0x01
  return decodeRecord(b)
}

test('§8.10: what a tracker answers to requests that fail before or during decoding', () => {
  const h = harness()
  const src = h.source('192.0.2.1', 4000)
  const cookieRequest = encodeMessage({ type: 'cookie-request', txid: 0x01020304 })
  const set = (b: Uint8Array, at: number, v: number): Uint8Array => {
    const c = b.slice()
    c[at] = v
    return c
  }
  const query = withCookie(h, encodeMessage(queryMessage({ txid: 77 })), src)
  const k = testKey(40)
  const rec = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
  const announce = withCookie(h, announceBytes(rec, 78), src)
  const stats = withCookie(
    h,
    encodeMessage({ type: 'stats-request', txid: 79, cookie: new Uint8Array(12) }),
    src,
  )
  const mappedAnnounce = (() => {
    // A family-6 IPv4-mapped endpoint in the record (§4): refused by the decoder.
    const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
      endpoints: [{ family: 6, address: '2001:db8::1', port: 4000 }],
    })
    const b = withCookie(h, announceBytes(r, 80), src)
    const at = 5 + 12 + 1 + 'testnet'.length + 32 + 8 + 8 + 1 + 1 + 1
    b.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1], at)
    return b
  })()
  type Want = 'nothing' | { code: number; txid: number }
  const cases: { name: string; bytes: Uint8Array; udp: Want; tcp: Want }[] = [
    {
      name: 'shorter than 5 bytes',
      bytes: Uint8Array.of(0x14, 0, 0),
      udp: 'nothing',
      tcp: { code: WireErrorCode.MALFORMED, txid: 0 },
    },
    {
      name: 'version 2',
      bytes: set(cookieRequest, 0, 0x20),
      udp: 'nothing',
      tcp: { code: WireErrorCode.MALFORMED, txid: 0x01020304 },
    },
    {
      name: 'unassigned type 0xb',
      bytes: Uint8Array.of(0x1b, 0, 0, 0, 9),
      udp: 'nothing',
      tcp: { code: WireErrorCode.MALFORMED, txid: 9 },
    },
    {
      name: 'cookie-request with non-zero padding',
      bytes: set(cookieRequest, 23, 1),
      udp: 'nothing',
      tcp: { code: WireErrorCode.MALFORMED, txid: 0x01020304 },
    },
    {
      name: 'cookie-request one byte short',
      bytes: cookieRequest.subarray(0, 23),
      udp: 'nothing',
      tcp: { code: WireErrorCode.MALFORMED, txid: 0x01020304 },
    },
    {
      name: 'query with count 0',
      bytes: set(query, 5 + 12 + 1 + 'testnet'.length + 2, 0),
      udp: { code: WireErrorCode.MALFORMED, txid: 77 },
      tcp: { code: WireErrorCode.MALFORMED, txid: 77 },
    },
    {
      name: 'announce with a trailing byte',
      bytes: Uint8Array.of(...announce, 0),
      udp: { code: WireErrorCode.MALFORMED, txid: 78 },
      tcp: { code: WireErrorCode.MALFORMED, txid: 78 },
    },
    {
      name: 'announce whose record holds an IPv4-mapped endpoint',
      bytes: mappedAnnounce,
      udp: { code: WireErrorCode.MALFORMED, txid: 80 },
      tcp: { code: WireErrorCode.MALFORMED, txid: 80 },
    },
    {
      name: 'stats-request with a trailing byte',
      bytes: Uint8Array.of(...stats, 0),
      udp: { code: WireErrorCode.MALFORMED, txid: 79 },
      tcp: { code: WireErrorCode.MALFORMED, txid: 79 },
    },
  ]
  // Messages a tracker sends (and challenge-reply, ignored in v1) are never requests.
  const notRequests: Message[] = [
    { type: 'cookie-reply', txid: 21, cookie: new Uint8Array(12) },
    {
      type: 'announce-reply',
      txid: 22,
      status: 'new',
      interval: 1,
      observed: { family: 4, address: '192.0.2.1', port: 1 },
    },
    { type: 'introductions', txid: 23, total: 0, entries: [] },
    { type: 'error', txid: 24, code: 1, retryAfter: 0 },
    {
      type: 'challenge',
      txid: 25,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    {
      type: 'challenge-reply',
      txid: 26,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    { type: 'stats-reply', txid: 27, stats: [] },
  ]
  for (const m of notRequests) {
    cases.push({
      name: m.type,
      bytes: encodeMessage(m),
      udp: 'nothing',
      tcp: { code: WireErrorCode.UNSUPPORTED, txid: m.txid },
    })
  }
  for (const c of cases) {
    for (const t of ['udp', 'tcp'] as const) {
      const want = c[t]
      const got = reply(h, c.bytes, src, t)
      if (want === 'nothing') assert.equal(got, null, `${c.name} (${t}): no answer`)
      else {
        assert.deepEqual(errorOf(got), { ...want, retryAfter: 0 }, `${c.name} (${t})`)
      }
    }
  }
  assert.equal(h.table.size, 0)
  assert.equal(h.stats.get('internal_errors'), 0)
})

test('§8.10: a denied source address gets nothing, on either transport', () => {
  const deny: DenyPolicy = { deniesKey: () => false, deniesAddress: ip => ip === '192.0.2.66' }
  const h = harness({}, { deny })
  const src = h.source('192.0.2.66', 4000)
  const cr = encodeMessage({ type: 'cookie-request', txid: 1 })
  assert.equal(reply(h, cr, src, 'udp'), null)
  assert.equal(reply(h, cr, src, 'tcp'), null)
  assert.equal(reply(h, withCookie(h, encodeMessage(queryMessage()), src), src, 'udp'), null)
  // The neighbour is served.
  assert.equal(reply(h, cr, h.source('192.0.2.67', 4000))?.type, 'cookie-reply')
})

test('§8.2: a cookie-reply replaces the announce, query or stats reply and carries its txid', () => {
  const h = harness()
  const src = h.source('192.0.2.1', 4000)
  const k = testKey(41)
  const requests: Message[] = [
    {
      type: 'announce',
      txid: 0xdeadbeef,
      cookie: new Uint8Array(12),
      record: makeRecord(k.privateKey, k.publicKey, h.nowSeconds()),
    },
    queryMessage({ txid: 0x00c0ffee }),
    { type: 'stats-request', txid: 0x7fffffff, cookie: new Uint8Array(12) },
  ]
  for (const m of requests) {
    const bytes = encodeMessage(m)
    const r = reply(h, bytes, src)
    assert.ok(r?.type === 'cookie-reply', `${m.type}: ${r?.type}`)
    assert.equal(r.txid, m.txid)
    if (m.type === 'announce')
      assert.equal(h.table.size, 0, 'the cookie-less announce changed nothing')
    // Reply ≤ request; the cookie it carries is good for this source.
    assert.ok(17 <= bytes.byteLength)
    const again = bytes.slice()
    again.set(r.cookie, 5)
    const answered = reply(h, again, src)
    assert.notEqual(answered?.type, 'cookie-reply')
    assert.equal(answered?.txid, m.txid)
    // ...and for no other port.
    assert.equal(reply(h, again, h.source('192.0.2.1', 4001))?.type, 'cookie-reply')
  }
  // A cookie-less request too short to be answered without amplification gets nothing.
  assert.equal(reply(h, encodeMessage(requests[2] as Message).subarray(0, 16), src), null)
})

test('§8.2: a cookie stays good for 120 s after its time (first use or reuse), not in the future', () => {
  const h = harness()
  const src = h.source('192.0.2.1', 4000)
  const q = (cookie: Uint8Array): Message | null =>
    reply(h, encodeMessage({ ...queryMessage({ txid: 5 }), cookie }), src)
  const issued = reply(h, encodeMessage({ type: 'cookie-request', txid: 1 }), src)
  assert.ok(issued?.type === 'cookie-reply')
  const unused = makeCookie(h.ctx.cookieSecret, h.nowSeconds(), src.ip16, src.port)
  assert.equal(q(issued.cookie)?.type, 'introductions')
  h.clock.advance(120_000)
  assert.equal(q(issued.cookie)?.type, 'introductions', 'reused at 120 s')
  assert.equal(q(unused)?.type, 'introductions', 'first used at 120 s')
  h.clock.advance(1_000)
  assert.equal(q(issued.cookie)?.type, 'cookie-reply', 'stale at 121 s')
  const future = makeCookie(h.ctx.cookieSecret, h.nowSeconds() + 5, src.ip16, src.port)
  assert.equal(q(future)?.type, 'cookie-reply', 'a time in the future is refused')
})

test('§4: an IPv4-mapped source is the IPv4 address: observed family 4, one cookie, one sample asker', () => {
  const h = harness()
  const mapped = h.source('::ffff:192.0.2.5', 4000)
  const plain = h.source('192.0.2.5', 4000)
  assert.deepEqual([mapped.family, mapped.address], [4, '192.0.2.5'])
  const k = testKey(42)
  const rec = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
  const a = reply(h, withCookie(h, announceBytes(rec), plain), mapped)
  assert.ok(a?.type === 'announce-reply')
  assert.deepEqual(a.observed, { family: 4, address: '192.0.2.5', port: 4000 })
  // The entry is the asker's own (same address and port, whichever form the socket used).
  const s = reply(h, withCookie(h, encodeMessage(queryMessage()), mapped), plain)
  assert.ok(s?.type === 'introductions')
  assert.equal(s.entries.length, 0)
})

test('§8.3: the first failing check wins (time and sequence before the signature)', () => {
  const h = harness({ networks: ['testnet'] })
  const src = h.source('192.0.2.1', 4000)
  const k = testKey(43)
  const now = h.nowSeconds()
  const send = (r: SignedRecord): number | undefined =>
    errorOf(reply(h, withCookie(h, announceBytes(r), src), src))?.code
  const held = makeRecord(k.privateKey, k.publicKey, now, { seq: 10 })
  assert.equal(reply(h, withCookie(h, announceBytes(held), src), src)?.type, 'announce-reply')
  const sig = h.stats.get('signature_checks')
  const cases: [string, SignedRecord, number][] = [
    [
      'unknown network + bad signature',
      badlySigned(makeRecord(k.privateKey, k.publicKey, now, { network: 'other', seq: 11 })),
      WireErrorCode.UNKNOWN_NETWORK,
    ],
    [
      'expired + bad signature',
      badlySigned(
        makeRecord(k.privateKey, k.publicKey, now - 7200, { seq: 11, expiresAt: now - 1 }),
      ),
      WireErrorCode.EXPIRED,
    ],
    [
      'issued in the future + stale + bad signature',
      badlySigned(makeRecord(k.privateKey, k.publicKey, now + 301, { seq: 9 })),
      WireErrorCode.BAD_TIME,
    ],
    [
      'stale + bad signature',
      badlySigned(makeRecord(k.privateKey, k.publicKey, now, { seq: 9 })),
      WireErrorCode.STALE_SEQUENCE,
    ],
    [
      'same seq, other bytes',
      makeRecord(k.privateKey, k.publicKey, now, {
        seq: 10,
        endpoints: [{ family: 4, address: '192.0.2.9', port: 9 }],
      }),
      WireErrorCode.STALE_SEQUENCE,
    ],
  ]
  for (const [name, r, code] of cases) assert.equal(send(r), code, name)
  assert.equal(h.stats.get('signature_checks'), sig, 'no signature checked for any of them')
  assert.equal(
    send(badlySigned(makeRecord(k.privateKey, k.publicKey, now, { seq: 11 }))),
    WireErrorCode.BAD_SIGNATURE,
  )
  // Nothing changed: the held record is still seq 10 and refreshes.
  const r = reply(h, withCookie(h, announceBytes(held), src), src)
  assert.ok(r?.type === 'announce-reply')
  assert.equal(r.status, 'refreshed')
})

test('§8.3: a denied key is refused before anything else, a refresh of it too', () => {
  const k = testKey(44)
  let denied = false
  const deny: DenyPolicy = {
    deniesKey: key => denied && Buffer.from(key).equals(Buffer.from(k.publicKey)),
    deniesAddress: () => false,
  }
  const h = harness({}, { deny })
  const src = h.source('192.0.2.1', 4000)
  const now = h.nowSeconds()
  const rec = makeRecord(k.privateKey, k.publicKey, now)
  assert.equal(reply(h, withCookie(h, announceBytes(rec), src), src)?.type, 'announce-reply')
  denied = true
  assert.equal(
    errorOf(reply(h, withCookie(h, announceBytes(rec), src), src))?.code,
    WireErrorCode.DENIED,
  )
  assert.equal(h.table.size, 0, 'the denied refresh dropped the entry')
  const expiredBad = badlySigned(
    makeRecord(k.privateKey, k.publicKey, now - 7200, { seq: 2, expiresAt: now - 1 }),
  )
  assert.equal(
    errorOf(reply(h, withCookie(h, announceBytes(expiredBad), src), src))?.code,
    WireErrorCode.DENIED,
  )
})

function server(
  h: Harness,
  n: number,
  fields: { name?: string; players?: number; maxPlayers?: number; world?: string },
): SignedRecord {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
    kind: 'server',
    server: {
      name: fields.name ?? `server ${n}`,
      players: fields.players ?? 0,
      maxPlayers: fields.maxPlayers ?? 16,
      world: fields.world ?? '',
      version: '1.0',
      tags: [],
    },
  })
}

function hold(h: Harness, records: SignedRecord[]): void {
  records.forEach((r, i) => {
    // One /24 each, so no block cap interferes.
    const src = h.source(`10.${Math.floor(i / 200)}.${i % 200}.1`, 5000)
    const a = reply(h, withCookie(h, announceBytes(r), src), src)
    assert.equal(a?.type, 'announce-reply')
  })
}

function ask(
  h: Harness,
  q: Partial<Query>,
  t: Transport = 'udp',
): { total: number; names: string[]; keys: string[] } {
  const src = h.source('192.0.2.200', 6000)
  const bytes = encodeMessage({
    ...queryMessage({ kind: 'server', mode: 'list', count: 100 }),
    ...q,
  })
  const r = reply(h, t === 'udp' ? withCookie(h, bytes, src) : bytes, src, t)
  assert.ok(r?.type === 'introductions', `got ${r?.type}`)
  const recs = r.entries.map(e => decodeRecord(e.record).record)
  return {
    total: r.total,
    names: recs.map(x => x.server?.name ?? ''),
    keys: recs.map(x => Buffer.from(x.publicKey).toString('hex')),
  }
}

const keyHex = (n: number): string => Buffer.from(testKey(n).publicKey).toString('hex')

test('§8.5: ties go to the lowest public key; room is never negative; names by code point', () => {
  const h = harness()
  // 50..53 tie on players (7); 54 is overfull (20 of 16: room 0), 55 exactly full, 56 has room.
  const tied = [50, 51, 52, 53]
  hold(h, [
    ...tied.map(n => server(h, n, { players: 7, name: `t${n}` })),
    server(h, 54, { players: 20, maxPlayers: 16, name: 'Beta' }),
    server(h, 55, { players: 16, maxPlayers: 16, name: 'alpha' }),
    server(h, 56, { players: 1, maxPlayers: 4, name: 'beta' }),
  ])
  const byKey = (ns: number[]): string[] => ns.map(keyHex).sort()
  const players = ask(h, { sort: 'players' })
  assert.equal(players.total, 7)
  // 54 (20 players), 55 (16), the four tied at 7, 56 (1).
  assert.deepEqual(players.keys.slice(2, 6), byKey(tied), 'equal players: lowest key first')
  const room = ask(h, { sort: 'room' })
  // Room: the four tied (9), 56 (3), then 54 and 55 both 0, by key, the overfull one not last.
  assert.deepEqual(room.keys.slice(0, 4), byKey(tied))
  assert.equal(room.keys[4], keyHex(56))
  assert.deepEqual(room.keys.slice(5), byKey([54, 55]))
  const name = ask(h, { sort: 'name' })
  assert.deepEqual(name.names.slice(0, 3), ['Beta', 'alpha', 'beta'], 'no case folding')
})

test('§8.5: best prefers room over world, then the lowest key; total ignores world', () => {
  const h = harness()
  hold(h, [
    server(h, 60, { world: 'dm17', players: 16, maxPlayers: 16 }),
    server(h, 61, { world: 'ctf1', players: 2, maxPlayers: 8 }),
    server(h, 62, { world: 'ctf2', players: 2, maxPlayers: 8 }),
  ])
  const b = ask(h, { mode: 'best', world: 'dm17', count: 1 })
  assert.equal(b.total, 3)
  assert.deepEqual(b.keys, [[keyHex(61), keyHex(62)].sort()[0]])
  const withRoom = ask(h, { mode: 'best', world: 'ctf2', count: 1 })
  assert.deepEqual(withRoom.keys, [keyHex(62)])
  // notFull filters, and total counts what passed the filters.
  assert.equal(ask(h, { mode: 'best', world: 'dm17', notFull: true }).total, 2)
  assert.equal(ask(h, { mode: 'list', world: 'dm17' }).total, 1)
  assert.equal(ask(h, { mode: 'list', notFull: true }).total, 2)
  assert.equal(ask(h, { mode: 'list', exclude: testKey(61).publicKey }).total, 2)
})

test('§8.6: on UDP the entries are a prefix of the full answer, and total is the whole count', () => {
  const h = harness()
  const long = (n: number): string => `${String(n).padStart(3, '0')} ${'x'.repeat(60)}`
  hold(
    h,
    Array.from({ length: 30 }, (_, i) => server(h, 100 + i, { name: long(i), players: i % 4 })),
  )
  for (const sort of ['players', 'name', 'room'] as const) {
    const all = ask(h, { sort }, 'tcp')
    const udp = ask(h, { sort })
    assert.equal(all.keys.length, 30)
    assert.ok(udp.keys.length > 0 && udp.keys.length < 30, `${udp.keys.length} fit a datagram`)
    assert.deepEqual(udp.keys, all.keys.slice(0, udp.keys.length), sort)
    assert.equal(udp.total, 30)
    // Paging on UDP continues where the datagram stopped.
    const next = ask(h, { sort, offset: udp.keys.length })
    assert.deepEqual(next.keys, all.keys.slice(udp.keys.length, udp.keys.length + next.keys.length))
  }
})

test('§8.5: the sample leaves out the asker by address and port, and the exclude key', () => {
  const h = harness()
  const a = testKey(70)
  const b = testKey(71)
  const c = testKey(72)
  const at = (port: number) => h.source('192.0.2.30', port)
  for (const [k, port] of [
    [a, 4000],
    [b, 4001],
    [c, 4002],
  ] as const) {
    const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
    assert.equal(
      reply(h, withCookie(h, announceBytes(r), at(port)), at(port))?.type,
      'announce-reply',
    )
  }
  const sample = (
    src: ReturnType<Harness['source']>,
    exclude: Uint8Array | null = null,
  ): string[] => {
    const r = reply(h, withCookie(h, encodeMessage(queryMessage({ exclude })), src), src)
    assert.ok(r?.type === 'introductions')
    assert.equal(r.total, 3, 'total: the entries held for the network and kind')
    return r.entries
      .map(e => Buffer.from(decodeRecord(e.record).record.publicKey).toString('hex'))
      .sort()
  }
  const hexOf = (...ks: (typeof a)[]): string[] =>
    ks.map(k => Buffer.from(k.publicKey).toString('hex')).sort()
  assert.deepEqual(sample(at(4000)), hexOf(b, c), 'same address and port: left out')
  assert.deepEqual(sample(at(5000)), hexOf(a, b, c), 'same address, other port: kept')
  assert.deepEqual(sample(at(4000), b.publicKey), hexOf(c))
})

test('§8.9: on UDP a stats-reply fits one datagram (a prefix of the list); TCP carries more', () => {
  const h = harness()
  for (let i = 0; i < 20; i++)
    h.stats.gauge(
      `a_rather_long_gauge_name_to_fill_the_datagram_${String(i).padStart(2, '0')}`,
      () => i,
    )
  const src = h.source('192.0.2.1', 4000)
  const req = encodeMessage({ type: 'stats-request', txid: 3, cookie: new Uint8Array(12) })
  const udpRaw = h.raw(withCookie(h, req, src), src, 'udp')
  assert.ok(udpRaw !== null)
  assert.ok(udpRaw.bytes.byteLength <= Limits.MAX_DATAGRAM, `${udpRaw.bytes.byteLength} bytes`)
  const udp = decodeMessage(udpRaw.bytes)
  const tcp = reply(h, req, src, 'tcp')
  assert.ok(udp.type === 'stats-reply' && tcp?.type === 'stats-reply')
  assert.ok(tcp.stats.length > udp.stats.length)
  assert.ok(tcp.stats.length <= Limits.STATS_MAX)
  assert.deepEqual(
    udp.stats.map(s => s.name),
    tcp.stats.slice(0, udp.stats.length).map(s => s.name),
  )
})

test('§8.7: retryAfter comes with RATE_LIMITED (the wait for a token), then silence; other codes carry 0', () => {
  const clock = new ManualClock()
  const flood = createFloodGate({ rate: 1, burst: 2, sources: 100 }, { clock })
  const h = harness({ networks: ['testnet'] }, { flood, clock })
  const src = h.source('192.0.2.1', 4000)
  const q = (): Message | null =>
    reply(h, withCookie(h, encodeMessage(queryMessage({ network: 'nope' })), src), src)
  assert.deepEqual(errorOf(q()), { code: WireErrorCode.UNKNOWN_NETWORK, txid: 7, retryAfter: 0 })
  let limited: ReturnType<typeof errorOf> = null
  for (let i = 0; i < 5 && limited === null; i++) {
    const e = errorOf(q())
    if (e?.code === WireErrorCode.RATE_LIMITED) limited = e
  }
  assert.ok(limited !== null, 'rate limited within the burst')
  assert.ok(limited.retryAfter >= 1, `retryAfter ${limited.retryAfter}`)
  assert.equal(q(), null, 'then silence')
  clock.advance(limited.retryAfter * 1000 + 2000)
  assert.equal(errorOf(q())?.code, WireErrorCode.UNKNOWN_NETWORK, 'served again after the hint')
})
