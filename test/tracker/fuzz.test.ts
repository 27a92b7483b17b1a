import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import { Limits } from '../../src/wire/constants.js'
import { encodeFrame } from '../../src/wire/framing.js'
import { type Message, encodeMessage } from '../../src/wire/messages.js'
import type { SignedRecord } from '../../src/wire/record.js'
import { type Harness, harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import {
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
  startTracker,
} from '../helpers/tracker.js'

/*
 * Hostile input: random and mutated datagrams and garbage TCP frames never close a listener,
 * never crash, and never lose or alter an entry already held.
 */

/** A small deterministic PRNG so a failure can be replayed (seed printed on failure). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

function mutate(base: Uint8Array, rnd: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rnd() * n)
  let b = base.slice()
  switch (int(6)) {
    case 0: // flip 1-4 bits
      for (let i = int(4) + 1; i > 0; i--) b[int(b.length)]! ^= 1 << int(8)
      break
    case 1: // overwrite a byte (lengths and counts included)
      b[int(b.length)] = int(256)
      break
    case 2: // truncate
      b = b.subarray(0, int(b.length))
      break
    case 3: {
      // extend with junk
      const out = new Uint8Array(Math.min(Limits.MAX_DATAGRAM, b.length + int(40) + 1))
      out.set(b)
      for (let i = b.length; i < out.length; i++) out[i] = int(256)
      b = out
      break
    }
    case 4: // a byte after the header set to an extreme
      if (b.length > 5) b[5 + int(b.length - 5)] = rnd() < 0.5 ? 0 : 255
      break
    default: // random run
      for (let i = int(b.length), n = int(8); n > 0 && i < b.length; n--, i++) b[i] = int(256)
  }
  return b
}

function randomBytes(rnd: () => number, max: number = Limits.MAX_DATAGRAM): Uint8Array {
  const b = new Uint8Array(Math.floor(rnd() * (max + 1)))
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256)
  if (b.length > 0 && rnd() < 0.7) b[0] = 0x10 | Math.floor(rnd() * 16)
  return b
}

interface Held {
  record: SignedRecord
  src: { address: string; port: number }
}

function populate(h: Harness, n: number): Held[] {
  const held: Held[] = []
  for (let i = 0; i < n; i++) {
    const k = testKey(1 + i)
    const server = i % 2 === 1
    const record = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
      seq: 10,
      kind: server ? 'server' : 'peer',
      server: server
        ? { name: `s${i}`, players: i, maxPlayers: 32, world: 'w', version: '1', tags: ['t'] }
        : null,
    })
    const src = { address: `10.0.${i}.1`, port: 4000 + i }
    const r = h.send(
      { type: 'announce', txid: i, cookie: new Uint8Array(12), record },
      h.source(src.address, src.port),
    )
    assert.equal(r?.type, 'announce-reply')
    held.push({ record, src })
  }
  return held
}

function assertIntact(h: Harness, held: Held[]): void {
  assert.deepEqual(h.table.checkInvariants(), [])
  for (const { record, src } of held) {
    const bytes = record.bytes
    const key = Buffer.from(bytes.subarray(0, 1 + bytes[0]! + 32)).toString('latin1')
    const e = h.table.peek(key)
    assert.ok(e !== undefined, 'entry still held')
    assert.equal(e.rec, Buffer.from(bytes).toString('latin1'), 'entry unchanged')
    assert.equal(e.ip, src.address)
    assert.equal(e.port, src.port)
  }
}

test('100,000 random and mutated messages through the handler: no throw, nothing lost', () => {
  const seed = Date.now() >>> 0
  const rnd = prng(seed)
  const h = harness()
  const held = populate(h, 16)
  const asker = h.source('192.0.2.1', 5000)
  const cookie = h.cookieFor(asker)
  const extra = testKey(200)
  const bases: Message[] = [
    { type: 'cookie-request', txid: 1 },
    { type: 'announce', txid: 2, cookie, record: held[0]!.record },
    { type: 'announce', txid: 3, cookie, record: held[1]!.record },
    {
      type: 'announce',
      txid: 4,
      cookie,
      record: makeRecord(extra.privateKey, extra.publicKey, h.nowSeconds(), { seq: 1 }),
    },
    { ...queryMessage({ mode: 'sample' }), cookie },
    { ...queryMessage({ mode: 'list', kind: 'server', tags: ['t'], world: 'w' }), cookie },
    { ...queryMessage({ mode: 'best', kind: 'server', exclude: new Uint8Array(32) }), cookie },
    { type: 'stats-request', txid: 9, cookie },
  ]
  const encoded = bases.map(encodeMessage)
  let replies = 0
  try {
    for (let i = 0; i < 100_000; i++) {
      const data =
        i % 3 === 0 ? randomBytes(rnd) : mutate(encoded[Math.floor(rnd() * encoded.length)]!, rnd)
      const transport = i % 5 === 0 ? 'tcp' : 'udp'
      const reply = h.raw(data, asker, transport)
      if (reply !== null) {
        replies++
        if (transport === 'udp') assert.ok(reply.bytes.byteLength <= Limits.MAX_DATAGRAM)
      }
    }
  } catch (err) {
    assert.fail(`seed ${seed}: ${String(err)}`)
  }
  assert.ok(replies > 10_000)
  assert.equal(h.stats.get('internal_errors'), 0, `seed ${seed}`)
  assertIntact(h, held)
  // Still serving: a valid query answers with the held entries.
  const q = h.send(queryMessage({ count: 100 }), asker, 'tcp')
  assert.ok(q?.type === 'introductions')
  assert.ok(q.entries.length >= 8)
})

test('thousands of hostile datagrams and garbage TCP frames through real sockets', async t => {
  const tr = await startTracker(t)
  const rnd = prng(Date.now() >>> 0)
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  const held: SignedRecord[] = []
  for (let i = 0; i < 8; i++) {
    const k = testKey(50 + i)
    const record = makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000))
    const r = await udp.request({ type: 'announce', txid: i, cookie: udp.cookie, record })
    assert.equal(r?.type, 'announce-reply')
    held.push(record)
  }
  const valid = [
    encodeMessage({ type: 'announce', txid: 1, cookie: udp.cookie, record: held[0]! }),
    encodeMessage({ ...queryMessage(), cookie: udp.cookie }),
    encodeMessage({ type: 'cookie-request', txid: 3 }),
  ]
  for (let i = 0; i < 3000; i++) {
    const data = i % 2 === 0 ? randomBytes(rnd) : mutate(valid[i % valid.length]!, rnd)
    udp.probe.send(data, tr.udp, '127.0.0.1')
    if (i % 200 === 0) await new Promise(r => setTimeout(r, 5))
  }
  // Garbage on TCP: a bad length, oversize frames, random frames, random bytes.
  const garbage: Uint8Array[] = [
    Uint8Array.of(0, 0, 0, 0),
    Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3),
    encodeFrame(new Uint8Array(Limits.MAX_REQUEST + 1)),
  ]
  for (let i = 0; i < 40; i++) {
    const body = randomBytes(rnd, 300)
    garbage.push(encodeFrame(body.length > 0 ? body : Uint8Array.of(0x10)))
  }
  for (let i = 0; i < 10; i++) garbage.push(randomBytes(rnd, 3000))
  await Promise.all(
    garbage.map(
      g =>
        new Promise<void>(resolve => {
          const s = connect({ host: '127.0.0.1', port: tr.tcp }, () => {
            s.end(g)
          })
          s.on('error', () => undefined)
          s.on('close', () => {
            resolve()
          })
          s.resume()
          setTimeout(() => {
            s.destroy()
          }, 3000)
        }),
    ),
  )
  await new Promise(r => setTimeout(r, 200))
  // Still serving on both transports, and every entry is intact.
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  const q = await tcp.request(queryMessage({ count: 100, mode: 'sample' }))
  assert.ok(q?.type === 'introductions')
  const got = new Set(q.entries.map(e => Buffer.from(e.record).toString('hex')))
  for (const r of held) assert.ok(got.has(Buffer.from(r.bytes).toString('hex')))
  assert.equal(tr.daemon.table.size, 8)
  assert.equal(tr.daemon.stats.get('internal_errors'), 0)
  assert.ok(tr.daemon.stats.get('tcp_framing_errors') >= 2)
  // A fresh socket: replies to the flood above may still be on their way to the old one (the
  // probe takes the next datagram), and a late one must not pass for this answer.
  const fresh = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => fresh.close())
  const s = await fresh.request({ type: 'stats-request', txid: 1, cookie: fresh.cookie })
  assert.equal(s?.type, 'stats-reply')
})
