import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClientTable } from '../../src/table/client-table.js'
import { handleRequest } from '../../src/tracker/handlers/index.js'
import type { DenyPolicy } from '../../src/tracker/policy.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { type Harness, harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { makeRecord, queryMessage } from '../helpers/tracker.js'

/*
 * Orders and identities docs/protocol.md settles (§8.3 check order, §8.5 asker and collation,
 * §8.10 TABLE_FULL): each of these failed before the handler and table followed the text.
 */

type Src = ReturnType<Harness['source']>

function send(h: Harness, m: Message, src: Src): Message | null {
  return h.send(m, src)
}

function announce(record: SignedRecord, txid = 1): Message {
  return { type: 'announce', txid, cookie: new Uint8Array(12), record }
}

function code(m: Message | null): number | undefined {
  return m?.type === 'error' ? m.code : undefined
}

function badlySigned(r: SignedRecord): SignedRecord {
  const b = r.bytes.slice()
  b[b.byteLength - 1] = (b[b.byteLength - 1] ?? 0) ^ 0x01
  return decodeRecord(b)
}

test('§8.5: list and best of peers are refused with UNSUPPORTED', () => {
  const h = harness()
  const src = h.source('192.0.2.1', 4000)
  const k = testKey(80)
  send(h, announce(makeRecord(k.privateKey, k.publicKey, h.nowSeconds())), h.source('192.0.2.2', 1))
  for (const mode of ['list', 'best'] as const) {
    assert.equal(
      code(send(h, queryMessage({ kind: 'peer', mode }), src)),
      WireErrorCode.UNSUPPORTED,
      mode,
    )
  }
})

test('§8.3: a denied key is refused before an unknown network', () => {
  const k = testKey(81)
  const deny: DenyPolicy = {
    deniesKey: key => Buffer.from(key).equals(Buffer.from(k.publicKey)),
    deniesAddress: () => false,
  }
  const h = harness({ networks: ['testnet'] }, { deny })
  const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), { network: 'other' })
  assert.equal(code(send(h, announce(r), h.source('192.0.2.1', 4000))), WireErrorCode.DENIED)
})

test('§8.3: the signature is checked before the block cap', () => {
  const h = harness({ perBlock: 1 })
  const src = h.source('192.0.2.1', 4000)
  const a = testKey(82)
  const b = testKey(83)
  send(h, announce(makeRecord(a.privateKey, a.publicKey, h.nowSeconds())), src)
  const forged = badlySigned(makeRecord(b.privateKey, b.publicKey, h.nowSeconds()))
  assert.equal(
    code(send(h, announce(forged), h.source('192.0.2.9', 4000))),
    WireErrorCode.BAD_SIGNATURE,
  )
})

test('§8.10: TABLE_FULL (not EXPIRED) when the table will not store the record', () => {
  const h = harness()
  const table = new ClientTable({
    maxEntries: 10,
    maxBytes: 256,
    maxTtl: 3600,
    perBlockMax: 10,
    clock: h.clock,
  })
  const ctx = { ...h.ctx, table }
  const src = h.source('192.0.2.1', 4000)
  const k = testKey(84)
  const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds())
  const bytes = encodeMessage({ type: 'announce', txid: 1, cookie: h.cookieFor(src), record: r })
  const reply = handleRequest(ctx, bytes, src, 'udp')
  assert.ok(reply !== null)
  assert.equal(code(decodeMessage(reply.bytes)), WireErrorCode.TABLE_FULL)
})

test('§8.5: the sample window identifies the asker by address, not port', () => {
  const h = harness()
  for (let i = 0; i < 60; i++) {
    const k = testKey(200 + i)
    const src = h.source(`10.0.${i}.1`, 4000)
    send(h, announce(makeRecord(k.privateKey, k.publicKey, h.nowSeconds())), src)
  }
  const sample = (port: number): string[] => {
    const r = send(h, queryMessage({ count: 5 }), h.source('192.0.2.50', port))
    assert.ok(r?.type === 'introductions')
    return r.entries.map(e => Buffer.from(e.record).toString('hex')).sort()
  }
  assert.deepEqual(sample(1000), sample(2000))
})

test('§8.5: the tracker sorts names by code point (UTF-8 byte order)', () => {
  const h = harness()
  const names = ['Z😀', 'Z\u{e000}']
  names.forEach((name, i) => {
    const k = testKey(90 + i)
    const r = makeRecord(k.privateKey, k.publicKey, h.nowSeconds(), {
      kind: 'server',
      server: { name, players: 0, maxPlayers: 8, world: '', version: '', tags: [] },
    })
    send(h, announce(r), h.source(`10.1.${i}.1`, 4000))
  })
  const r = send(
    h,
    queryMessage({ kind: 'server', mode: 'list', sort: 'name' }),
    h.source('192.0.2.1', 1),
  )
  assert.ok(r?.type === 'introductions')
  assert.deepEqual(
    r.entries.map(e => decodeRecord(e.record).record.server?.name),
    ['Z\u{e000}', 'Z😀'],
  )
})
