import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import type { Egress, Priority } from '../../src/throttle/types.js'
import { Limits } from '../../src/wire/constants.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/framing.js'
import { type Introductions, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { testKey } from '../helpers/keys.js'
import { TcpProbe } from '../helpers/tcp-probe.js'
import {
  TcpTrackerClient,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
  startTracker,
} from '../helpers/tracker.js'

const now = (): number => Math.floor(Date.now() / 1000)

class RecordingEgress implements Egress {
  readonly calls: { how: 'admit' | 'wait'; bytes: number; priority: Priority }[] = []
  allow = true
  admit(bytes: number, priority: Priority): boolean {
    this.calls.push({ how: 'admit', bytes, priority })
    return this.allow
  }
  wait(bytes: number, priority: Priority): Promise<void> {
    this.calls.push({ how: 'wait', bytes, priority })
    return this.allow ? Promise.resolve() : Promise.reject(new Error('queue full'))
  }
  close(): Promise<void> {
    return Promise.resolve()
  }
}

test('egress: UDP replies are admitted, TCP replies waited for, with their priority class', async t => {
  const egress = new RecordingEgress()
  const tr = await startTracker(t, {}, { egress })
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  const a = testKey(1)
  const b = testKey(2)
  // No endpoint: the UDP source is the endpoint, proven by the cookie, so no challenge is sent
  // (a challenge would be one more datagram through the egress budget).
  const peer = makeRecord(a.privateKey, a.publicKey, now(), { endpoints: [] })
  const server = makeRecord(b.privateKey, b.publicKey, now(), {
    endpoints: [],
    kind: 'server',
    server: { name: 's', players: 0, maxPlayers: 2, world: '', version: '', tags: [] },
  })
  await udp.request({ type: 'announce', txid: 1, cookie: udp.cookie, record: peer })
  await udp.request({ type: 'announce', txid: 2, cookie: udp.cookie, record: server })
  await udp.request(queryMessage())
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  await tcp.request(queryMessage())
  assert.deepEqual(
    egress.calls.map(c => `${c.how}:${c.priority}`),
    ['admit:cookie', 'admit:signed', 'admit:server', 'admit:signed', 'wait:signed'],
  )
  assert.equal(egress.calls[0]!.bytes, 17)
  // Over budget: the UDP reply is dropped and counted; a refused TCP reply closes the connection.
  egress.allow = false
  assert.equal(await udp.request(queryMessage(), 300), null)
  assert.equal(tr.daemon.stats.get('dropped_egress'), 1)
  tcp.send(queryMessage())
  assert.ok(await tcp.waitClosed())
  assert.equal(tr.daemon.stats.get('tcp_egress_refused'), 1)
})

test('TCP: a bad frame length or an oversize request closes the connection', async t => {
  const tr = await startTracker(t)
  for (const bad of [
    Uint8Array.of(0, 0, 0, 0),
    Uint8Array.of(0, 0, 8, 1), // 2049 > MAX_REQUEST
    Uint8Array.of(0xff, 0xff, 0xff, 0xff),
  ]) {
    const c = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
    c.sendRaw(bad)
    assert.ok(await c.waitClosed(), `closed after ${Buffer.from(bad).toString('hex')}`)
  }
  assert.equal(tr.daemon.stats.get('tcp_framing_errors'), 3)
  // A malformed message in a good frame is answered MALFORMED and the connection stays.
  const c = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    c.close()
  })
  c.sendRaw(encodeFrame(Uint8Array.of(0x14, 0, 0, 0, 9, 1, 2)))
  const f = await c.nextFrame()
  assert.ok(f !== null)
  const m = decodeMessage(f)
  assert.ok(m.type === 'error')
  assert.equal(m.code, 1)
  assert.equal(m.txid, 9)
  const s = await c.request({ type: 'stats-request', txid: 2, cookie: new Uint8Array(12) })
  assert.equal(s?.type, 'stats-reply')
})

test('TCP: pipelined requests are answered in order, even past the pending cap', async t => {
  const tr = await startTracker(t, { tcpMaxPending: 2 })
  const c = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    c.close()
  })
  const frames: Uint8Array[] = []
  for (let i = 0; i < 300; i++) frames.push(encodeFrame(encodeMessage(queryMessage({ txid: i }))))
  c.sendRaw(Buffer.concat(frames))
  for (let i = 0; i < 300; i++) {
    const f = await c.nextFrame(5000)
    assert.ok(f !== null, `reply ${i}`)
    assert.equal(decodeMessage(f).txid, i)
  }
})

test('TCP: idle connections are closed; beyond the per-source share a connection is reset', async t => {
  // A global cap of 2 leaves one source a share of 1 (a quarter, at least 1): see tcp-limits.
  const tr = await startTracker(t, { tcpIdleTimeout: 1, tcpMaxConnections: 2 })
  const a = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    a.close()
  })
  await new Promise(r => setTimeout(r, 50))
  const c = await TcpProbe.open(tr.tcp)
  assert.ok(await c.waitClosed(2000), 'second connection from the same address closed')
  assert.equal(tr.daemon.stats.get('tcp_refused_source'), 1)
  assert.ok(await a.waitClosed(3000), 'idle connection closed')
  assert.ok(tr.daemon.stats.get('tcp_idle_closed') >= 1)
})

test('UDP introductions fit in one datagram; TCP carries them all', async t => {
  const tr = await startTracker(t)
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  const tags = Array.from({ length: 8 }, (_, i) => `tag${i}${'x'.repeat(19)}`)
  for (let i = 0; i < 30; i++) {
    const k = testKey(60 + i)
    const record = makeRecord(k.privateKey, k.publicKey, now(), {
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      kind: 'server',
      server: {
        name: 'n'.repeat(64),
        players: i,
        maxPlayers: 64,
        world: 'w'.repeat(64),
        version: 'v',
        tags,
      },
    })
    const r = await tcp.request({ type: 'announce', txid: i, cookie: new Uint8Array(12), record })
    assert.equal(r?.type, 'announce-reply')
  }
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp)
  t.after(() => udp.close())
  const q = queryMessage({ kind: 'server', mode: 'list', count: 100 })
  const raw = await udp.probe.request(
    encodeMessage({ ...q, cookie: udp.cookie }),
    tr.udp,
    '127.0.0.1',
  )
  assert.ok(raw !== null)
  assert.ok(raw.byteLength <= Limits.MAX_DATAGRAM)
  const m = decodeMessage(raw) as Introductions
  assert.equal(m.total, 30)
  assert.ok(m.entries.length >= 1 && m.entries.length < 30)
  const all = await tcp.request(q)
  assert.ok(all?.type === 'introductions')
  assert.equal(all.entries.length, 30)
  // A raw socket sees exactly one reply frame per request.
  const s = connect({ host: '127.0.0.1', port: tr.tcp })
  t.after(() => s.destroy())
  const dec = new FrameDecoder()
  const got: Uint8Array[] = []
  s.on('data', d => got.push(...dec.push(d)))
  s.write(encodeFrame(encodeMessage(q)))
  const deadline = Date.now() + 3000
  while (got.length === 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
  assert.equal(got.length, 1)
  assert.ok(got[0]!.byteLength > Limits.MAX_DATAGRAM)
})

test('TCP: a client that does not read stops being read; its replies resume when it reads', async t => {
  const tr = await startTracker(t, { tcpMaxBuffer: 8 * 1024 })
  const writer = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    writer.close()
  })
  const tags = Array.from({ length: 8 }, (_, i) => `tag${i}${'x'.repeat(19)}`)
  for (let i = 0; i < 30; i++) {
    const k = testKey(100 + i)
    const record = makeRecord(k.privateKey, k.publicKey, now(), {
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      kind: 'server',
      server: {
        name: 'n'.repeat(64),
        players: i,
        maxPlayers: 64,
        world: 'w'.repeat(64),
        version: 'v',
        tags,
      },
    })
    await writer.request({ type: 'announce', txid: i, cookie: new Uint8Array(12), record })
  }
  // A raw client that pipelines 2,000 list queries (~20 KiB of reply each) and reads nothing.
  const s = connect({ host: '127.0.0.1', port: tr.tcp })
  t.after(() => s.destroy())
  await new Promise<void>(resolve =>
    s.once('connect', () => {
      resolve()
    }),
  )
  s.pause()
  const q = encodeFrame(encodeMessage(queryMessage({ kind: 'server', mode: 'list', count: 100 })))
  const n = 2000
  s.write(Buffer.concat(Array.from({ length: n }, () => q)))
  await new Promise(r => setTimeout(r, 800))
  const answered = tr.daemon.stats.get('replies_tcp') - 30
  assert.ok(
    answered < n,
    `reading paused: ${answered} of ${n} answered while the client did not read`,
  )
  const dec = new FrameDecoder()
  let got = 0
  s.on('data', d => (got += dec.push(d).length))
  s.resume()
  const deadline = Date.now() + 15_000
  while (got < n && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
  assert.equal(got, n)
})

test('a bug met while handling one message is counted and answered INTERNAL, never thrown', async t => {
  let calls = 0
  let cookieCalls = 0
  const logged: string[] = []
  const tr = await startTracker(
    t,
    {},
    {
      // Charged only for validated sources: every second call throws.
      flood: {
        check: () => {
          calls++
          if (calls % 2 === 0) throw new Error('flood gate bug')
          return { action: 'pass' }
        },
      },
      // Charged only for unvalidated UDP sources: the second call throws.
      cookies: {
        admit: () => {
          cookieCalls++
          if (cookieCalls === 2) throw new Error('cookie budget bug')
          return true
        },
      },
      logger: {
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (_f, m) => {
          logged.push(m)
        },
      },
    },
  )
  const udp = await UdpTrackerClient.open('127.0.0.1', tr.udp) // cookie budget call 1 passes
  t.after(() => udp.close())
  assert.equal((await udp.request(queryMessage()))?.type, 'introductions', 'flood call 1 passes')
  const e = await udp.request(queryMessage()) // flood call 2 throws: a validated source hears INTERNAL
  assert.ok(e?.type === 'error')
  assert.equal(e.code, 13)
  const tcp = await TcpTrackerClient.open('127.0.0.1', tr.tcp)
  t.after(() => {
    tcp.close()
  })
  assert.equal((await tcp.request(queryMessage()))?.type, 'introductions') // flood call 3
  const r = await tcp.request(queryMessage()) // flood call 4 throws
  assert.ok(r?.type === 'error')
  assert.equal(r.code, 13)
  // Cookie budget call 2 throws for a source without a valid cookie: silence.
  const raw = encodeMessage({ ...queryMessage(), cookie: new Uint8Array(12) })
  assert.equal(await udp.probe.request(raw, tr.udp, '127.0.0.1', 300), null)
  assert.equal(tr.daemon.stats.get('internal_errors'), 3)
  assert.equal(logged.length, 3)
  assert.equal(calls, 4)
})
