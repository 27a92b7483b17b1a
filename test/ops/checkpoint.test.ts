import assert from 'node:assert/strict'
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { isTrackerError } from '../../src/errors.js'
import {
  CHECKPOINT_FILE,
  type Checkpoint,
  Checkpointer,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  writeCheckpoint,
} from '../../src/ops/checkpoint/index.js'
import { peerRecord, recordingLogger } from '../helpers/ops.js'

const NOW = 1_800_000_000_000
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'mt-ckpt-'))

function sample(n = 3, issuedAt = NOW / 1000 - 60): Checkpoint {
  const entries = []
  for (let i = 0; i < n; i++) {
    entries.push({
      record: peerRecord(i + 1, issuedAt).bytes,
      observed:
        i % 2 === 0
          ? { family: 4 as const, address: `192.0.2.${i + 1}`, port: 4000 + i }
          : { family: 6 as const, address: `2001:db8::${i + 1}`, port: 4000 + i },
      lastSeen: NOW - i * 1000,
    })
  }
  return { savedAt: NOW, cookieSecret: new Uint8Array(32).fill(9), entries }
}

const isCode = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code

test('a checkpoint round-trips: secret, time, entries with IPv4 and IPv6 endpoints', () => {
  const c = sample(5)
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(c)), c)
  const empty = { savedAt: 1, cookieSecret: new Uint8Array(32), entries: [] }
  assert.deepEqual(decodeCheckpoint(encodeCheckpoint(empty)), empty)
})

test('any truncation is refused as CHECKPOINT_CORRUPT', () => {
  const bytes = encodeCheckpoint(sample(3))
  for (let len = 0; len < bytes.byteLength; len++) {
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, len)), isCode('CHECKPOINT_CORRUPT'))
  }
})

test('any flipped bit is refused (checksum), a version byte as CHECKPOINT_VERSION', () => {
  const bytes = encodeCheckpoint(sample(2))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: bytes.byteLength * 8 - 1 }), bit => {
      const copy = bytes.slice()
      copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7))
      const inVersion = bit >> 3 === 8 || bit >> 3 === 9
      assert.throws(
        () => decodeCheckpoint(copy),
        isCode(inVersion ? 'CHECKPOINT_VERSION' : 'CHECKPOINT_CORRUPT'),
      )
    }),
    { numRuns: 400 },
  )
  assert.throws(() => decodeCheckpoint(new TextEncoder().encode('{"json": true}')), /bad magic/)
})

test('writeCheckpoint replaces the file atomically, mode 0600, no temp file left', async () => {
  const dir = tempDir()
  await writeCheckpoint(dir, sample(2))
  await writeCheckpoint(dir, sample(4))
  assert.deepEqual(readdirSync(dir), [CHECKPOINT_FILE])
  assert.equal(statSync(join(dir, CHECKPOINT_FILE)).mode & 0o777, 0o600)
  assert.equal(decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE))).entries.length, 4)
  await assert.rejects(writeCheckpoint(join(dir, 'missing'), sample(1)), (err: unknown) => {
    assert.ok(isCode('CHECKPOINT_WRITE_FAILED')(err))
    assert.match((err as Error).message, /missing.*ENOENT/)
    return true
  })
})

test('loadCheckpoint: no file is "none"; leftover temp files are removed', async () => {
  const dir = tempDir()
  writeFileSync(join(dir, `${CHECKPOINT_FILE}.tmp-abc`), 'half a write')
  assert.deepEqual(await loadCheckpoint(dir), { status: 'none' })
  assert.deepEqual(readdirSync(dir), [])
})

test('loadCheckpoint drops expired records and any whose signature fails', async () => {
  const dir = tempDir()
  const c = sample(4)
  // Entry 1 expired a second ago; entry 2 has a flipped signature byte (the file checksum is
  // computed after, so only the re-verification can catch it).
  c.entries[1] = { ...c.entries[1]!, record: peerRecord(7, NOW / 1000 - 601).bytes }
  const forged = c.entries[2]!.record.slice()
  forged[forged.byteLength - 1] = (forged[forged.byteLength - 1] ?? 0) ^ 1
  c.entries[2] = { ...c.entries[2]!, record: forged }
  await writeCheckpoint(dir, c)
  const result = await loadCheckpoint(dir, { clock: new ManualClock(NOW) })
  assert.equal(result.status, 'loaded')
  assert.equal(result.expired, 1)
  assert.equal(result.invalid, 1)
  const stored = result.checkpoint.entries.map(({ record, observed, lastSeen }) => ({
    record,
    observed,
    lastSeen,
  }))
  assert.deepEqual(stored, [c.entries[0], c.entries[3]])
  // Each kept entry carries its record decoded (once), and the public key the deny list reads.
  for (const e of result.checkpoint.entries) {
    assert.deepEqual(e.signed.bytes, e.record)
    assert.deepEqual(e.publicKey, e.signed.record.publicKey)
  }
  assert.deepEqual(result.checkpoint.cookieSecret, c.cookieSecret)
  // Without verification the forged record is kept (the operator chose speed).
  const fast = await loadCheckpoint(dir, { clock: new ManualClock(NOW), verify: false })
  assert.ok(fast.status === 'loaded' && fast.invalid === 0 && fast.checkpoint.entries.length === 3)
})

test('a corrupt checkpoint is refused and kept aside as checkpoint.corrupt-<time>', async () => {
  const dir = tempDir()
  await writeCheckpoint(dir, sample(3))
  const path = join(dir, CHECKPOINT_FILE)
  const bytes = readFileSync(path)
  writeFileSync(path, bytes.subarray(0, bytes.byteLength - 10)) // truncated
  const result = await loadCheckpoint(dir, {
    clock: new ManualClock(Date.UTC(2027, 0, 2, 3, 4, 5)),
  })
  assert.equal(result.status, 'corrupt')
  assert.equal(result.error.code, 'CHECKPOINT_CORRUPT')
  assert.match(result.error.message, /no end marker|checksum mismatch/)
  assert.equal(result.keptAs, join(dir, 'checkpoint.corrupt-2027-01-02T03-04-05-000Z'))
  assert.equal(existsSync(path), false)
  assert.deepEqual(readFileSync(result.keptAs), bytes.subarray(0, bytes.byteLength - 10))
})

test('Checkpointer saves periodically, logs each save, and saves on stop', async () => {
  const dir = tempDir()
  const logger = recordingLogger()
  let n = 0
  const cp = new Checkpointer(
    { dir, intervalSeconds: 0.05 },
    { logger, snapshot: () => sample(++n % 3) },
  )
  cp.start()
  const deadline = Date.now() + 5000
  while (cp.counts.saved < 2 && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
  assert.ok(cp.counts.saved >= 2, 'two periodic saves')
  await cp.stop()
  await cp.stop()
  const last = logger.lines.at(-1)!
  assert.equal(last.fields.event, 'checkpoint')
  assert.equal(last.fields.reason, 'stop')
  assert.equal(typeof last.fields.snapshotMs, 'number', 'the time the table was read in')
  assert.equal(decodeCheckpoint(readFileSync(join(dir, CHECKPOINT_FILE))).entries.length, n % 3)
})

test('a failed save is logged with its code and reported to the caller', async () => {
  const logger = recordingLogger()
  const cp = new Checkpointer(
    { dir: join(tempDir(), 'gone'), intervalSeconds: 0 },
    { logger, snapshot: () => sample(1) },
  )
  await assert.rejects(cp.save('test'), isCode('CHECKPOINT_WRITE_FAILED'))
  assert.equal(cp.counts.failed, 1)
  const line = logger.lines[0]!
  assert.equal(line.level, 'error')
  assert.equal(line.fields.code, 'CHECKPOINT_WRITE_FAILED')
})
