// Checkpoint format version 2 (chained chunks, written and read a chunk at a time) and the
// version 1 files written before it, read from a committed fixture.
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { isTrackerError } from '../../src/errors.js'
import {
  CHECKPOINT_FILE,
  type CheckpointEntry,
  CheckpointFile,
  decodeCheckpoint,
  encodeCheckpoint,
  openCheckpoint,
  writeCheckpointStream,
} from '../../src/ops/checkpoint/index.js'
import { encodeChunk, encodeHeader } from '../../src/ops/checkpoint/format.js'
import { peerRecord } from '../helpers/ops.js'

const NOW = 1_800_000_000_000
const T = NOW / 1000
const FIXTURE = join(import.meta.dirname, 'fixtures/checkpoint-v1.bin')
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'mt-ckpt-format-'))
const isCode = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code

/** What the fixture holds (signatures are deterministic: the same bytes are rebuilt here). */
function fixtureEntries(): CheckpointEntry[] {
  const entries: CheckpointEntry[] = []
  for (let i = 0; i < 4; i++) {
    entries.push({
      record: peerRecord(i + 1, T - 60, 600, i === 3 ? { seq: 7 } : {}).bytes,
      observed:
        i % 2 === 0
          ? { family: 4, address: `192.0.2.${i + 1}`, port: 4000 + i }
          : { family: 6, address: `2001:db8::${i + 1}`, port: 4000 + i },
      lastSeen: NOW - i * 1000,
    })
  }
  return entries
}

/** A few signed records, reused: the format does not care whether keys repeat. */
const RECORDS = Array.from({ length: 16 }, (_, i) => peerRecord(i + 1, T - 60).bytes)

function entries(n: number, from = 0): CheckpointEntry[] {
  const out: CheckpointEntry[] = []
  for (let i = from; i < from + n; i++) {
    out.push({
      record: RECORDS[i % RECORDS.length]!,
      observed: { family: 4, address: `192.0.2.${(i % 250) + 1}`, port: 4000 + (i % 1000) },
      lastSeen: NOW - i,
    })
  }
  return out
}

test('a version 1 checkpoint (committed fixture) is still read, whole and a chunk at a time', async () => {
  const bytes = readFileSync(FIXTURE)
  assert.equal(bytes.readUInt16BE(8), 1, 'the fixture is version 1')
  const c = decodeCheckpoint(bytes)
  assert.equal(c.savedAt, NOW)
  assert.deepEqual(c.cookieSecret, new Uint8Array(32).fill(9))
  assert.deepEqual(c.entries, fixtureEntries())

  const dir = tempDir()
  copyFileSync(FIXTURE, join(dir, CHECKPOINT_FILE))
  const opened = await openCheckpoint(dir, NOW)
  assert.ok(opened.status === 'open')
  assert.equal(opened.file.version, 1)
  assert.equal(opened.file.entries, 4)
  assert.deepEqual(await opened.file.chunk(0), c.entries)
  await opened.file.close()

  // Saved again, it is version 2 with the same content.
  const again = encodeCheckpoint(c)
  assert.equal(Buffer.from(again).readUInt16BE(8), 2)
  assert.deepEqual(decodeCheckpoint(again), c)
})

test('a streamed save is the same file as the whole encoding, and reads back chunk by chunk', async () => {
  const small = { savedAt: NOW, cookieSecret: new Uint8Array(32).fill(4), entries: entries(3) }
  const dir = tempDir()
  assert.deepEqual(await writeCheckpointStream(dir, small), {
    bytes: encodeCheckpoint(small).byteLength,
    entries: 3,
  })
  assert.deepEqual(
    new Uint8Array(readFileSync(join(dir, CHECKPOINT_FILE))),
    encodeCheckpoint(small),
  )

  // Over 64 KiB: several chunks; `rest` (a restore's remainder) is appended after `entries`.
  const head = entries(1500)
  const tail = entries(1500, 1500)
  async function* rest(): AsyncGenerator<CheckpointEntry> {
    for (const e of tail) yield await Promise.resolve(e)
  }
  const written = await writeCheckpointStream(dir, { ...small, entries: head, rest: rest() })
  assert.equal(written.entries, 3000)
  const file = await CheckpointFile.open(join(dir, CHECKPOINT_FILE))
  assert.ok(file.chunks > 1, `${file.chunks} chunks`)
  assert.equal(file.entries, 3000)
  const read: CheckpointEntry[] = []
  for (let i = 0; i < file.chunks; i++) read.push(...(await file.chunk(i)))
  await file.close()
  assert.deepEqual(read, [...head, ...tail])
})

test('a truncated checkpoint is refused before anything is used, and kept aside byte for byte', async () => {
  const bytes = encodeCheckpoint({
    savedAt: NOW,
    cookieSecret: new Uint8Array(32),
    entries: entries(2100), // three chunks
  })
  const dir = tempDir()
  const cuts = [0, 5, 9, 60, 81, 82, 90, 400, bytes.byteLength >> 1]
  for (let i = 1; i <= 41; i++) cuts.push(bytes.byteLength - i)
  for (const [n, cut] of cuts.entries()) {
    const part = bytes.subarray(0, cut)
    writeFileSync(join(dir, CHECKPOINT_FILE), part)
    const result = await openCheckpoint(dir, NOW + n * 1000)
    assert.ok(result.status === 'corrupt', `cut at ${cut}: ${result.status}`)
    assert.equal(result.error.code, 'CHECKPOINT_CORRUPT', `cut at ${cut}`)
    assert.equal(existsSync(join(dir, CHECKPOINT_FILE)), false)
    assert.deepEqual(new Uint8Array(readFileSync(result.keptAs)), part)
  }
})

test('chunks dropped, swapped, repeated or changed after opening are refused', async () => {
  const header = encodeHeader({ savedAt: NOW, cookieSecret: new Uint8Array(32) })
  const [e1, e2] = entries(2)
  const a = encodeChunk(header.digest, [e1!])
  const b = encodeChunk(a.digest, [e2!])
  const end = encodeChunk(b.digest, [])
  const dir = tempDir()
  const path = join(dir, CHECKPOINT_FILE)
  const file = (...parts: Uint8Array[]): Buffer => Buffer.concat([header.bytes, ...parts])
  writeFileSync(path, file(a.bytes, b.bytes, end.bytes))
  assert.equal(decodeCheckpoint(readFileSync(path)).entries.length, 2)
  for (const parts of [
    [b.bytes, end.bytes],
    [b.bytes, a.bytes, end.bytes],
    [a.bytes, a.bytes, b.bytes, end.bytes],
    [a.bytes, b.bytes, end.bytes, end.bytes],
    [a.bytes, b.bytes],
  ]) {
    writeFileSync(path, file(...parts))
    await assert.rejects(CheckpointFile.open(path), isCode('CHECKPOINT_CORRUPT'))
    assert.throws(() => decodeCheckpoint(readFileSync(path)), isCode('CHECKPOINT_CORRUPT'))
  }
  // A chunk length beyond any budget is refused from its head, before it is read.
  const huge = Buffer.from(a.bytes)
  huge.writeUInt32BE(0xffffffff, 4)
  writeFileSync(path, file(huge, b.bytes, end.bytes))
  await assert.rejects(CheckpointFile.open(path), isCode('CHECKPOINT_CORRUPT'))

  // Checked when opened, then changed under the tracker: the chunk is refused when read.
  writeFileSync(path, file(a.bytes, b.bytes, end.bytes))
  const opened = await CheckpointFile.open(path)
  const changed = file(a.bytes, b.bytes, end.bytes)
  const at = header.bytes.byteLength + 20
  changed[at] = (changed[at] ?? 0) ^ 1
  writeFileSync(path, changed)
  await assert.rejects(opened.chunk(0), isCode('CHECKPOINT_CORRUPT'))
  assert.equal((await opened.chunk(1)).length, 1)
  await opened.close()
})

test('version 2 entries carry their proof (endpoint mask and time); version 1 entries none', async () => {
  const proven = entries(5).map((e, i) =>
    i % 2 === 0 ? { ...e, proven: 1 + i, provenAt: T - 100 * i - 1 } : e,
  )
  const c = { savedAt: NOW, cookieSecret: new Uint8Array(32).fill(5), entries: proven }
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(c)).entries, proven)
  const dir = tempDir()
  await writeCheckpointStream(dir, c)
  const file = await CheckpointFile.open(join(dir, CHECKPOINT_FILE))
  assert.deepEqual(await file.chunk(0), proven)
  await file.close()
  // A mask without a time (or a time without a mask) is no proof.
  const half = [{ ...entries(1)[0]!, proven: 3 }]
  assert.equal(
    decodeCheckpoint(encodeCheckpoint({ ...c, entries: half })).entries[0]?.proven,
    undefined,
  )
  for (const e of decodeCheckpoint(readFileSync(FIXTURE)).entries) {
    assert.equal('proven' in e || 'provenAt' in e, false)
  }
})
