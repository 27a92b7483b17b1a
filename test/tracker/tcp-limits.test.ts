import assert from 'node:assert/strict'
import { test } from 'node:test'
import { unlimitedEgress } from '../../src/throttle/types.js'
import { sourceFrom } from '../../src/tracker/handlers/context.js'
import {
  type TcpLimits,
  TcpListener,
  perSourceCap,
  sourceKey,
} from '../../src/tracker/listeners/tcp.js'
import { encodeFrame } from '../../src/wire/framing.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { harness } from '../helpers/handler.js'
import { TcpProbe, waitFor } from '../helpers/tcp-probe.js'
import { startTracker } from '../helpers/tracker.js'

/*
 * docs/protocol.md §10 connection limits, on the listener alone (real sockets on loopback; the
 * "other sources" are other 127/8 addresses). Timeouts are short and every wait polls with a
 * generous deadline, so a loaded machine only makes the tests slower, not red.
 */

const STATS_REQUEST = encodeFrame(
  encodeMessage({ type: 'stats-request', txid: 5, cookie: new Uint8Array(12) }),
)

async function listen(
  t: { after(fn: () => unknown): void },
  limits: Partial<TcpLimits>,
): Promise<{
  l: TcpListener
  h: ReturnType<typeof harness>
  open: (from?: string) => Promise<TcpProbe>
}> {
  const h = harness()
  const l = await TcpListener.start('127.0.0.1', 0, h.ctx, unlimitedEgress, {
    maxConnections: 64,
    maxPerSource: 8,
    idleTimeoutMs: 30_000,
    frameTimeoutMs: 10_000,
    maxPending: 32,
    maxWriteBuffer: 256 * 1024,
    ...limits,
  })
  const probes: TcpProbe[] = []
  t.after(async () => {
    for (const p of probes) p.close()
    await l.close()
  })
  const open = async (from = '127.0.0.1'): Promise<TcpProbe> => {
    const p = await TcpProbe.open(l.port, from)
    probes.push(p)
    return p
  }
  return { l, h, open }
}

/** Open from `from` and wait until the listener holds `expect` connections. */
async function openHeld(
  env: { l: TcpListener; open: (from?: string) => Promise<TcpProbe> },
  from: string,
  expect: number,
): Promise<TcpProbe> {
  const p = await env.open(from)
  assert.ok(await waitFor(() => env.l.connections === expect), `${expect} held after ${from}`)
  return p
}

/**
 * Make `p` busy: a whole request and the first byte of the next frame in one write (one segment
 * on loopback); once the reply is back, the listener holds that byte as a young partial frame.
 */
async function busy(p: TcpProbe): Promise<void> {
  const before = p.frames.length
  p.write(Buffer.concat([STATS_REQUEST, Uint8Array.of(0)]))
  assert.ok(await waitFor(() => p.frames.length > before), 'answered')
}

test('sourceKey: an IPv4 address, IPv4-mapped counted as IPv4, an IPv6 /64', () => {
  const key = (a: string) => {
    const s = sourceFrom(a, 1000)
    assert.ok(s !== null, a)
    return sourceKey(s)
  }
  assert.equal(key('192.0.2.1'), '192.0.2.1')
  assert.equal(key('::ffff:192.0.2.1'), '192.0.2.1')
  assert.notEqual(key('192.0.2.1'), key('192.0.2.2'))
  assert.equal(key('2001:db8:1:2::1'), key('2001:db8:1:2:ffff:ffff:ffff:ffff'))
  assert.equal(key('2001:db8:1:2::1'), '20010db800010002/64')
  assert.notEqual(key('2001:db8:1:2::1'), key('2001:db8:1:3::1'))
})

test('perSourceCap: tcpMaxPerSource, never above a quarter of the global cap, at least 1', () => {
  assert.equal(perSourceCap({ maxConnections: 512, maxPerSource: 8 }), 8)
  assert.equal(perSourceCap({ maxConnections: 512, maxPerSource: 1000 }), 128)
  assert.equal(perSourceCap({ maxConnections: 8, maxPerSource: 8 }), 2)
  assert.equal(perSourceCap({ maxConnections: 2, maxPerSource: 8 }), 1)
})

test('per-source cap: the N+1th connection from one address is reset and counted', async t => {
  const env = await listen(t, { maxConnections: 64, maxPerSource: 3 })
  const mine = [
    await openHeld(env, '127.0.0.1', 1),
    await openHeld(env, '127.0.0.1', 2),
    await openHeld(env, '127.0.0.1', 3),
  ]
  const extra = await env.open('127.0.0.1')
  assert.ok(await extra.waitClosed(), 'the fourth connection from 127.0.0.1 is closed')
  assert.equal(env.h.stats.get('tcp_refused_source'), 1)
  assert.equal(env.l.connections, 3)
  // Another address is not affected, and is served.
  const other = await openHeld(env, '127.0.0.2', 4)
  other.write(STATS_REQUEST)
  assert.ok(await waitFor(() => other.frames.length === 1), 'stats answered')
  assert.equal(decodeMessage(other.frames[0] as Uint8Array).type, 'stats-reply')
  assert.equal(env.l.sources, 2)
  // A closed connection frees its slot; the per-source map forgets a source at 0.
  mine[0]?.close()
  assert.ok(await waitFor(() => env.l.connections === 3))
  mine.push(await openHeld(env, '127.0.0.1', 4))
  other.close()
  assert.ok(await waitFor(() => env.l.sources === 1), 'a source at 0 is removed')
  for (const p of mine) p.close()
  assert.ok(await waitFor(() => env.l.sources === 0 && env.l.connections === 0))
})

test('frame deadline: one byte every 200 ms is closed at the deadline, whole frames are not', async t => {
  const env = await listen(t, { frameTimeoutMs: 1000, idleTimeoutMs: 30_000 })
  const slow = await openHeld(env, '127.0.0.1', 1)
  const started = Date.now()
  const frame = encodeFrame(new Uint8Array(200).fill(0x14))
  let i = 0
  const trickle = setInterval(() => {
    if (i < frame.byteLength) slow.write(frame.subarray(i, ++i))
  }, 200)
  t.after(() => {
    clearInterval(trickle)
  })
  // A polite client on the same listener: one whole stats-request every 300 ms, for longer
  // than the frame deadline; every one is answered and the connection stays.
  const polite = await openHeld(env, '127.0.0.2', 2)
  for (let n = 1; n <= 6; n++) {
    polite.write(STATS_REQUEST)
    assert.ok(await waitFor(() => polite.frames.length === n), `reply ${n}`)
    await new Promise(r => setTimeout(r, 300))
  }
  assert.ok(await slow.waitClosed(10_000), 'the trickling connection is closed')
  clearInterval(trickle)
  const took = Date.now() - started
  assert.ok(took >= 900, `closed after ${took} ms, not before the deadline`)
  assert.equal(env.h.stats.get('tcp_frame_timeouts'), 1)
  assert.ok(slow.reset, 'closed with a reset')
  assert.equal(polite.closed, false)
  assert.equal(env.h.stats.get('tcp_idle_closed'), 0)
})

test('idle timeout applies between frames', async t => {
  const env = await listen(t, { frameTimeoutMs: 10_000, idleTimeoutMs: 1000 })
  const p = await openHeld(env, '127.0.0.1', 1)
  p.write(STATS_REQUEST)
  assert.ok(await waitFor(() => p.frames.length === 1))
  assert.ok(await p.waitClosed(10_000), 'silent connection closed')
  assert.equal(env.h.stats.get('tcp_idle_closed'), 1)
  assert.equal(env.h.stats.get('tcp_frame_timeouts'), 0)
})

test('at the cap, a slow frame past half its deadline is evicted first', async t => {
  // 4 connections, one per source (the per-source cap is a quarter of 4: one).
  const env = await listen(t, { maxConnections: 4, maxPerSource: 8, frameTimeoutMs: 2000 })
  const slow = await openHeld(env, '127.0.0.2', 1)
  slow.write(Uint8Array.of(0, 0)) // half a frame header: its clock starts
  const idle = [
    await openHeld(env, '127.0.0.3', 2),
    await openHeld(env, '127.0.0.4', 3),
    await openHeld(env, '127.0.0.5', 4),
  ]
  await new Promise(r => setTimeout(r, 1200)) // past half of 2 s
  const newcomer = await env.open('127.0.0.9')
  assert.ok(await slow.waitClosed(), 'the slow frame was evicted')
  assert.ok(slow.reset)
  assert.equal(env.h.stats.get('tcp_evicted'), 1)
  newcomer.write(STATS_REQUEST)
  assert.ok(await waitFor(() => newcomer.frames.length === 1), 'newcomer served')
  assert.ok(
    idle.every(p => !p.closed),
    'idle connections kept',
  )
})

test('at the cap, the idle connection of the heaviest source goes, then the longest idle', async t => {
  const env = await listen(t, { maxConnections: 8, maxPerSource: 2 })
  const a1 = await openHeld(env, '127.0.0.2', 1)
  const b1 = await openHeld(env, '127.0.0.3', 2)
  const heavy = [await openHeld(env, '127.0.0.4', 3), await openHeld(env, '127.0.0.4', 4)]
  const rest = [
    await openHeld(env, '127.0.0.5', 5),
    await openHeld(env, '127.0.0.6', 6),
    await openHeld(env, '127.0.0.7', 7),
    await openHeld(env, '127.0.0.8', 8),
  ]
  await new Promise(r => setTimeout(r, 1200)) // idle for longer than the 1 s grace
  const n1 = await env.open('127.0.0.9')
  assert.ok(await heavy[0]!.waitClosed(), 'the older idle connection of the 2-connection source')
  assert.ok(await waitFor(() => env.l.connections === 8))
  // Now every source holds one: the longest idle goes (n1, just opened, is within its grace).
  const n2 = await env.open('127.0.0.10')
  assert.ok(await a1.waitClosed(), 'the longest idle connection')
  assert.ok(await waitFor(() => env.l.connections === 8))
  assert.equal(env.h.stats.get('tcp_evicted'), 2)
  assert.equal(env.h.stats.get('tcp_refused'), 0)
  for (const p of [b1, heavy[1]!, ...rest, n1, n2]) assert.equal(p.closed, false)
})

test('at the cap with every connection busy, a lighter source evicts a heavier one, else is refused', async t => {
  const env = await listen(t, { maxConnections: 8, maxPerSource: 2, frameTimeoutMs: 10_000 })
  const held: TcpProbe[] = []
  for (let s = 2; s <= 5; s++) {
    for (let k = 0; k < 2; k++) {
      const p = await openHeld(env, `127.0.0.${s}`, held.length + 1)
      await busy(p)
      held.push(p)
    }
  }
  // A new source (holding 0) displaces the oldest connection of a source holding 2.
  const n1 = await env.open('127.0.0.9')
  assert.ok(await held[0]!.waitClosed(), 'the oldest connection of a heavy source')
  assert.ok(await waitFor(() => env.l.connections === 8))
  await busy(n1)
  // A second connection from 127.0.0.9 (holding 1): sources holding 2 are not two more: refused.
  const n2 = await env.open('127.0.0.9')
  assert.ok(await n2.waitClosed(), 'refused')
  assert.equal(env.h.stats.get('tcp_evicted'), 1)
  assert.equal(env.h.stats.get('tcp_refused'), 1)
  assert.ok(held.slice(1).every(p => !p.closed))
})

test('at the cap, a fresh connection is safe from a newcomer whose source holds as many', async t => {
  const env = await listen(t, { maxConnections: 8, maxPerSource: 2, frameTimeoutMs: 10_000 })
  const held: TcpProbe[] = []
  for (const s of [2, 2, 3, 3, 4, 4, 5]) {
    const p = await openHeld(env, `127.0.0.${s}`, held.length + 1)
    await busy(p)
    held.push(p)
  }
  const fresh = await openHeld(env, '127.0.0.9', 8) // idle, its request not sent yet
  // 127.0.0.5 holds 1, as many as 127.0.0.9: it may not take the fresh connection's place,
  // and no source holds two more: refused.
  const again = await env.open('127.0.0.5')
  assert.ok(await again.waitClosed(), 'refused')
  assert.equal(env.h.stats.get('tcp_refused'), 1)
  // A new source (holding 0) does not take it either while it is fresh: the oldest connection
  // of a source holding 2 goes instead.
  const other = await env.open('127.0.0.10')
  assert.ok(await held[0]!.waitClosed(), 'the oldest connection of a source holding 2')
  assert.equal(fresh.closed, false)
  assert.equal(other.closed, false)
  fresh.write(STATS_REQUEST)
  assert.ok(await waitFor(() => fresh.frames.length === 1), 'the fresh connection is served')
})

test('close() resets every connection and the per-source map', async t => {
  const env = await listen(t, {})
  const a = await openHeld(env, '127.0.0.1', 1)
  const b = await openHeld(env, '127.0.0.2', 2)
  await env.l.close()
  assert.ok((await a.waitClosed()) && (await b.waitClosed()))
  assert.equal(env.l.connections, 0)
  assert.equal(env.l.sources, 0)
})

test('§10: a frame the tracker will not answer ends the connection after the replies before it', async t => {
  // A deny list that denies 127.0.0.2: its frames get no answer (§8.10), so the tracker ends
  // the connection instead of leaving the client to pair later replies with earlier frames.
  const deny = {
    deniesKey: () => false,
    deniesAddress: (address: string) => address === '127.0.0.2',
  }
  const tr = await startTracker(t, {}, { deny })
  const stats = encodeFrame(
    encodeMessage({ type: 'stats-request', txid: 7, cookie: new Uint8Array(12) }),
  )
  const denied = await TcpProbe.open(tr.tcp, '127.0.0.2')
  t.after(() => denied.socket.destroy())
  denied.write(stats)
  denied.write(stats)
  assert.ok(await denied.waitClosed(5000), 'the connection ends')
  assert.equal(denied.frames.length, 0, 'no reply is sent')
  // Another source on the same listener is served as before.
  const ok = await TcpProbe.open(tr.tcp, '127.0.0.1')
  t.after(() => ok.socket.destroy())
  ok.write(stats)
  assert.ok(await waitFor(() => ok.frames.length === 1, 5000))
  assert.equal(decodeMessage(ok.frames[0]!).type, 'stats-reply')
  assert.equal(ok.closed, false)
})
