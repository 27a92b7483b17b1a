// Checkpoint cost for a full table, binary format against a JSON dump (DDNet's --write-dump
// style: the same entries, records as hex) measured in one run, plus the cost of re-verifying
// every record on load.
// Usage: npx tsx scripts/bench-checkpoint.ts [--entries 100000]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { privateKeyFromSeed, rawPublicKey } from '../src/crypto/ed25519.js'
import { signRecord } from '../src/crypto/record-sign.js'
import {
  type CheckpointEntry,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  writeCheckpoint,
} from '../src/ops/checkpoint/index.js'

const arg = process.argv.indexOf('--entries')
const count = arg > 0 ? Number(process.argv[arg + 1]) : 100_000
const now = Math.floor(Date.now() / 1000)

// Distinct keys, as in a real table. Signing them is set-up, not measured.
const entries: CheckpointEntry[] = []
const seed = new Uint8Array(32)
for (let i = 0; i < count; i++) {
  new DataView(seed.buffer).setUint32(0, i + 1)
  const key = privateKeyFromSeed(seed)
  const signed = signRecord(
    {
      network: 'quake.example',
      publicKey: rawPublicKey(key),
      seq: 1,
      issuedAt: now,
      expiresAt: now + 3600,
      kind: i % 10 === 0 ? 'server' : 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 27960 }],
      server:
        i % 10 === 0
          ? {
              name: `server ${i}`,
              players: 3,
              maxPlayers: 16,
              world: 'q3dm17',
              version: '1.32c',
              tags: [],
            }
          : null,
    },
    key,
  )
  entries.push({
    record: signed.bytes,
    observed: {
      family: 4,
      address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      port: 40000,
    },
    lastSeen: Date.now(),
  })
}

const dir = mkdtempSync(join(tmpdir(), 'mt-bench-ckpt-'))
const time = async (fn: () => unknown): Promise<number> => {
  const start = performance.now()
  await fn()
  return performance.now() - start
}
const checkpoint = { savedAt: Date.now(), cookieSecret: new Uint8Array(32), entries }

let binaryBytes = 0
const encodeMs = await time(() => (binaryBytes = encodeCheckpoint(checkpoint).byteLength))
const writeMs = await time(() => writeCheckpoint(dir, checkpoint))
const decodeMs = await time(async () =>
  decodeCheckpoint(await readFile(join(dir, 'checkpoint.bin'))),
)
const loadFastMs = await time(() => loadCheckpoint(dir, { verify: false }))
let verified = 0
const loadMs = await time(async () => {
  const r = await loadCheckpoint(dir, { verify: true })
  if (r.status === 'loaded') verified = r.checkpoint.entries.length
})

const jsonPath = join(dir, 'dump.json')
let jsonBytes = 0
const jsonWriteMs = await time(async () => {
  const text = JSON.stringify({
    savedAt: checkpoint.savedAt,
    entries: entries.map(e => ({
      record: Buffer.from(e.record).toString('hex'),
      observed: e.observed,
      lastSeen: e.lastSeen,
    })),
  })
  jsonBytes = Buffer.byteLength(text)
  await writeFile(jsonPath, text)
})
const jsonReadMs = await time(async () => {
  const parsed = JSON.parse(await readFile(jsonPath, 'utf8')) as { entries: { record: string }[] }
  for (const e of parsed.entries) Buffer.from(e.record, 'hex')
})
rmSync(dir, { recursive: true, force: true })

const ms = (n: number): string => n.toFixed(0)
console.log(
  `node ${process.version}, ${count.toLocaleString('en')} entries, ${verified} verified\n`,
)
console.log('| operation | ms | file |')
console.log('|---|---:|---:|')
console.log(`| binary: encode | ${ms(encodeMs)} | ${(binaryBytes / 1e6).toFixed(1)} MB |`)
console.log(`| binary: encode + write (temp, fsync, rename, fsync dir) | ${ms(writeMs)} | |`)
console.log(`| binary: read + decode + checksum | ${ms(decodeMs)} | |`)
console.log(`| binary: load, records decoded, not verified | ${ms(loadFastMs)} | |`)
console.log(`| binary: load, records decoded and verified | ${ms(loadMs)} | |`)
console.log(
  `| JSON dump (peer): stringify + write | ${ms(jsonWriteMs)} | ${(jsonBytes / 1e6).toFixed(1)} MB |`,
)
console.log(`| JSON dump (peer): read + parse | ${ms(jsonReadMs)} | |`)
console.log('')
console.log(`write: JSON / binary = ${(jsonWriteMs / writeMs).toFixed(1)}x`)
console.log(
  `read:  JSON read + parse / binary read + parse = ${(jsonReadMs / decodeMs).toFixed(1)}x`,
)
console.log(
  `verification: ${(((loadMs - loadFastMs) / count) * 1000).toFixed(0)} µs per record, ` +
    `${(loadMs / loadFastMs).toFixed(1)}x the unverified load`,
)
