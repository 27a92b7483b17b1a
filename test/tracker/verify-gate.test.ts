import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import type { QueueingVerifier } from '../../src/crypto/verify-pool.js'
import {
  type HandlerContext,
  type Source,
  VerifyGate,
  serveRequest,
} from '../../src/tracker/handlers/index.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { type Harness, harness } from '../helpers/handler.js'
import { type RecordSpec, makeRecord as signedRecord } from '../helpers/signed-records.js'

/** The harness's ManualClock is not the wall clock: records are issued at its time. */
let clockNow = 0
const makeRecord = (n: number, spec: RecordSpec = {}): SignedRecord =>
  signedRecord(n, { issuedAt: clockNow, ...spec })

/**
 * A verifier whose answers the test releases by hand (the real check, given when released), so
 * that the state can change while a record is "on the pool".
 */
class HeldVerifier implements QueueingVerifier {
  readonly capacity: number
  readonly held: { record: SignedRecord; resolve: (ok: boolean) => void }[] = []
  constructor(capacity = 100) {
    this.capacity = capacity
  }
  trySubmit(record: SignedRecord): Promise<boolean> | null {
    if (this.held.length >= this.capacity) return null
    return new Promise(resolve => this.held.push({ record, resolve }))
  }
  verifyBatch(records: readonly SignedRecord[]): Promise<boolean[]> {
    return Promise.resolve(records.map(r => verifyRecord(r)))
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
  /** Answer the held record of this seq (the real verdict). */
  release(seq: number): void {
    const i = this.held.findIndex(h => h.record.record.seq === seq)
    const h = this.held.splice(i, 1)[0]
    assert.ok(h !== undefined, `seq ${seq} is held`)
    h.resolve(verifyRecord(h.record))
  }
}

interface Setup {
  h: Harness
  ctx: HandlerContext
  pool: HeldVerifier
  gate: VerifyGate
  src: Source
  /** Serve an announce of `record` from `from` (UDP unless told); the reply decoded. */
  announce(
    record: SignedRecord,
    from?: Source,
    transport?: 'udp' | 'tcp',
  ): Message | null | Promise<Message | null>
}

function setup(capacity = 100, perSource?: number): Setup {
  const h = harness()
  clockNow = h.nowSeconds()
  const pool = new HeldVerifier(capacity)
  const gate = new VerifyGate(pool, perSource)
  const ctx: HandlerContext = { ...h.ctx, verify: gate }
  const src = h.source('192.0.2.10', 4000)
  let txid = 1
  return {
    h,
    ctx,
    pool,
    gate,
    src,
    announce(record, from = src, transport = 'udp') {
      const m = { type: 'announce' as const, txid: txid++, cookie: h.cookieFor(from), record }
      const out = serveRequest(ctx, encodeMessage(m), from, transport)
      const decode = (r: { bytes: Uint8Array } | null): Message | null =>
        r === null ? null : decodeMessage(r.bytes)
      return out instanceof Promise ? out.then(decode) : decode(out)
    },
  }
}

function heldSeq(h: Harness, r: SignedRecord): number | undefined {
  return h.table.peek(Buffer.from(r.bytes.subarray(0, 1 + 7 + 32)).toString('latin1'))?.seq
}

describe('announces on the verify pool', () => {
  test('nothing is stored or answered before the signature is checked', async () => {
    const s = setup()
    const r = makeRecord(1, { seq: 4 })
    const pending = s.announce(r)
    assert.ok(pending instanceof Promise, 'a fresh announce waits for the pool')
    assert.equal(s.h.table.size, 0)
    s.pool.release(4)
    const reply = await pending
    assert.ok(reply?.type === 'announce-reply' && reply.status === 'new')
    assert.equal(s.h.table.size, 1)
  })

  test('a bad signature from the pool is refused and stores nothing', async () => {
    const s = setup()
    const good = makeRecord(1, { seq: 4 })
    const sig = Uint8Array.from(good.signature)
    sig[5] = (sig[5] ?? 0) ^ 1
    const bytes = Uint8Array.from(good.bytes)
    bytes.set(sig, bytes.byteLength - 64)
    const bad = decodeRecord(bytes)
    const pending = s.announce(bad)
    s.pool.release(4)
    const reply = await pending
    assert.ok(reply?.type === 'error')
    assert.equal(reply.code, WireErrorCode.BAD_SIGNATURE)
    assert.equal(s.h.table.size, 0)
    assert.equal(s.h.stats.get('bad_signatures'), 1)
  })

  test('a replay racing a higher seq loses: the seq is checked again when the answer is back', async () => {
    const s = setup()
    const older = makeRecord(1, { seq: 2 })
    const newer = makeRecord(1, { seq: 3 })
    // Both pass the cheap checks (nothing held yet) and wait on the pool.
    const first = s.announce(older)
    const second = s.announce(newer)
    assert.equal(s.pool.held.length, 2)
    // The higher seq comes back first and is stored...
    s.pool.release(3)
    const r2 = await second
    assert.ok(r2?.type === 'announce-reply' && r2.status === 'new')
    // ...then the lower one: without the re-check it would replace seq 3 with seq 2.
    s.pool.release(2)
    const r1 = await first
    assert.ok(r1?.type === 'error', JSON.stringify(r1))
    assert.equal(r1.code, WireErrorCode.STALE_SEQUENCE)
    assert.equal(heldSeq(s.h, newer), 3)
  })

  test('a withdrawal racing a higher seq loses too', async () => {
    const s = setup()
    const now = s.h.nowSeconds()
    const withdrawal = makeRecord(1, { seq: 5, issuedAt: now, lifetime: 0, endpoints: [] })
    const newer = makeRecord(1, { seq: 6 })
    const w = s.announce(withdrawal)
    const a = s.announce(newer)
    s.pool.release(6)
    assert.ok((await a)?.type === 'announce-reply')
    s.pool.release(5)
    const rw = await w
    assert.ok(rw?.type === 'error')
    assert.equal(rw.code, WireErrorCode.STALE_SEQUENCE)
    assert.equal(heldSeq(s.h, newer), 6)
  })

  test('the same bytes stored meanwhile are answered as a refresh, not stored twice', async () => {
    const s = setup()
    const r = makeRecord(1, { seq: 2 })
    const a = s.announce(r)
    const b = s.announce(r)
    s.pool.release(2)
    assert.ok((await a)?.type === 'announce-reply')
    s.pool.release(2)
    const rb = await b
    assert.ok(rb?.type === 'announce-reply' && rb.status === 'refreshed')
    assert.equal(s.h.stats.get('announces_new'), 1)
  })

  test('a full pool: OVERLOADED with retryAfter at once, nothing queued', async () => {
    const s = setup(1, 10)
    const pending = s.announce(makeRecord(1))
    const busy = s.announce(makeRecord(2))
    assert.ok(!(busy instanceof Promise))
    assert.ok(busy?.type === 'error')
    assert.equal(busy.code, WireErrorCode.OVERLOADED)
    assert.ok(busy.retryAfter >= 1)
    assert.equal(s.h.stats.get('verify_busy'), 1)
    assert.equal(s.pool.held.length, 1)
    s.pool.release(1)
    assert.ok((await pending)?.type === 'announce-reply')
  })

  test('per-source cap: one source cannot fill the pool; others still get in', async () => {
    const s = setup(100, 2)
    const a = s.announce(makeRecord(1))
    const b = s.announce(makeRecord(2))
    // The third from the same address (another port): dropped on UDP, OVERLOADED on TCP.
    const sameAddress = s.h.source('192.0.2.10', 5000)
    assert.equal(s.announce(makeRecord(3), sameAddress), null)
    const overTcp = s.announce(makeRecord(4), sameAddress, 'tcp')
    assert.ok(!(overTcp instanceof Promise) && overTcp?.type === 'error')
    assert.equal(overTcp.code, WireErrorCode.OVERLOADED)
    assert.equal(s.h.stats.get('verify_source_capped'), 2)
    // Another source is admitted.
    const other = s.announce(makeRecord(5), s.h.source('198.51.100.7', 4000))
    assert.ok(other instanceof Promise)
    assert.equal(s.pool.held.length, 3)
    // Once its records are answered, the source gets its share back.
    s.pool.release(1)
    await a
    const again = s.announce(makeRecord(6, { seq: 2 }))
    assert.ok(again instanceof Promise)
    for (const seq of [1, 1, 2]) s.pool.release(seq)
    await Promise.all([b, other, again])
  })

  test('after close (the daemon pausing) an answer changes nothing and sends nothing', async () => {
    const s = setup()
    const pending = s.announce(makeRecord(1))
    const closing = s.gate.close()
    s.pool.release(1)
    await closing
    assert.equal(await pending, null)
    assert.equal(s.h.table.size, 0)
    // New work is refused as busy.
    const after = s.announce(makeRecord(2))
    assert.ok(!(after instanceof Promise) && after?.type === 'error')
  })

  test('refreshes and queries never wait for the pool', () => {
    const s = setup()
    // Stored through the synchronous path first.
    const r = makeRecord(1)
    const stored = s.h.send(
      { type: 'announce', txid: 1, cookie: new Uint8Array(12), record: r },
      s.src,
    )
    assert.ok(stored?.type === 'announce-reply')
    const refresh = s.announce(r)
    assert.ok(!(refresh instanceof Promise))
    assert.ok(refresh?.type === 'announce-reply' && refresh.status === 'refreshed')
    assert.equal(s.pool.held.length, 0)
  })
})
