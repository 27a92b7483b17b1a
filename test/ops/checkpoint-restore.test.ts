import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { inlineVerifier } from '../../src/crypto/verifier.js'
import {
  type CheckpointEntry,
  dropInvalid,
  loadCheckpoint,
  restoreEntries,
  verifyEntries,
  writeCheckpoint,
} from '../../src/ops/checkpoint/index.js'
import { ClientTable } from '../../src/table/client-table.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { peerRecord } from '../helpers/ops.js'

const NOW = 1_800_000_000_000
const T = NOW / 1000

const entry = (record: Uint8Array, i: number, port = 4000 + i): CheckpointEntry => ({
  record,
  observed: { family: 4, address: `192.0.2.${i + 1}`, port },
  lastSeen: NOW - 1000,
})

function newTable(clock: ManualClock): ClientTable {
  return new ClientTable({
    maxEntries: 100,
    maxBytes: 1_000_000,
    maxTtl: 3600,
    perBlockMax: 100,
    clock,
  })
}

/** A checkpoint of six entries: four good, one of another network, one with a forged signature. */
async function written(): Promise<{ dir: string; forged: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), 'mt-restore-'))
  const forged = peerRecord(6, T - 60).bytes.slice()
  forged[forged.byteLength - 1] = (forged[forged.byteLength - 1] ?? 0) ^ 1
  const records = [
    peerRecord(1, T - 60).bytes,
    peerRecord(2, T - 60).bytes,
    peerRecord(3, T - 60).bytes,
    peerRecord(4, T - 60).bytes,
    peerRecord(5, T - 60, 600, { network: 'other' }).bytes,
    forged,
  ]
  await writeCheckpoint(dir, {
    savedAt: NOW,
    cookieSecret: new Uint8Array(32),
    entries: records.map((r, i) => entry(r, i)),
  })
  return { dir, forged }
}

test('restore decodes each record once, from the file to the background re-verification', async () => {
  const { dir } = await written()
  const clock = new ManualClock(NOW)
  let decodes = 0
  const decode = (bytes: Uint8Array): SignedRecord => {
    decodes++
    return decodeRecord(bytes)
  }
  const loaded = await loadCheckpoint(dir, { clock, verify: false, decode })
  assert.ok(loaded.status === 'loaded')
  assert.equal(decodes, 6)
  const table = newTable(clock)
  const restored = restoreEntries(table, loaded.checkpoint.entries, clock.now(), ['test'])
  assert.equal(restored, 5, 'the other network is left out')
  const result = await verifyEntries(loaded.checkpoint.entries, inlineVerifier)
  assert.equal(result.checked, 6)
  assert.equal(result.invalid.length, 1)
  assert.equal(dropInvalid(table, result.invalid), 1)
  assert.equal(table.size, 4)
  assert.equal(decodes, 6, 'no step after loading decodes again')
  assert.deepEqual(table.checkInvariants(), [])
})

test('the table has no decoder: restore hands it decoded, trusted records', () => {
  const dir = join(import.meta.dirname, '../../src/table')
  for (const name of readdirSync(dir)) {
    assert.doesNotMatch(readFileSync(join(dir, name), 'utf8'), /decodeRecord/, name)
  }
})

test('restoreEntries skips expired records and unusable ports; dropInvalid spares a newer seq', async () => {
  const { dir, forged } = await written()
  const clock = new ManualClock(NOW)
  const loaded = await loadCheckpoint(dir, { clock, verify: false })
  assert.ok(loaded.status === 'loaded')
  const entries = loaded.checkpoint.entries
  const table = newTable(clock)
  const portless = { ...entries[0]!, observed: { ...entries[0]!.observed, port: 0 } }
  // Restored an hour later: every record (issued a minute before NOW, 600 s of life) expired.
  assert.equal(restoreEntries(table, entries, NOW + 3_600_000), 0)
  assert.equal(restoreEntries(table, [portless], NOW), 0)
  assert.equal(restoreEntries(table, entries, NOW), 6)
  const result = await verifyEntries(entries, inlineVerifier)
  assert.deepEqual(
    result.invalid.map(e => e.record),
    [forged],
  )
  // The forged record's key announced a newer seq meanwhile: dropping the old one spares it.
  const newer = peerRecord(6, T - 30, 600, { seq: 2 })
  assert.ok(table.insert(newer, result.invalid[0]!.observed) !== undefined)
  assert.equal(dropInvalid(table, result.invalid), 0)
  assert.equal(table.size, 6)
})
