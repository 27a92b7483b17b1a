// Operations wired into the tracker: flood control at the handler and over real UDP, the egress
// budget over real UDP, deny list and checkpoint through TrackerRuntime (in process).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { FloodControl } from '../../src/throttle/flood.js'
import { writeCheckpoint } from '../../src/ops/checkpoint/index.js'
import { type TrackerConfig, parseConfig } from '../../src/ops/config.js'
import { TrackerRuntime } from '../../src/ops/runtime.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { harness } from '../helpers/handler.js'
import { testKey } from '../helpers/keys.js'
import { recordingLogger } from '../helpers/ops.js'
import {
  TcpTrackerClient,
  type Teardown,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
} from '../helpers/tracker.js'
import { UdpProbe } from '../helpers/udp.js'

const nowSeconds = (): number => Math.floor(Date.now() / 1000)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Teardown in reverse order of set-up (trackers stop before their directory goes). */
function scope(t: Teardown): { dir: string; defer: (fn: () => unknown) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mt-runtime-'))
  const stack: (() => unknown)[] = [
    () => {
      rmSync(dir, { recursive: true, force: true })
    },
  ]
  t.after(async () => {
    for (const fn of stack.reverse()) await fn()
  })
  return { dir, defer: fn => stack.push(fn) }
}

function config(dataDir: string, raw: Record<string, unknown> = {}): TrackerConfig {
  return parseConfig({ udp: 0, tcp: 0, http: null, data: dataDir, ...raw })
}

async function running(
  t: { defer: (fn: () => unknown) => void },
  c: TrackerConfig,
  logger = recordingLogger(),
): Promise<{ rt: TrackerRuntime; udp: number; tcp: number; logger: typeof logger }> {
  const rt = await TrackerRuntime.open(c, { logger })
  await rt.start()
  t.defer(() => rt.stop())
  const a = rt.daemon.addresses()
  return { rt, udp: a.udp ?? 0, tcp: a.tcp ?? 0, logger }
}

function record(n: number): SignedRecord {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, nowSeconds(), {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
}

async function announce(tcpPort: number, recs: SignedRecord[]): Promise<void> {
  const tcp = await TcpTrackerClient.open('127.0.0.1', tcpPort)
  try {
    for (const record of recs) {
      const r = await tcp.request({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record })
      assert.equal(r?.type, 'announce-reply')
    }
  } finally {
    tcp.close()
  }
}

test('handler level: a flooding source is warned once, then silenced; another is served', () => {
  const clock = new ManualClock()
  const flood = new FloodControl({ rate: 1, burst: 5, sources: 100 }, { clock })
  const h = harness({}, { flood, clock })
  const flooder = h.source('198.51.100.7', 4000)
  const other = h.source('203.0.113.9', 4000)
  const replies: string[] = []
  for (let i = 0; i < 20; i++) {
    // The flooder sends 10 a second, the other source 1 a second (the rate allowed).
    const r = h.send(queryMessage({ txid: i }), flooder)
    replies.push(r === null ? 'silence' : r.type === 'error' ? `error ${r.code}` : r.type)
    if (i % 10 === 0) {
      assert.equal(h.send(queryMessage({ txid: 100 + i }), other)?.type, 'introductions')
    }
    clock.advance(100)
  }
  assert.deepEqual(replies, [
    ...Array<string>(5).fill('introductions'),
    `error ${WireErrorCode.RATE_LIMITED}`,
    ...Array<string>(14).fill('silence'),
  ])
  assert.equal(h.stats.get('rate_limited'), 1)
  assert.equal(h.stats.get('dropped_flood'), 14)
})

test('over real UDP: one flooding source is cut while another source is served', async t => {
  const sc = scope(t)
  const dir = sc.dir
  // Two listeners, so the well-behaved client can come from another address (::1).
  const { rt, udp } = await running(
    sc,
    config(dir, { host: ['127.0.0.1', '::1'], flood: { rate: 2, burst: 6 } }),
  )
  const flooder = await UdpTrackerClient.open('127.0.0.1', udp) // the cookie costs one token
  t.after(() => flooder.close())
  const seen: string[] = []
  for (let i = 0; i < 12; i++) {
    const r = await flooder.request(queryMessage({ txid: i }), 300)
    seen.push(r === null ? 'silence' : r.type)
    if (r?.type === 'error') {
      assert.equal(r.code, WireErrorCode.RATE_LIMITED)
      assert.ok(r.retryAfter >= 1, 'a retry-after hint')
    }
  }
  const firstError = seen.indexOf('error')
  assert.ok(firstError >= 4 && firstError <= 6, seen.join(' '))
  assert.ok(
    seen.slice(0, firstError).every(s => s === 'introductions'),
    seen.join(' '),
  )
  assert.ok(
    seen.slice(firstError + 1).every(s => s === 'silence'),
    seen.join(' '),
  )
  const good = await UdpTrackerClient.open('::1', udp)
  t.after(() => good.close())
  assert.equal((await good.request(queryMessage({ txid: 99 })))?.type, 'introductions')
  assert.ok(rt.daemon.stats.get('dropped_flood') >= 12 - firstError - 1)
  assert.equal(rt.daemon.stats.get('flood_sources'), 2)
})

test('over real UDP: cookie replies beyond the egress budget are dropped and counted', async t => {
  const sc = scope(t)
  const dir = sc.dir
  // 2,048 bytes/s: cookie replies (17 bytes) may use half of it, about 60 a second.
  const { rt, udp } = await running(
    sc,
    config(dir, { egress: { bytesPerSecond: 2048 }, flood: { rate: 0 } }),
  )
  const probe = await UdpProbe.open()
  t.after(() => probe.close())
  const request = encodeMessage({ type: 'cookie-request', txid: 1 })
  // 300 requests within ~0.3 s, in small batches so the kernel's receive buffer keeps them.
  const start = Date.now()
  for (let i = 0; i < 300; i++) {
    probe.send(request, udp, '127.0.0.1')
    if (i % 20 === 19) await new Promise(resolve => setTimeout(resolve, 20))
  }
  let received = 0
  while ((await probe.next(300)) !== null) received++
  // At most 1,024 bytes of cookie replies (60) in each second of the clock the run touched.
  const seconds = Math.floor((Date.now() - 300) / 1000) - Math.floor(start / 1000) + 1
  const dropped = rt.daemon.stats.get('egress_dropped_cookie')
  const requests = rt.daemon.stats.get('cookies_issued')
  assert.ok(rt.daemon.stats.get('udp_received') > 200, 'most requests arrived')
  assert.ok(received > 0 && received <= 60 * seconds, `${received} replies in ${seconds} s`)
  assert.ok(dropped > 0, 'the budget was exceeded')
  assert.equal(received + dropped, requests, `${received} sent + ${dropped} dropped`)
  assert.equal(rt.daemon.stats.get('dropped_egress'), dropped)
})

test('restart: entries and the cookie secret come back; denied entries are not restored', async t => {
  const sc = scope(t)
  const dir = sc.dir
  const first = await running(sc, config(dir))
  const recs = [record(81), record(82), record(83)]
  await announce(first.tcp, recs)
  const secret = first.rt.daemon.cookieSecret
  await first.rt.stop()
  await first.rt.stop() // idempotent

  // The secret file is gone (say, a restore from backup of the checkpoint only): the
  // checkpoint's copy brings it back. And key 81 is denied now.
  unlinkSync(join(dir, 'cookie-secret'))
  const denyFile = join(dir, 'deny.txt')
  writeFileSync(denyFile, Buffer.from(recs[0]!.record.publicKey).toString('hex'))
  const second = await running(sc, config(dir, { denyList: denyFile }))
  assert.deepEqual(second.rt.daemon.cookieSecret, secret)
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'cookie-secret'))), secret)
  assert.equal(second.rt.daemon.table.size, 2)
  const restored = second.logger.lines.find(l => l.fields.event === 'restored')
  assert.deepEqual(restored?.fields, { event: 'restored', restored: 2, denied: 1 })
})

test('restored records are re-verified after binding; one that fails is dropped', async t => {
  const sc = scope(t)
  const dir = sc.dir
  const good = [record(91), record(92)]
  const forged = record(93).bytes.slice()
  forged[forged.byteLength - 1] = (forged[forged.byteLength - 1] ?? 0) ^ 1
  const observed = { family: 4 as const, address: '127.0.0.1', port: 5000 }
  await writeCheckpoint(dir, {
    savedAt: Date.now(),
    cookieSecret: new Uint8Array(32).fill(3),
    entries: [...good.map(r => r.bytes), forged].map(record => ({
      record,
      observed,
      lastSeen: Date.now(),
    })),
  })
  const { rt, logger } = await running(sc, config(dir))
  const result = await rt.verified
  assert.equal(result?.checked, 3)
  assert.equal(result.invalid.length, 1)
  assert.equal(rt.daemon.table.size, 2)
  const line = logger.lines.find(l => l.fields.event === 'checkpoint_verified')
  assert.equal(line?.level, 'warn')
  assert.equal(line.fields.dropped, 1)
})

test('checkpoint.verify false skips the re-verification', async t => {
  const sc = scope(t)
  const dir = sc.dir
  const first = await running(sc, config(dir))
  await announce(first.tcp, [record(95)])
  await first.rt.stop()
  const second = await running(sc, config(dir, { checkpoint: { verify: false } }))
  assert.equal(await second.rt.verified, null)
  assert.equal(second.rt.daemon.table.size, 1)
})

test('stop: announces sent once stop() began are either unanswered or in the checkpoint', async t => {
  const sc = scope(t)
  const c = config(sc.dir, { checkpoint: { interval: 0, verify: false } })
  const { rt, udp } = await running(sc, c)
  const client = await UdpTrackerClient.open('127.0.0.1', udp)
  t.after(() => client.close())
  const recs = Array.from({ length: 20 }, (_, i) => record(120 + i))
  const stopping = rt.stop('test')
  // Sent after stop() was called, while the last checkpoint is being taken.
  for (const [i, rec] of recs.entries()) {
    client.probe.send(
      encodeMessage({ type: 'announce', txid: i, cookie: client.cookie, record: rec }),
      udp,
      '127.0.0.1',
    )
  }
  await stopping
  const acked: string[] = []
  for (
    let reply = await client.probe.next(300);
    reply !== null;
    reply = await client.probe.next(300)
  ) {
    const m = decodeMessage(reply)
    if (m.type === 'announce-reply' && m.status === 'new') {
      acked.push(hex(recs[m.txid]!.record.publicKey))
    }
  }
  const again = await TrackerRuntime.open(c)
  const held = new Set(
    [...again.daemon.table.entries()].map(e => hex(decodeRecord(e.record).record.publicKey)),
  )
  assert.deepEqual(
    acked.filter(k => !held.has(k)),
    [],
    `acknowledged (${acked.length}) but not in the checkpoint`,
  )
})

test('stop order: listeners and attached observers stop before the last checkpoint', async t => {
  const sc = scope(t)
  const logger = recordingLogger()
  const { rt } = await running(sc, config(sc.dir), logger)
  rt.attach({
    close: async () => {
      await new Promise(r => setTimeout(r, 20))
      logger.info({ event: 'observer_closed' }, 'observer closed')
    },
  })
  await rt.stop()
  const at = (pred: (f: Record<string, unknown>, msg: string) => boolean): number =>
    logger.lines.findIndex(l => pred(l.fields, l.msg))
  const paused = at((_, msg) => msg === 'tracker paused')
  const observer = at(f => f.event === 'observer_closed')
  const saved = at(f => f.event === 'checkpoint' && f.reason === 'stop')
  const closed = at((_, msg) => msg === 'tracker closed')
  assert.ok(paused >= 0 && observer >= 0 && saved >= 0 && closed >= 0, 'every step logged')
  assert.ok(paused < saved && observer < saved, 'reading stops before the last checkpoint')
  assert.ok(saved < closed)
  // Attached after the stop began: closed at once.
  let late = false
  rt.attach({
    close: () => {
      late = true
      return Promise.resolve()
    },
  })
  assert.ok(late)
})
