import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import { TrackerError } from '../../src/errors.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { VerifyPool, autoVerifyWorkers } from '../../src/crypto/verify-pool.js'
import { packBatch, verifyPacked } from '../../src/crypto/verify-pool-batch.js'
import {
  type NodeRecord,
  type SignedRecord,
  decodeRecord,
  encodeSignedRecord,
} from '../../src/wire/record.js'
import { forgeRecord, smallOrderEncodings } from '../helpers/forged-records.js'
import { makeRecord } from '../helpers/signed-records.js'

/** The record with one bit of its bytes flipped (signature or body), re-decoded when it can be. */
function tampered(r: SignedRecord, at: number, bit: number): SignedRecord | null {
  const bytes = Uint8Array.from(r.bytes)
  const i = at % bytes.byteLength
  bytes[i] = (bytes[i] ?? 0) ^ (1 << bit)
  try {
    return decodeRecord(bytes)
  } catch {
    return null
  }
}

const fields: NodeRecord = {
  network: 'testnet',
  publicKey: new Uint8Array(32),
  seq: 1,
  issuedAt: 1_700_000_000,
  expiresAt: 1_700_003_600,
  kind: 'peer',
  endpoints: [],
  server: null,
}

/** Forged records for small-order keys (they verify under plain RFC 8032, not here). */
const forged = smallOrderEncodings()
  .filter(k => k.canonical)
  .slice(0, 4)
  .map(k => forgeRecord(fields, Uint8Array.from(Buffer.from(k.hex, 'hex'))))

const valid = Array.from({ length: 12 }, (_, i) => makeRecord(i + 1, { seq: i + 1 }))

function pool(t: { after(fn: () => unknown): void }, workers = 2, maxQueue?: number): VerifyPool {
  const p = new VerifyPool({ workers, ...(maxQueue === undefined ? {} : { maxQueue }) })
  t.after(() => p.close())
  return p
}

describe('the batch bytes', () => {
  test('one transferred buffer verifies like verifyRecord, record by record', () => {
    const records = [...valid, ...forged]
    const bad = tampered(valid[0] as SignedRecord, 200, 3)
    if (bad !== null) records.push(bad)
    const got = [...verifyPacked(packBatch(records))].map(b => b === 1)
    assert.deepEqual(
      got,
      records.map(r => verifyRecord(r)),
    )
    assert.ok(got.includes(true) && got.includes(false))
  })
})

describe('VerifyPool', () => {
  test('auto: no worker on one core, every core up to 8', () => {
    assert.equal(autoVerifyWorkers(1), 0)
    assert.equal(autoVerifyWorkers(2), 2)
    assert.equal(autoVerifyWorkers(64), 8)
  })

  test('agrees with verifyRecord on valid, tampered, small-order-key and random records', async t => {
    const p = pool(t)
    const arb = fc.record({
      n: fc.nat({ max: valid.length - 1 }),
      how: fc.constantFrom('valid', 'tampered', 'forged', 'random'),
      at: fc.nat(),
      bit: fc.nat({ max: 7 }),
      sig: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 40 }), async cases => {
        const records: SignedRecord[] = []
        for (const c of cases) {
          const base = valid[c.n] as SignedRecord
          if (c.how === 'valid') records.push(base)
          else if (c.how === 'forged') records.push(forged[c.n % forged.length] as SignedRecord)
          else if (c.how === 'random') {
            records.push(decodeRecord(encodeSignedRecord(base.record, c.sig)))
          } else {
            const r = tampered(base, c.at, c.bit)
            if (r !== null) records.push(r)
          }
        }
        const expected = records.map(r => verifyRecord(r))
        assert.deepEqual(await p.verifyBatch(records), expected)
        const one = await Promise.all(
          records.map(r => p.trySubmit(r) ?? Promise.reject(new Error('refused'))),
        )
        assert.deepEqual(one, expected)
      }),
      { numRuns: 40 },
    )
    assert.equal(
      forged.every(r => !verifyRecord(r)),
      true,
    )
    assert.ok(p.stats.batches > 0)
  })

  test('a trickle of records starts no thread; a backlog does', async t => {
    const p = pool(t, 2)
    for (const r of valid.slice(0, 8)) assert.equal(await p.trySubmit(r), true)
    assert.equal(p.stats.inThread, 8)
    assert.equal(p.stats.workers, 0)
    // 100 at once: the first worker starts (checked here until it is ready).
    const many = Array.from({ length: 100 }, (_, i) => valid[i % valid.length] as SignedRecord)
    assert.ok((await p.verifyBatch(many)).every(Boolean))
    assert.equal(p.stats.workers + p.stats.starting, 1)
    await p.warm()
    assert.equal(p.stats.workers, 1)
  })

  test('workers start on demand, up to the most allowed, and take the work off this thread', async t => {
    const p = pool(t, 2)
    assert.equal(p.stats.workers, 0, 'no thread before first use')
    await p.warm()
    assert.equal(p.stats.workers, 1)
    const before = p.stats.inThread
    const many = Array.from({ length: 400 }, (_, i) => valid[i % valid.length] as SignedRecord)
    // Keep it busy until the second worker is up (poll, generous deadline).
    const deadline = Date.now() + 60_000
    while (p.stats.workers < 2 && Date.now() < deadline) {
      assert.ok((await p.verifyBatch(many)).every(Boolean))
    }
    assert.equal(p.stats.workers, 2)
    assert.equal(p.stats.inThread, before, 'nothing verified on this thread once a worker is up')
    assert.equal(p.stats.queued, 0)
    assert.equal(p.stats.inFlight, 0)
  })

  test('back-pressure: trySubmit refuses beyond maxQueue, and admits again once drained', async t => {
    const p = pool(t, 1, 8)
    const r = valid[0] as SignedRecord
    const held: Promise<boolean>[] = []
    for (let i = 0; i < 8; i++) {
      const got = p.trySubmit(r)
      assert.ok(got !== null, `record ${i} admitted`)
      held.push(got)
    }
    assert.equal(p.trySubmit(r), null, 'the ninth is refused, not queued')
    assert.equal(p.stats.refused, 1)
    // Bulk work is never refused and does not count against announces.
    const bulk = p.verifyBatch([r, r, r])
    assert.deepEqual(await Promise.all(held), Array(8).fill(true))
    assert.deepEqual(await bulk, [true, true, true])
    const again = p.trySubmit(r)
    assert.ok(again !== null)
    assert.equal(await again, true)
  })

  test('close while busy: in-flight answers arrive, waiting ones fail VERIFY_POOL_CLOSED, nothing hangs', async t => {
    const p = pool(t, 2)
    // Warm up so that batches are really in workers when close() comes.
    await p.warm()
    const many = Array.from({ length: 2000 }, (_, i) => valid[i % valid.length] as SignedRecord)
    const bulk = p.verifyBatch(many)
    const one = p.trySubmit(valid[0] as SignedRecord)
    const settled = Promise.allSettled([bulk, one ?? Promise.resolve(true)])
    await new Promise(setImmediate)
    await p.close()
    for (const s of await settled) {
      if (s.status === 'fulfilled') continue
      assert.ok(s.reason instanceof TrackerError)
      assert.equal(s.reason.code, 'VERIFY_POOL_CLOSED')
    }
    await assert.rejects(p.verifyBatch(valid), { code: 'VERIFY_POOL_CLOSED' })
    await assert.rejects(p.trySubmit(valid[0] as SignedRecord) ?? Promise.resolve(), {
      code: 'VERIFY_POOL_CLOSED',
    })
    await p.close()
    assert.equal(p.stats.workers, 0)
  })

  test('a worker that dies mid-batch: its records are checked here, it is replaced', async t => {
    // Says ready, then exits on its first batch.
    const dying = (): Worker =>
      new Worker(
        `const { parentPort } = require('node:worker_threads')
         parentPort.on('message', () => process.exit(3))
         parentPort.postMessage({ ready: true })`,
        { eval: true },
      )
    const p = new VerifyPool({ workers: 1, spawn: dying })
    t.after(() => p.close())
    await p.warm()
    const records = [...valid, ...forged]
    const got = await p.verifyBatch(records)
    assert.deepEqual(
      got,
      records.map(r => verifyRecord(r)),
    )
    assert.ok(p.stats.restarts >= 1)
  })

  test('workers that cannot start: after three, every record is checked on this thread', async t => {
    const broken = (): Worker => new Worker('process.exit(1)', { eval: true })
    const p = new VerifyPool({ workers: 2, spawn: broken })
    t.after(() => p.close())
    for (let i = 0; i < 6; i++) {
      await p.warm()
    }
    const many = Array.from({ length: 300 }, (_, i) => valid[i % valid.length] as SignedRecord)
    assert.ok((await p.verifyBatch(many)).every(Boolean))
    assert.equal(p.stats.workers, 0)
    assert.equal(p.stats.starting, 0, 'no more threads started')
    assert.ok(p.stats.restarts >= 3)
    assert.ok(p.stats.inThread >= 300)
  })
})
