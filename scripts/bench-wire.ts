// Wire and signature throughput, node:crypto and tweetnacl side by side in one run.
// Usage: npm run bench:wire [-- --seconds 1]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import { performance } from 'node:perf_hooks'
import { generateKeyPair } from '../src/crypto/keys.js'
import { rawSeed, signBytes, verifyBytes } from '../src/crypto/ed25519.js'
import { naclSign, naclVerify } from '../src/crypto/nacl.js'
import { signRecord, verifyRecord } from '../src/crypto/record-sign.js'
import { SMALL_ORDER_Y, strictRefusal } from '../src/crypto/strict.js'
import { decodeMessage, encodeMessage } from '../src/wire/messages.js'
import {
  type NodeRecord,
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  recordSigningInput,
} from '../src/wire/record.js'

const secondsArg = process.argv.indexOf('--seconds')
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1

function rate(name: string, fn: () => void): { name: string; perSecond: number } {
  for (let i = 0; i < 200; i++) fn() // warm up
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  let now = start
  while (now < end) {
    for (let i = 0; i < 50; i++) fn()
    n += 50
    now = performance.now()
  }
  return { name, perSecond: n / ((now - start) / 1000) }
}

const { privateKey, publicKey } = generateKeyPair()
const seed = rawSeed(privateKey)
const fields: NodeRecord = {
  network: 'quake.example',
  publicKey,
  seq: 42,
  issuedAt: 1_800_000_000,
  expiresAt: 1_800_003_600,
  kind: 'server',
  endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
  server: {
    name: 'Fragfest EU #1',
    players: 11,
    maxPlayers: 16,
    world: 'q3dm17',
    version: '1.32c',
    tags: ['ctf'],
  },
}
const signed = signRecord(fields, privateKey)
const input = recordSigningInput(encodeRecordBody(fields))
const announce = encodeMessage({
  type: 'announce',
  txid: 1,
  cookie: new Uint8Array(12),
  record: signed,
})
const manyKeys = Array.from({ length: 20_000 }, () => generateKeyPair())
let k = 0
// Signatures by many keys, for the strict byte checks on varied (honest) bytes.
const manySigs = manyKeys.map(p => signBytes(p.privateKey, input))
// The slowest honest-looking input for the byte checks: key and R agree with a small-order row
// in every byte but the last one compared, and S has L's top byte.
const nearKey = (SMALL_ORDER_Y[5] ?? new Uint8Array(32)).slice()
nearKey[31] = (nearKey[31] ?? 0) ^ 0x01
const nearSig = new Uint8Array(64)
nearSig.set(nearKey, 0)
nearSig[63] = 0x10
let refused = 0

const rows = [
  rate('record encode (fields → bytes)', () => encodeSignedRecord(fields, signed.signature)),
  rate('record decode (bytes → fields)', () => decodeRecord(signed.bytes)),
  rate('announce message decode', () => decodeMessage(announce)),
  rate('sign, node:crypto', () => signBytes(privateKey, input)),
  rate('sign, tweetnacl', () => naclSign(seed, input)),
  rate('verify, node:crypto (cached KeyObject)', () =>
    verifyBytes(publicKey, input, signed.signature),
  ),
  rate('verify, node:crypto (20,000 distinct keys)', () => {
    const p = manyKeys[k++ % manyKeys.length]
    if (p !== undefined) verifyBytes(p.publicKey, input, signed.signature)
  }),
  rate('verify, tweetnacl', () => naclVerify(publicKey, input, signed.signature)),
  rate('record decode + verify, node:crypto', () => verifyRecord(decodeRecord(signed.bytes))),
  rate('strict byte checks (20,000 distinct keys and signatures)', () => {
    const i = k++ % manyKeys.length
    const p = manyKeys[i]
    const sig = manySigs[i]
    if (p !== undefined && sig !== undefined && strictRefusal(p.publicKey, sig) !== null) refused++
  }),
  rate('strict byte checks (worst case: near a small-order row)', () => {
    if (strictRefusal(nearKey, nearSig) !== null) refused++
  }),
]

const byName = new Map(rows.map(r => [r.name, r.perSecond]))
const ratio = (a: string, b: string): string =>
  ((byName.get(a) ?? 0) / (byName.get(b) ?? 1)).toFixed(1)
console.log(
  `node ${process.version}, ${seconds} s per row, record of ${signed.bytes.byteLength} bytes\n`,
)
console.log('| operation | per second |')
console.log('|---|---:|')
for (const r of rows)
  console.log(`| ${r.name} | ${Math.round(r.perSecond).toLocaleString('en-US')} |`)
console.log(
  `\nverify: node:crypto / tweetnacl = ${ratio('verify, node:crypto (cached KeyObject)', 'verify, tweetnacl')}x`,
)
console.log(`sign:   node:crypto / tweetnacl = ${ratio('sign, node:crypto', 'sign, tweetnacl')}x`)
console.log(
  `decode is ${ratio('record decode (bytes → fields)', 'verify, node:crypto (cached KeyObject)')}x faster than verify`,
)
const share = (check: string): string =>
  (
    (100 * (byName.get('verify, node:crypto (cached KeyObject)') ?? 0)) /
    (byName.get(check) ?? 1)
  ).toFixed(3)
console.log(
  `strict byte checks cost ${share('strict byte checks (20,000 distinct keys and signatures)')} % ` +
    `of a verify (worst case ${share('strict byte checks (worst case: near a small-order row)')} %)` +
    (refused > 0 ? ` (refused ${refused}: unexpected)` : ''),
)
