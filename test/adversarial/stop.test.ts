// Stop under load: a steady stream of fresh signed announces over UDP while the tracker stops.
// Every announce the tracker answered `new` must be in the last checkpoint, so a restart on the
// same data directory holds it (docs/operations.md, "Stopping").
import assert from 'node:assert/strict'
import { type Socket, createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import { loadCheckpoint } from '../../src/ops/checkpoint/index.js'
import { parseConfig } from '../../src/ops/config.js'
import { TrackerRuntime } from '../../src/ops/runtime.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { ServeProcess } from '../helpers/serve-process.js'
import type { Teardown } from '../helpers/tracker.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mt-stop-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** `n` fresh peer records, one key each (seeds derived from `tag` and the index). */
function freshRecords(tag: number, n: number): SignedRecord[] {
  const now = Math.floor(Date.now() / 1000)
  const out: SignedRecord[] = []
  for (let i = 0; i < n; i++) {
    const seed = new Uint8Array(32).fill(tag)
    new DataView(seed.buffer).setUint32(0, i + 1)
    const privateKey = privateKeyFromSeed(seed)
    const record = {
      network: 'testnet',
      publicKey: rawPublicKey(privateKey),
      seq: 1,
      issuedAt: now,
      expiresAt: now + 600,
      kind: 'peer' as const,
      endpoints: [],
      server: null,
    }
    out.push(signRecord(record, privateKey))
  }
  return out
}

/**
 * Announces `records` over UDP, keeping up to `window` unanswered at once (an unanswered one is
 * given up after `giveUpMs`). Collects the keys the tracker answered `new`.
 */
class AnnounceStream {
  readonly acked = new Set<string>()
  sent = 0
  #next = 0
  readonly #inFlight = new Map<number, number>()
  #cookie: Uint8Array = new Uint8Array(12)
  #running = false
  #timer: NodeJS.Timeout | null = null

  private constructor(
    readonly socket: Socket,
    readonly port: number,
    readonly records: SignedRecord[],
    readonly window: number,
    readonly giveUpMs: number,
  ) {
    socket.on('message', msg => {
      this.#onMessage(msg)
    })
    socket.on('error', () => undefined)
  }

  static async open(port: number, records: SignedRecord[], window = 32): Promise<AnnounceStream> {
    const socket = createSocket('udp4')
    await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
    const s = new AnnounceStream(socket, port, records, window, 500)
    await s.#fetchCookie()
    return s
  }

  async #fetchCookie(): Promise<void> {
    const deadline = Date.now() + 10_000
    while (this.#cookie.every(b => b === 0)) {
      if (Date.now() > deadline) throw new Error('no cookie reply')
      this.socket.send(encodeMessage({ type: 'cookie-request', txid: 0 }), this.port, '127.0.0.1')
      await new Promise(r => setTimeout(r, 100))
    }
  }

  #onMessage(msg: Buffer): void {
    let m
    try {
      m = decodeMessage(msg)
    } catch {
      return
    }
    if (m.type === 'cookie-reply') {
      this.#cookie = m.cookie
      return
    }
    if (m.type !== 'announce-reply') return
    const i = m.txid - 1
    this.#inFlight.delete(i)
    const rec = this.records[i]
    if (m.status === 'new' && rec !== undefined) this.acked.add(hex(rec.record.publicKey))
    this.#pump()
  }

  #pump(): void {
    if (!this.#running) return
    const now = Date.now()
    for (const [i, at] of this.#inFlight) if (now - at > this.giveUpMs) this.#inFlight.delete(i)
    while (this.#inFlight.size < this.window && this.#next < this.records.length) {
      const i = this.#next++
      const record = this.records[i] as SignedRecord
      const bytes = encodeMessage({ type: 'announce', txid: i + 1, cookie: this.#cookie, record })
      this.#inFlight.set(i, now)
      this.sent++
      this.socket.send(bytes, this.port, '127.0.0.1')
    }
  }

  /** Send `n` more announces now, whatever the window: they reach a tracker that is stopping. */
  burst(n: number): void {
    for (let k = 0; k < n; k += this.window) {
      this.#inFlight.clear()
      this.#pump()
    }
  }

  start(): void {
    this.#running = true
    this.#pump()
    // Keeps the stream going when replies stop coming (the tracker stopped answering).
    this.#timer = setInterval(() => {
      this.#pump()
    }, 20)
  }

  /** Stop sending; keep listening `graceMs` more for replies already on their way. */
  async end(graceMs = 200): Promise<void> {
    this.#running = false
    if (this.#timer !== null) clearInterval(this.#timer)
    await new Promise(r => setTimeout(r, graceMs))
    await new Promise<void>(resolve => this.socket.close(resolve))
  }

  get exhausted(): boolean {
    return this.#next >= this.records.length
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 5))
  }
}

test('stop under a stream of announces: every one answered `new` survives the restart', async t => {
  const dir = tempDir(t)
  const config = parseConfig({
    host: '127.0.0.1',
    udp: 0,
    tcp: 0,
    http: null,
    data: dir,
    flood: { rate: 0 },
    // Every announce comes from 127.0.0.1: one address block.
    perBlock: 100_000,
    checkpoint: { interval: 0, verify: false },
  })
  const records = freshRecords(7, 6000)
  const rt = await TrackerRuntime.open(config)
  await rt.start()
  t.after(() => rt.stop())
  const stream = await AnnounceStream.open(rt.daemon.addresses().udp ?? 0, records)
  stream.start()
  await until(() => stream.acked.size >= 300, 30_000, '300 acknowledged announces')
  const sentBeforeStop = stream.sent
  // The window paces the stream by replies, and a stopping tracker sends none: a burst makes
  // sure announces arrive while the stop runs, whatever the machine's load.
  const stopping = rt.stop('test')
  stream.burst(64)
  await stopping
  const sentDuringStop = stream.sent - sentBeforeStop
  await stream.end()
  assert.ok(!stream.exhausted, 'the stream was still running when the stop completed')
  assert.ok(sentDuringStop > 0, 'announces arrived while the tracker stopped')

  const again = await TrackerRuntime.open(config)
  // The checkpoint is restored once the listeners are bound (docs/operations.md, "Warm restart").
  await again.start()
  await again.restored
  const held = new Set([...again.daemon.table.entries()].map(e => hex(recordKey(e.record))))
  await again.stop()
  const lost = [...stream.acked].filter(k => !held.has(k))
  t.diagnostic(
    `acknowledged ${stream.acked.size}, sent during the stop ${sentDuringStop}, lost ${lost.length}`,
  )
  assert.equal(
    lost.length,
    0,
    `${lost.length} of ${stream.acked.size} acknowledged announces lost (${sentDuringStop} sent during the stop)`,
  )
})

test('serve, SIGTERM under a stream of announces: the checkpoint holds every one answered `new`', async t => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const { p, info } = await ServeProcess.start(t, [
    ...['--host', '127.0.0.1', '--udp', '0', '--tcp', '0', '--http', 'off'],
    ...['--data', data, '--flood-rate', '0', '--checkpoint-interval', '0'],
    ...['--per-block', '100000'],
  ])
  const records = freshRecords(8, 6000)
  const stream = await AnnounceStream.open(info.udp, records)
  stream.start()
  await until(() => stream.acked.size >= 300, 30_000, '300 acknowledged announces')
  p.kill('SIGTERM')
  assert.equal(await p.exited(), 0, p.stderr)
  await stream.end()
  assert.ok(!stream.exhausted, 'the stream was still running when serve exited')

  const loaded = await loadCheckpoint(data, { verify: false })
  assert.ok(loaded.status === 'loaded', loaded.status)
  const held = new Set(loaded.checkpoint.entries.map(e => hex(recordKey(e.record))))
  const lost = [...stream.acked].filter(k => !held.has(k))
  t.diagnostic(`acknowledged ${stream.acked.size}, sent ${stream.sent}, lost ${lost.length}`)
  assert.equal(lost.length, 0, `${lost.length} of ${stream.acked.size} acknowledged announces lost`)
})

function recordKey(bytes: Uint8Array): Uint8Array {
  return decodeRecord(bytes).record.publicKey
}
