import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { createContext, runInContext } from 'node:vm'
import {
  type SignedRecord,
  encodeSignedRecord,
  recordBody,
  recordSigningInput,
} from '../../src/wire/record.js'
import { forgeRecord, plainNaclVerify, smallOrderEncodings } from '../helpers/forged-records.js'
import { makeRecord } from '../helpers/signed-records.js'

/*
 * web/record.js (the server browser's decoder and verifier) in a fresh V8 context with
 * tweetnacl and bootpage/verify.js loaded first, as the page loads them; no WebCrypto in the
 * context, so the tweetnacl path is the one exercised here (the Chromium test covers both).
 */

interface Decoded {
  network: string
  key: Uint8Array
  seq: number
  issuedAt: number
  expiresAt: number
  kind: string
  endpoints: { family: number; address: string; port: number }[]
  server: {
    name: string
    players: number
    maxPlayers: number
    world: string
    version: string
    tags: string[]
  } | null
}
interface RecordJs {
  decodeRecord(b: Uint8Array): Decoded
  checkRecord(entry: { record: string }, network: string): Promise<{ ok: boolean; reason: string }>
  engine(): Promise<string>
}

function load(): { api: RecordJs; bytes: (b: Uint8Array) => Uint8Array } {
  const require = createRequire(import.meta.url)
  const context: Record<string, unknown> = { TextEncoder, TextDecoder, atob }
  context.self = context
  createContext(context)
  const read = (path: string) => readFileSync(path, 'utf8')
  runInContext(read(require.resolve('tweetnacl/nacl-fast.min.js')), context)
  for (const file of ['../../bootpage/verify.js', '../../web/record.js'])
    runInContext(read(new URL(file, import.meta.url).pathname), context, { filename: file })
  // tweetnacl checks `instanceof Uint8Array` against its own realm.
  const copy = runInContext('(function (b) { return new Uint8Array(b) })', context) as (
    b: Uint8Array,
  ) => Uint8Array
  return { api: context.MetatrackerRecord as RecordJs, bytes: copy }
}

const b64 = (s: SignedRecord | Uint8Array) =>
  Buffer.from(s instanceof Uint8Array ? s : s.bytes).toString('base64')

test('record.js decodes records as src/wire/record.ts does (IPv4, IPv6, peers, servers)', () => {
  const { api, bytes } = load()
  const cases = [
    makeRecord(1, {
      server: { name: 'Zoë 🚀 <b>', players: 3, tags: ['ctf', 'eu'], world: 'dm4' },
    }),
    makeRecord(2, {
      endpoints: [
        { family: 6, address: '2001:db8::1', port: 27_960 },
        { family: 6, address: '::', port: 1 },
        { family: 6, address: 'fe80:0:0:1:0:0:0:2', port: 65_535 },
        { family: 4, address: '0.0.0.0', port: 80 },
      ],
    }),
    makeRecord(3, { endpoints: [], seq: 2 ** 40 + 7 }),
  ]
  for (const signed of cases) {
    const d = api.decodeRecord(bytes(signed.bytes))
    const r = signed.record
    assert.equal(d.network, r.network)
    assert.deepEqual([...d.key], [...r.publicKey])
    assert.equal(d.seq, r.seq)
    assert.equal(d.issuedAt, r.issuedAt)
    assert.equal(d.expiresAt, r.expiresAt)
    assert.equal(d.kind, r.kind)
    assert.deepEqual(JSON.parse(JSON.stringify(d.endpoints)), r.endpoints)
    assert.deepEqual(JSON.parse(JSON.stringify(d.server)), r.server)
  }
  const good = cases[0]!.bytes
  assert.throws(() => api.decodeRecord(bytes(good.subarray(0, good.length - 1))), /truncated/)
  assert.throws(() => api.decodeRecord(bytes(Buffer.concat([good, Buffer.from([0])]))), /trailing/)
})

test('record.js: a good record verifies; a changed byte, another network or an expired one is rejected', async () => {
  const { api } = load()
  assert.equal(await api.engine(), 'tweetnacl')
  const signed = makeRecord(4, { server: { name: 'Alpha Arena' } })
  const good = await api.checkRecord({ record: b64(signed) }, 'testnet')
  assert.deepEqual([good.ok, good.reason], [true, ''])
  const tampered = Buffer.from(signed.bytes)
  tampered[tampered.indexOf('Alpha') + 4] = 'o'.charCodeAt(0)
  assert.equal(
    (await api.checkRecord({ record: b64(tampered) }, 'testnet')).reason,
    'bad signature',
  )
  assert.equal((await api.checkRecord({ record: b64(signed) }, 'other')).reason, 'another network')
  const old = makeRecord(5, { server: {}, issuedAt: Math.floor(Date.now() / 1000) - 7200 })
  assert.equal((await api.checkRecord({ record: b64(old) }, 'testnet')).reason, 'expired')
  assert.match((await api.checkRecord({ record: 'AAAA' }, 'testnet')).reason, /^malformed/)
  assert.equal(
    (await api.checkRecord({ record: b64(makeRecord(6)) }, 'testnet')).reason,
    'not a server',
  )
})

test('record.js refuses every small-order key, though tweetnacl alone accepts the forgery', async () => {
  const { api } = load()
  const now = Math.floor(Date.now() / 1000)
  let tried = 0
  for (const enc of smallOrderEncodings().filter(e => e.canonical)) {
    let forged: SignedRecord
    try {
      forged = forgeRecord(
        {
          network: 'testnet',
          publicKey: new Uint8Array(32),
          seq: 1,
          issuedAt: now - 10,
          expiresAt: now + 600,
          kind: 'server',
          endpoints: [],
          server: { name: 'forged', players: 0, maxPlayers: 1, world: '', version: '', tags: [] },
        },
        Buffer.from(enc.hex, 'hex'),
      )
    } catch {
      continue // no forgery found for this key within the tries
    }
    tried++
    const input = recordSigningInput(recordBody(forged))
    assert.ok(plainNaclVerify(forged.record.publicKey, input, forged.signature), 'a real forgery')
    const bytes = encodeSignedRecord(forged.record, forged.signature)
    const r = await api.checkRecord({ record: b64(bytes) }, 'testnet')
    assert.deepEqual([r.ok, r.reason], [false, 'weak key or signature'], enc.name)
  }
  assert.ok(tried >= 4, `forgeries tried: ${tried}`)
})
