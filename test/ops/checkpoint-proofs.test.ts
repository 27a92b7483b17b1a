// Proofs of address survive a restart (docs/protocol.md §9, docs/operations.md "Restart"): a
// peer proven before the stop is listed by the restarted tracker at once, without announcing
// again. Real trackers on 127.0.0.1 port 0.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import { loadCheckpoint } from '../../src/ops/checkpoint/index.js'
import { type Tracker, startTracker } from '../../src/ops/start.js'
import { UdpTrackerClient, makeRecord, queryMessage } from '../helpers/tracker.js'

async function start(dir: string): Promise<Tracker> {
  return startTracker({
    udp: 0,
    tcp: 0,
    http: null,
    host: ['127.0.0.1'],
    data: dir,
    checkpoint: { interval: 0 },
  })
}

async function listedProven(tracker: Tracker): Promise<number> {
  const udp = await UdpTrackerClient.open('127.0.0.1', tracker.listening.udp ?? 0)
  try {
    await udp.refreshCookie()
    const reply = await udp.request(queryMessage({ count: 10, unproven: false }))
    assert.ok(reply?.type === 'introductions', `got ${reply?.type}`)
    return reply.entries.length
  } finally {
    await udp.close()
  }
}

test('a peer proven before a restart is listed right after it, without a new announce', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-proofs-'))
  const running: Tracker[] = []
  t.after(async () => {
    for (const r of running) await r.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const first = await start(dir)
  running.push(first)
  const privateKey = privateKeyFromSeed(new Uint8Array(32).fill(0x33))
  const record = makeRecord(privateKey, rawPublicKey(privateKey), Math.floor(Date.now() / 1000))
  const peer = await UdpTrackerClient.open('127.0.0.1', first.listening.udp ?? 0)
  try {
    await peer.refreshCookie()
    // No endpoint named: the observed source, proven by the announce's valid cookie.
    const r = await peer.request({ type: 'announce', txid: 1, cookie: peer.cookie, record })
    assert.ok(r?.type === 'announce-reply', `got ${r?.type}`)
  } finally {
    await peer.close()
  }
  assert.equal(await listedProven(first), 1, 'proven before the stop')
  await first.stop()
  running.length = 0

  const saved = await loadCheckpoint(dir, { verify: false })
  assert.ok(saved.status === 'loaded')
  assert.equal(saved.checkpoint.entries[0]?.proven, 1, 'the proof is in the checkpoint')

  const second = await start(dir)
  running.push(second)
  await second.restored
  assert.equal(second.daemon.table.size, 1)
  assert.equal(await listedProven(second), 1, 'listed at once after the restart')
})
