import assert from 'node:assert/strict'
import { test } from 'node:test'
import { requestStats } from '../../src/client/stats.js'
import { TcpTransport } from '../../src/client/transport/tcp.js'
import { encodeFrame } from '../../src/wire/framing.js'
import { encodeMessage } from '../../src/wire/messages.js'
import { queryMessage, startTracker } from '../helpers/tracker.js'
import { TcpProbe, waitFor } from '../helpers/tcp-probe.js'

/*
 * TCP exhaustion and slowloris against a real tracker on loopback (docs/protocol.md §10,
 * docs/operations.md "TCP connection limits"). The attacker's "other addresses" are other
 * 127/8 addresses (Linux routes the whole block to lo), bound with `localAddress`. Every test
 * is bounded: the attack stops when the test ends, waits poll with generous deadlines.
 */

/**
 * The bytes of a frame that never completes: a header announcing 2,048 bytes (the request cap,
 * so the length itself is valid), then body bytes, one at a time.
 */
const SLOW_FRAME = [0, 0, 8, 0]
const slowByte = (k: number): Uint8Array => Uint8Array.of(SLOW_FRAME[k] ?? 0x14)

/** Send each probe's next byte of its never-finished frame, every `everyMs`. */
function trickle(probes: TcpProbe[], everyMs: number): () => void {
  let k = 1
  const timer = setInterval(() => {
    const b = slowByte(k++)
    for (const p of probes) p.write(b)
  }, everyMs)
  return () => {
    clearInterval(timer)
  }
}

async function attack(port: number, sources: string[], perSource: number): Promise<TcpProbe[]> {
  const probes: TcpProbe[] = []
  for (const from of sources) {
    for (let i = 0; i < perSource; i++) {
      const p = await TcpProbe.open(port, from)
      p.write(slowByte(0)) // the first byte of a frame header: the frame's clock starts
      probes.push(p)
    }
  }
  return probes
}

const closeAll = (probes: TcpProbe[]) => () => {
  for (const p of probes) p.close()
}

/** Ask for stats `n` times, one after another, from 127.0.0.1; how many got a stats-reply. */
async function legitimateStats(port: number, n: number): Promise<{ ok: number; codes: string[] }> {
  let ok = 0
  const codes: string[] = []
  for (let i = 0; i < n; i++) {
    try {
      const stats = await requestStats({ host: '127.0.0.1', port }, { timeoutMs: 5000 })
      if (stats.length > 0) ok++
    } catch (err) {
      codes.push((err as { code?: string }).code ?? String(err))
    }
  }
  return { ok, codes }
}

test('lock-out regression: tcpMaxConnections trickling connections from one address do not lock out another', async t => {
  // The attack, scaled from 512 to 128 connections: one address opens as many
  // connections as the tracker takes and sends one byte every 2 s on each. Before the fix all
  // 128 were accepted, kept alive by the trickle, and every other client was refused.
  const tr = await startTracker(t, { tcpMaxConnections: 128 })
  const probes = await attack(tr.tcp, ['127.0.0.2'], 128)
  t.after(closeAll(probes))
  t.after(trickle(probes, 2000))
  const st = tr.daemon.stats
  assert.ok(
    await waitFor(() => st.get('tcp_connections') + st.get('tcp_refused_source') >= 128),
    'every attacking connection was seen',
  )
  // Before the fix: 0 of 10, each failing with STATS_BAD_REPLY "closed before a reply".
  const { ok, codes } = await legitimateStats(tr.tcp, 10)
  assert.equal(ok, 10, `every stats request answered (${codes.join(', ')})`)
  assert.ok(await waitFor(() => probes.filter(p => p.closed).length >= 120), 'refused beyond 8')
  assert.equal(probes.filter(p => !p.closed).length, 8, 'the per-source cap holds 8')
  assert.equal(st.get('tcp_refused_source'), 120)
  // A long answer (a TCP query) from another address gets through too.
  const tcp = new TcpTransport()
  t.after(() => tcp.close())
  const replies = await tcp.exchange(
    { host: '127.0.0.1', udp: null, tcp: tr.tcp },
    txids => txids.map(txid => queryMessage({ txid, mode: 'sample', count: 100 })),
    2,
    { timeout: 5000 },
  )
  assert.deepEqual(
    replies.map(r => r.type),
    ['introductions', 'introductions'],
  )
})

test('eviction: with the cap filled from many addresses, a newcomer from another gets in', async t => {
  // 16 addresses x 8 connections fill a cap of 128, each trickling; newcomers still get in,
  // by evicting the oldest connection of a source holding more (young frames) or, once the
  // frames are past half their deadline, the slowest frame.
  const tr = await startTracker(t, { tcpMaxConnections: 128, tcpFrameTimeout: 4 })
  const sources = Array.from({ length: 16 }, (_, i) => `127.0.1.${i + 1}`)
  const probes = await attack(tr.tcp, sources, 8)
  t.after(closeAll(probes))
  t.after(trickle(probes, 500))
  assert.ok(await waitFor(() => tr.daemon.stats.get('tcp_open') === 128), 'the cap is full')
  const first = await legitimateStats(tr.tcp, 5)
  assert.equal(first.ok, 5, `young frames: answered by eviction (${first.codes.join(', ')})`)
  assert.ok(tr.daemon.stats.get('tcp_evicted') >= 1, 'room was made by eviction')
  // Later the attack's frames pass half their deadline (then the deadline itself): newcomers
  // still get in, by evicting the slowest frames or into the room the deadline freed.
  await new Promise(r => setTimeout(r, 2500))
  const second = await legitimateStats(tr.tcp, 5)
  assert.equal(second.ok, 5, `slow frames: answered (${second.codes.join(', ')})`)
})

test('slowloris: one byte every 0.5 s is closed at the frame deadline', async t => {
  const tr = await startTracker(t, { tcpFrameTimeout: 2 })
  const p = await TcpProbe.open(tr.tcp)
  t.after(() => {
    p.close()
  })
  const frame = encodeFrame(encodeMessage(queryMessage()))
  const started = Date.now()
  let i = 0
  const timer = setInterval(() => {
    if (i < frame.byteLength) p.write(frame.subarray(i, ++i))
  }, 500)
  t.after(() => {
    clearInterval(timer)
  })
  // Before the fix, each byte reset the 30 s idle timer: the connection stayed open.
  assert.ok(await p.waitClosed(12_000), 'closed at the frame deadline')
  const took = Date.now() - started
  assert.ok(took >= 1900, `not before the deadline (${took} ms)`)
  assert.ok(i < frame.byteLength, 'the frame never completed')
  assert.equal(tr.daemon.stats.get('tcp_frame_timeouts'), 1)
})

test('per-source cap: the N+1th connection from one address is refused and counted', async t => {
  const tr = await startTracker(t, { tcpMaxPerSource: 4 })
  const probes: TcpProbe[] = []
  t.after(closeAll(probes))
  for (let i = 0; i < 4; i++) probes.push(await TcpProbe.open(tr.tcp, '127.0.0.3'))
  assert.ok(await waitFor(() => tr.daemon.stats.get('tcp_open') === 4))
  const extra = await TcpProbe.open(tr.tcp, '127.0.0.3')
  probes.push(extra)
  assert.ok(await extra.waitClosed(), 'the fifth is closed')
  assert.equal(tr.daemon.stats.get('tcp_refused_source'), 1)
  assert.ok(probes.slice(0, 4).every(p => !p.closed))
})

test('a refused client says so: TRANSPORT_REFUSED, not a bad reply', async t => {
  // 127.0.0.1 already holds its share (a quarter of 8: 2), so its stats request is reset.
  const tr = await startTracker(t, { tcpMaxConnections: 8 })
  const probes = [await TcpProbe.open(tr.tcp), await TcpProbe.open(tr.tcp)]
  t.after(closeAll(probes))
  assert.ok(await waitFor(() => tr.daemon.stats.get('tcp_open') === 2))
  await assert.rejects(requestStats({ host: '127.0.0.1', port: tr.tcp }, { timeoutMs: 5000 }), {
    code: 'TRANSPORT_REFUSED',
  })
  const tcp = new TcpTransport()
  t.after(() => tcp.close())
  await assert.rejects(
    tcp.exchange(
      { host: '127.0.0.1', udp: null, tcp: tr.tcp },
      txids => txids.map(txid => queryMessage({ txid })),
      1,
      { timeout: 5000 },
    ),
    { code: 'TRANSPORT_REFUSED' },
  )
  assert.equal(tr.daemon.stats.get('tcp_refused_source'), 2)
})
