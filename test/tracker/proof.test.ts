// Proof of address (docs/protocol.md §9) through the transport-free handler: what proves an
// endpoint, what a challenge looks like and where it may go, what a reply must match, rounds,
// timeouts, re-checks, and the budgets. Challenges are captured by a fake sender: nothing is
// sent anywhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Endpoint } from '../../src/wire/endpoint.js'
import {
  type ChallengeReply,
  type Message,
  decodeMessage,
  encodeMessage,
} from '../../src/wire/messages.js'
import type { NodeRecord, ServerInfo } from '../../src/wire/record.js'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import { type Harness, harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, queryMessage } from '../helpers/tracker.js'

interface Sent {
  bytes: Uint8Array
  to: Endpoint
}

const SERVER: ServerInfo = {
  name: 's',
  players: 1,
  maxPlayers: 8,
  world: 'w',
  version: '1',
  tags: [],
}

/** A harness with the tracker's default of listing proven entries only, and a fake sender. */
function proving(options: Parameters<typeof harness>[0] = {}): { h: Harness; sent: Sent[] } {
  const h = harness({ listUnproven: false, ...options })
  const sent: Sent[] = []
  h.ctx.prover.attach((bytes, to) => {
    sent.push({ bytes, to })
    return true
  })
  return { h, sent }
}

function record(n: number, h: Harness, fields: Partial<NodeRecord> = {}) {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), fields)
}

function announce(
  h: Harness,
  rec: ReturnType<typeof record>,
  src = h.source('127.0.0.1', 5000),
  transport: 'udp' | 'tcp' = 'udp',
): Message | null {
  return h.send(
    { type: 'announce', txid: 1, cookie: new Uint8Array(12), record: rec },
    src,
    transport,
  )
}

function listed(h: Harness, kind: 'peer' | 'server' = 'server', unproven = false): number {
  const mode = kind === 'server' ? 'list' : 'sample'
  const m = h.send(queryMessage({ kind, mode, count: 100, unproven }), h.source('127.0.0.9', 9))
  assert.ok(m?.type === 'introductions')
  return m.entries.length
}

/** A node at `from` answers challenge `c` (the same bytes, type 0x8); the tracker never replies. */
function reply(h: Harness, c: Sent, from = c.to): void {
  const bytes = Uint8Array.from(c.bytes)
  bytes[0] = 0x18
  assert.equal(h.raw(bytes, h.source(from.address, from.port), 'udp'), null)
}

test('a UDP announce proves its own source: no endpoint, or an endpoint equal to the source', () => {
  const { h, sent } = proving()
  assert.equal(
    announce(h, record(1, h, { kind: 'server', server: SERVER }))?.type,
    'announce-reply',
  )
  const self = { family: 4 as const, address: '0.0.0.0', port: 5001 }
  announce(
    h,
    record(2, h, { kind: 'server', server: SERVER, endpoints: [self] }),
    h.source('127.0.0.1', 5001),
  )
  assert.equal(sent.length, 0, 'nothing to challenge')
  assert.equal(listed(h), 2)
})

test('an endpoint the announce did not come from is challenged, held but not listed until it answers', () => {
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  const rec = record(1, h, { kind: 'server', server: SERVER, endpoints: [ep] })
  assert.equal(announce(h, rec)?.type, 'announce-reply')
  assert.equal(h.table.size, 1)
  assert.equal(listed(h), 0, 'unproven: not in list')
  assert.equal(listed(h, 'server', true), 1, 'asked for unproven: listed')
  const best = h.send(queryMessage({ kind: 'server', mode: 'best' }), h.source('127.0.0.9', 9))
  assert.ok(best?.type === 'introductions' && best.entries.length === 0)
  // The challenge: to the endpoint, for the key and network, smaller than the announce.
  assert.equal(sent.length, 1)
  const c = sent[0]!
  assert.deepEqual(c.to, ep)
  const m = decodeMessage(c.bytes)
  assert.ok(m.type === 'challenge')
  assert.deepEqual(Buffer.from(m.publicKey), Buffer.from(testKey(1).publicKey))
  assert.equal(m.network, 'testnet')
  assert.equal(c.bytes.byteLength, 5 + 16 + 32 + 1 + 'testnet'.length)
  assert.ok(c.bytes.byteLength <= 17 + rec.bytes.byteLength)
  // A reply from another port, or another address, proves nothing.
  reply(h, c, { ...ep, port: 27961 })
  reply(h, c, { ...ep, address: '127.0.0.3' })
  assert.equal(listed(h), 0)
  assert.equal(h.stats.get('challenge_replies_dropped'), 2)
  // From the endpoint: proven, listed, with the proof details.
  reply(h, c)
  assert.equal(h.stats.get('challenge_proofs'), 1)
  const q = h.send(queryMessage({ kind: 'server', mode: 'list' }), h.source('127.0.0.9', 9))
  assert.ok(q?.type === 'introductions')
  assert.equal(q.entries.length, 1)
  assert.equal(q.entries[0]!.verified, true)
  assert.equal(q.entries[0]!.proven, 1)
  assert.equal(q.entries[0]!.proofAge, 0)
})

test('a reply with a forged token, another key or network, or after the timeout proves nothing', () => {
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [ep] }))
  const c = sent[0]!
  const decoded = decodeMessage(c.bytes)
  assert.ok(decoded.type === 'challenge')
  const m: ChallengeReply = { ...decoded, type: 'challenge-reply' }
  const variants: Uint8Array[] = [
    encodeMessage({ ...m, token: Uint8Array.from(m.token).fill(1, 4) }),
    encodeMessage({ ...m, publicKey: testKey(2).publicKey }),
    encodeMessage({ ...m, network: 'other' }),
  ]
  for (const v of variants) assert.equal(h.raw(v, h.source(ep.address, ep.port)), null)
  assert.equal(listed(h), 0)
  // The right reply, too late: the round timed out.
  h.clock.advance((DEFAULT_OPTIONS.challenge.timeout + 1) * 1000)
  reply(h, c)
  assert.equal(listed(h), 0)
  assert.equal(h.stats.get('challenge_proofs'), 0)
  assert.equal(h.stats.get('challenge_replies_dropped'), 4)
  // Never answered, whatever arrives.
  assert.equal(h.stats.get('replies_udp'), 0)
})

test('random challenge-reply datagrams never prove, never get an answer, never throw', () => {
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [ep] }))
  assert.equal(sent.length, 1)
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), tail => {
      const bytes = Uint8Array.from([0x18, ...tail])
      assert.equal(h.raw(bytes, h.source(ep.address, ep.port)), null)
    }),
    { numRuns: 500 },
  )
  assert.equal(listed(h), 0)
  assert.equal(h.stats.get('internal_errors'), 0)
})

test('on TCP the observed endpoint is not proven: it is challenged (address of the connection, port of the record)', () => {
  const { h, sent } = proving()
  const rec = record(1, h, {
    kind: 'server',
    server: SERVER,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
  })
  announce(h, rec, h.source('127.0.0.5', 41234), 'tcp')
  assert.deepEqual(
    sent.map(s => s.to),
    [{ family: 4, address: '127.0.0.5', port: 27960 }],
  )
  assert.equal(listed(h), 0)
  reply(h, sent[0]!)
  assert.equal(listed(h), 1)
})

test('scope: a loopback tracker never challenges outside loopback; a public one never challenges special ranges unless allowed', () => {
  const doc: Endpoint[] = [
    { family: 4, address: '192.0.2.10', port: 1 },
    { family: 6, address: '2001:db8::10', port: 1 },
    { family: 4, address: '10.0.0.1', port: 1 },
  ]
  const loop = proving()
  announce(loop.h, record(1, loop.h, { kind: 'server', server: SERVER, endpoints: doc }))
  assert.equal(loop.sent.length, 0)
  assert.equal(loop.h.stats.get('challenges_out_of_scope'), 3)
  assert.equal(listed(loop.h), 0, 'never proven, never listed')

  const pub = proving({ host: ['0.0.0.0'] })
  announce(
    pub.h,
    record(1, pub.h, {
      kind: 'server',
      server: SERVER,
      endpoints: [...doc, { family: 4, address: '127.0.0.2', port: 1 }],
    }),
  )
  assert.equal(pub.sent.length, 0, 'documentation, private and loopback: out of scope')
  assert.equal(pub.h.stats.get('challenges_out_of_scope'), 4)

  const lan = proving({
    host: ['0.0.0.0'],
    challenge: { ...DEFAULT_OPTIONS.challenge, allow: ['10.0.0.0/8'] },
  })
  announce(lan.h, record(1, lan.h, { kind: 'server', server: SERVER, endpoints: doc }))
  assert.deepEqual(
    lan.sent.map(s => s.to.address),
    ['10.0.0.1'],
  )
})

test('a denied address is never challenged', () => {
  const denied = harness(
    { listUnproven: false },
    { deny: { deniesKey: () => false, deniesAddress: ip => ip === '127.0.0.2' } },
  )
  const out: Sent[] = []
  denied.ctx.prover.attach((bytes, to) => {
    out.push({ bytes, to })
    return true
  })
  announce(
    denied,
    record(1, denied, {
      kind: 'server',
      server: SERVER,
      endpoints: [{ family: 4, address: '127.0.0.2', port: 7 }],
    }),
  )
  assert.equal(out.length, 0)
  assert.equal(denied.stats.get('challenges_denied'), 1)
})

test('amplification ≤ 1: the challenges one announce causes never add up to more bytes than it', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          b: fc.integer({ min: 1, max: 254 }),
          port: fc.integer({ min: 1, max: 65535 }),
          v6: fc.boolean(),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.stringMatching(/^[a-z0-9]{1,32}$/),
      (eps, network) => {
        const { h, sent } = proving()
        const endpoints: Endpoint[] = eps.map(e =>
          e.v6
            ? { family: 6, address: '::1', port: e.port }
            : { family: 4, address: `127.0.0.${e.b}`, port: e.port },
        )
        const rec = record(1, h, { network, endpoints })
        announce(h, rec, h.source('127.0.0.1', 1))
        const total = sent.reduce((n, s) => n + s.bytes.byteLength, 0)
        assert.ok(total <= 17 + rec.bytes.byteLength, `${total} > ${17 + rec.bytes.byteLength}`)
        assert.ok(
          sent.length >= 1 || endpoints.every(e => e.address === '127.0.0.1' && e.port === 1),
        )
      },
    ),
    { numRuns: 150 },
  )
})

test('one entry gets one round per interval from its announces; a new endpoint in a higher seq is due at once', () => {
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  const first = record(1, h, { kind: 'server', server: SERVER, endpoints: [ep] })
  announce(h, first)
  announce(h, first) // a refresh
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [ep], seq: 2 }))
  assert.equal(sent.length, 1)
  const moved = { ...ep, port: 27961 }
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [moved], seq: 3 }))
  assert.deepEqual(
    sent.map(s => s.to.port),
    [27960, 27961],
  )
  h.clock.advance(DEFAULT_OPTIONS.challenge.interval * 1000)
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [moved], seq: 4 }))
  assert.equal(sent.length, 3)
})

test('a proof survives a higher seq naming the same endpoint (players changed)', () => {
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [ep] }))
  reply(h, sent[0]!)
  assert.equal(listed(h), 1)
  announce(
    h,
    record(1, h, { kind: 'server', server: { ...SERVER, players: 5 }, endpoints: [ep], seq: 2 }),
  )
  assert.equal(listed(h), 1)
  assert.equal(sent.length, 1, 'no new challenge for a proven endpoint')
})

test('dual stack: each endpoint is proven on its own, one entry either way', () => {
  const { h, sent } = proving({ host: ['127.0.0.1', '::1'] })
  const v4 = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  const v6 = { family: 6 as const, address: '::1', port: 27960 }
  announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [v4, v6] }))
  assert.equal(sent.length, 2)
  reply(
    h,
    sent.find(s => s.to.family === 6)!,
  )
  const q = h.send(queryMessage({ kind: 'server', mode: 'list' }), h.source('127.0.0.9', 9))
  assert.ok(q?.type === 'introductions')
  assert.equal(q.entries.length, 1)
  assert.equal(q.entries[0]!.proven, 0b10)
})

test('re-checks: a listed server is challenged again after its state delay and hidden when it stops answering', () => {
  const o = DEFAULT_OPTIONS
  const { h, sent } = proving()
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(
    h,
    record(1, h, {
      kind: 'server',
      server: SERVER,
      endpoints: [ep],
      expiresAt: h.nowSeconds() + 86_400,
    }),
  )
  reply(h, sent[0]!)
  assert.equal(h.ctx.prover.recheck(), 0, 'not due yet')
  // Players and room: `recheck.open`.
  h.clock.advance(o.recheck.open * 1000 - 1000)
  assert.equal(h.ctx.prover.recheck(), 0)
  // Keep it alive meanwhile (a refresh does not challenge a proven endpoint).
  h.clock.advance(1000)
  assert.equal(h.ctx.prover.recheck(), 1)
  assert.equal(sent.length, 2)
  assert.equal(listed(h), 1, 'still listed while the round is open')
  h.clock.advance((o.challenge.timeout + 1) * 1000)
  assert.equal(listed(h), 0, 'silent for the timeout: hidden')
  // Unreachable now: the next round only after `recheck.unreachable`.
  assert.equal(h.ctx.prover.recheck(), 0)
  h.clock.advance(o.recheck.unreachable * 1000)
  assert.equal(h.ctx.prover.recheck(), 0, 'gone by then: serverGrace intervals without announce')
  assert.equal(h.stats.get('rechecks'), 1)
})

test('the challenge budget: per target block and in all', () => {
  const { h, sent } = proving({
    challenge: { ...DEFAULT_OPTIONS.challenge, rate: 50, blockRate: 5 },
    perBlock: 1000,
  })
  // 20 keys naming endpoints in one /24: 5 challenges this second.
  for (let i = 1; i <= 20; i++) {
    announce(
      h,
      record(i, h, { endpoints: [{ family: 4, address: '127.0.0.2', port: 1000 + i }] }),
      h.source('127.0.1.1', i),
    )
  }
  assert.equal(sent.length, 5)
  assert.equal(h.stats.get('challenges_over_budget'), 15)
  // Across blocks, the global rate.
  h.clock.advance(1000)
  for (let i = 21; i <= 100; i++) {
    announce(
      h,
      record(i, h, { endpoints: [{ family: 4, address: `127.0.${i}.2`, port: 1000 }] }),
      h.source('127.0.1.1', i),
    )
  }
  assert.equal(sent.length, 5 + 50)
})

test('forged sources: an announce without a valid cookie never causes a challenge (amplification 0 before validation)', () => {
  const { h, sent } = proving()
  const rnd = fc.sample(
    fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 1, max: 65535 })),
    200,
  )
  let out = 0
  for (const [b, port] of rnd) {
    const rec = record(1 + (b % 20), h, {
      kind: 'server',
      server: SERVER,
      endpoints: [{ family: 4, address: '127.0.0.2', port: 27960 }],
    })
    // A stale cookie from a spoofed source: the only answer is a cookie reply, no larger.
    const bytes = encodeMessage({
      type: 'announce',
      txid: 1,
      cookie: new Uint8Array(12),
      record: rec,
    })
    const r = h.raw(bytes, h.source(`127.0.${b}.1`, port), 'udp')
    if (r !== null) {
      assert.equal(decodeMessage(r.bytes).type, 'cookie-reply')
      assert.ok(r.bytes.byteLength <= bytes.byteLength)
      out += r.bytes.byteLength
    }
  }
  assert.equal(sent.length, 0)
  assert.equal(h.table.size, 0)
  assert.ok(out > 0)
})

test('a restored entry without a saved proof: a refresh from the observed endpoint proves it again', () => {
  const { h, sent } = proving()
  const rec = record(1, h, { kind: 'server', server: SERVER })
  const src = h.source('127.0.0.1', 5000)
  // Restored from a checkpoint: held, unproven.
  assert.ok(
    h.table.insertTrusted(rec, { family: 4, address: '127.0.0.1', port: 5000 }, h.clock.now()),
  )
  assert.equal(listed(h), 0)
  // The node's next announce is a refresh (the same bytes) from the same socket.
  const r = announce(h, rec, src)
  assert.ok(r?.type === 'announce-reply' && r.status === 'refreshed')
  assert.equal(listed(h), 1)
  assert.equal(sent.length, 0)
})

test('a flood of replies from one block cannot spend the reply budget genuine replies need', () => {
  const { h, sent } = proving({
    challenge: { ...DEFAULT_OPTIONS.challenge, rate: 10, blockRate: 5 },
  })
  // The attacker's own entry with an endpoint it never answers, and a genuine server.
  const bait = { family: 4 as const, address: '127.0.9.9', port: 9 }
  announce(
    h,
    record(1, h, { kind: 'server', server: SERVER, endpoints: [bait] }),
    h.source('127.0.9.1', 1),
  )
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(h, record(2, h, { kind: 'server', server: SERVER, endpoints: [ep] }))
  assert.equal(sent.length, 2)
  const forged = Uint8Array.from(sent[0]!.bytes)
  forged[0] = 0x18
  forged.fill(0, 5 + 4, 5 + 16) // the round's time kept, the MAC not
  // From its own block (and the bait's endpoint block): the open round, the right time field.
  for (let i = 0; i < 200; i++) h.raw(forged, h.source('127.0.9.9', 9), 'udp')
  reply(h, sent[1]!)
  assert.equal(h.stats.get('challenge_proofs'), 1, 'the genuine reply still proves')
  assert.equal(listed(h), 1)
})

test('a re-check the budget refuses is retried on the next tick, not a whole delay later', () => {
  const o = DEFAULT_OPTIONS
  const { h, sent } = proving({ challenge: { ...o.challenge, rate: 1000, blockRate: 1 } })
  const ep = { family: 4 as const, address: '127.0.0.2', port: 27960 }
  announce(
    h,
    record(1, h, {
      kind: 'server',
      server: SERVER,
      endpoints: [ep],
      expiresAt: h.nowSeconds() + 86_400,
    }),
  )
  reply(h, sent[0]!)
  h.clock.advance(o.recheck.open * 1000)
  // Someone spends the target block's share in the second the re-check falls due.
  announce(
    h,
    record(2, h, { endpoints: [{ family: 4, address: '127.0.0.3', port: 1 }] }),
    h.source('127.0.5.1', 1),
  )
  assert.equal(h.ctx.prover.recheck(), 0)
  assert.equal(h.stats.get('challenges_over_budget'), 1)
  h.clock.advance(1000)
  assert.equal(h.ctx.prover.recheck(), 1, 'retried one tick later')
  h.clock.advance((o.challenge.timeout + 1) * 1000)
  assert.equal(listed(h), 0, 'never answered: hidden')
})

test('within the round interval a higher seq challenges only the endpoints it names for the first time', () => {
  const { h, sent } = proving()
  const v = { family: 4 as const, address: '127.0.0.2', port: 1 }
  for (let seq = 1; seq <= 4; seq++) {
    const x = { family: 4 as const, address: '127.0.0.3', port: 100 + seq }
    announce(h, record(1, h, { kind: 'server', server: SERVER, endpoints: [v, x], seq }))
  }
  const toV = sent.filter(s => s.to.port === 1).length
  assert.equal(toV, 1, 'the endpoint named all along: one challenge per interval')
  assert.equal(sent.length, 5, 'each new endpoint once')
})
