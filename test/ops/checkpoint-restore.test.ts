import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { inlineVerifier } from '../../src/crypto/verifier.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import type { BatchVerifier } from '../../src/crypto/verifier.js'
import {
  type CheckpointEntry,
  type CheckpointFile,
  Restore,
  dropInvalid,
  openCheckpoint,
  loadCheckpoint,
  restoreEntries,
  verifyEntries,
  writeCheckpoint,
} from '../../src/ops/checkpoint/index.js'
import { ClientTable } from '../../src/table/client-table.js'
import { latin1, recordKeyLength } from '../../src/wire/layout.js'
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

/** A gate the restore waits at between two slices while it is held. */
function gate(): { between: () => Promise<void>; release: () => void } {
  let held = true
  const waiting: (() => void)[] = []
  return {
    between: () => (held ? new Promise(resolve => waiting.push(resolve)) : Promise.resolve()),
    release: () => {
      held = false
      for (const w of waiting.splice(0)) w()
    },
  }
}

async function opened(dir: string): Promise<CheckpointFile> {
  const o = await openCheckpoint(dir, NOW)
  assert.ok(o.status === 'open')
  return o.file
}

const keyOf = (bytes: Uint8Array): string => latin1(bytes.subarray(0, recordKeyLength(bytes)))
/** Slices of one entry, no time budget: the window is the same on any machine. */
const oneBySlice = { sliceEntries: 1, sliceMs: 600_000, firstSliceMs: 600_000 }

test('a key withdrawn inside the restore window is brought back neither by the restore nor by a save', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-restore-'))
  const records = [1, 2, 3, 4].map(n => peerRecord(n, T - 60).bytes)
  await writeCheckpoint(dir, {
    savedAt: NOW,
    cookieSecret: new Uint8Array(32),
    entries: records.map((r, i) => entry(r, i)),
  })
  const clock = new ManualClock(NOW)
  const table = new ClientTable({
    maxEntries: 100,
    maxBytes: 1_000_000,
    maxTtl: 3600,
    perBlockMax: 100,
    replayMemory: 64,
    clock,
  })
  const g = gate()
  const restore = new Restore(
    {
      file: await opened(dir),
      table,
      verifier: inlineVerifier,
      allowed: () => true,
      networks: [],
      clock,
    },
    { ...oneBySlice, between: g.between },
  )
  await restore.start()
  assert.equal(table.size, 1)
  // Key 3's owner withdraws it (seq 2) before the restore reaches its checkpointed seq 1.
  table.withdraw(peerRecord(3, T - 30, 0, { seq: 2 }))
  const rest: string[] = []
  for await (const e of restore.remainder()) rest.push(keyOf(e.record))
  assert.deepEqual(rest, [keyOf(records[1]!), keyOf(records[3]!)], 'a save leaves key 3 out')

  // A save that began now (its table read at once) and reads the remainder after the restore
  // has put it back still holds it: restored meanwhile is not "held at a higher seq".
  const during = restore.remainder()
  g.release()
  const progress = await restore.done
  const late: string[] = []
  for await (const e of during) late.push(keyOf(e.record))
  assert.deepEqual(late, rest)
  assert.equal(progress.restored, 3)
  assert.equal(progress.refused, 1)
  assert.equal(table.peek(keyOf(records[2]!)), undefined, 'the withdrawal stands')
  assert.equal((await restore.verified)?.checked, 4)
})

test('re-verification feeds the verifier in batches and drops what it refuses', async () => {
  const { dir, forged } = await written()
  const clock = new ManualClock(NOW)
  const table = newTable(clock)
  const batches: number[] = []
  // A verifier that answers later, as a worker pool does.
  const verifier: BatchVerifier = {
    async verifyBatch(records) {
      batches.push(records.length)
      await new Promise(resolve => setImmediate(resolve))
      return records.map(r => verifyRecord(r))
    },
    close: () => Promise.resolve(),
  }
  const restore = new Restore(
    { file: await opened(dir), table, verifier, allowed: () => true, networks: ['test'], clock },
    { verifyBatch: 2 },
  )
  await restore.start()
  const result = await restore.verified
  assert.ok(result !== null)
  assert.deepEqual(batches, [2, 2, 1], 'five records of the served network, two at a time')
  assert.deepEqual(
    result.invalid.map(e => e.record),
    [forged],
  )
  assert.equal(restore.progress.dropped, 1)
  assert.equal(table.size, 4)
  assert.deepEqual(table.checkInvariants(), [])
})

test('a verifier that rejects (closed) ends the re-verification with its error, nothing unhandled', async () => {
  const { dir } = await written()
  const clock = new ManualClock(NOW)
  const closed: BatchVerifier = {
    verifyBatch: () => Promise.reject(new Error('verifier closed')),
    close: () => Promise.resolve(),
  }
  const restore = new Restore(
    {
      file: await opened(dir),
      table: newTable(clock),
      verifier: closed,
      allowed: () => true,
      networks: [],
      clock,
    },
    { verifyBatch: 1, verifyInFlight: 2 },
  )
  await restore.start()
  await assert.rejects(restore.verified, /verifier closed/)
  assert.equal((await restore.done).restored, 6)
})
