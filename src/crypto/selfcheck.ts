import { naclVerifyRecord } from './nacl.js'
import { generateKeyPair } from './keys.js'
import { signRecord, verifyRecord } from './record-sign.js'
import { type Message, decodeMessage, encodeMessage } from '../wire/messages.js'
import { Limits } from '../wire/constants.js'
import { decodeRecord } from '../wire/record.js'

export interface SelfCheckReport {
  ok: boolean
  checks: { name: string; ok: boolean }[]
  lines: string[]
}

/**
 * The protocol self-check: a fresh key signs a peer and a server record; every message type is
 * encoded and decoded; signatures are verified by node:crypto and tweetnacl; a flipped bit is
 * refused. Needs no network and no files.
 */
export function selfCheck(nowSeconds: number = Math.floor(Date.now() / 1000)): SelfCheckReport {
  const checks: { name: string; ok: boolean }[] = []
  const check = (name: string, ok: boolean): void => {
    checks.push({ name, ok })
  }
  const { privateKey, publicKey } = generateKeyPair()
  const base = {
    network: 'selfcheck',
    publicKey,
    seq: 1,
    issuedAt: nowSeconds,
    expiresAt: nowSeconds + 600,
  }
  const peer = signRecord(
    {
      ...base,
      kind: 'peer',
      endpoints: [{ family: 4, address: '192.0.2.1', port: 4000 }],
      server: null,
    },
    privateKey,
  )
  const server = signRecord(
    {
      ...base,
      kind: 'server',
      endpoints: [{ family: 6, address: '2001:db8::1', port: 27960 }],
      server: {
        name: 'Self-check arena',
        players: 3,
        maxPlayers: 16,
        world: 'dm1',
        version: '1.0',
        tags: ['ctf'],
      },
    },
    privateKey,
  )
  for (const [name, rec] of [
    ['peer', peer],
    ['server', server],
  ] as const) {
    check(`${name} record verifies (node:crypto)`, verifyRecord(rec))
    check(`${name} record verifies (tweetnacl)`, naclVerifyRecord(rec))
    const flipped = rec.bytes.slice()
    flipped[flipped.byteLength - 70] = (flipped[flipped.byteLength - 70] ?? 0) ^ 1
    let refused: boolean
    try {
      refused = !verifyRecord(decodeRecord(flipped))
    } catch {
      refused = true
    }
    check(`${name} record with a flipped bit is refused`, refused)
  }
  const cookie = new Uint8Array(Limits.COOKIE_BYTES).fill(7)
  const observed = { family: 4 as const, address: '198.51.100.7', port: 5000 }
  const messages: Message[] = [
    { type: 'cookie-request', txid: 1 },
    { type: 'cookie-reply', txid: 1, cookie },
    { type: 'announce', txid: 2, cookie, record: server },
    { type: 'announce-reply', txid: 2, status: 'new', interval: 60, observed },
    {
      type: 'query',
      txid: 3,
      cookie,
      network: 'selfcheck',
      kind: 'server',
      mode: 'best',
      count: 10,
      offset: 0,
      sort: 'players',
      notFull: true,
      world: 'dm1',
      version: '',
      tags: [],
      exclude: null,
    },
    {
      type: 'introductions',
      txid: 3,
      total: 1,
      entries: [{ observed, verified: false, age: 1, record: peer.bytes }],
    },
    { type: 'error', txid: 4, code: 7, retryAfter: 5 },
    {
      type: 'challenge',
      txid: 5,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    {
      type: 'challenge-reply',
      txid: 5,
      token: new Uint8Array(16),
      publicKey: new Uint8Array(32),
      network: 'n',
    },
    { type: 'stats-request', txid: 6, cookie },
    { type: 'stats-reply', txid: 6, stats: [{ name: 'entries', value: 1 }] },
  ]
  for (const m of messages) {
    const bytes = encodeMessage(m)
    const again = encodeMessage(decodeMessage(bytes))
    check(`${m.type} round-trips (${bytes.byteLength} bytes)`, Buffer.compare(bytes, again) === 0)
  }
  const ok = checks.every(c => c.ok)
  const lines = checks.map(c => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}`)
  lines.push(
    ok ? `protocol self-check passed (${checks.length} checks)` : 'protocol self-check FAILED',
  )
  return { ok, checks, lines }
}
