// The restore window (docs/operations.md, "Warm restart"): a restarted tracker binds first and
// restores its checkpoint in slices while it serves. Real trackers on 127.0.0.1 port 0, a
// checkpoint of a few thousand entries, slices made small and held open by an injected gate so
// the window can be observed without any timing assumption.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import {
  type CheckpointEntry,
  loadCheckpoint,
  writeCheckpoint,
} from '../../src/ops/checkpoint/index.js'
import { type Tracker, startTracker } from '../../src/ops/start.js'
import { latin1, recordKeyLength } from '../../src/wire/layout.js'
import type { SignedRecord } from '../../src/wire/record.js'
import {
  TcpTrackerClient,
  type Teardown,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
} from '../helpers/tracker.js'

const ENTRIES = 2000
const SLICE = 100
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

function key(i: number): {
  privateKey: ReturnType<typeof privateKeyFromSeed>
  publicKey: Uint8Array
} {
  const seed = new Uint8Array(32).fill(0x5a)
  new DataView(seed.buffer).setUint32(0, i + 1)
  const privateKey = privateKeyFromSeed(seed)
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

function recordOf(i: number, seq: number): SignedRecord {
  const k = key(i)
  return makeRecord(k.privateKey, k.publicKey, nowSeconds(), {
    seq,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
}

const keyOf = (record: Uint8Array): string => latin1(record.subarray(0, recordKeyLength(record)))

/** A data directory holding a checkpoint of ENTRIES entries at seq 5, each in its own /16. */
async function checkpointed(t: Teardown): Promise<{ dir: string; records: SignedRecord[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'mt-window-'))
  // After the trackers (registered later) have stopped: after() hooks run in order.
  t.after(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  const records: SignedRecord[] = []
  const entries: CheckpointEntry[] = []
  for (let i = 0; i < ENTRIES; i++) {
    const r = recordOf(i, 5)
    records.push(r)
    // Addresses in a checkpoint file only: nothing is ever sent to them.
    const address = `${11 + (i >> 8)}.${i & 255}.0.1`
    entries.push({
      record: r.bytes,
      observed: { family: 4, address, port: 4000 },
      lastSeen: Date.now(),
    })
  }
  await writeCheckpoint(dir, {
    savedAt: Date.now(),
    cookieSecret: new Uint8Array(32).fill(1),
    entries,
  })
  return { dir, records }
}

/** A gate the restore waits at between two slices while it is held. */
function gate(): { between: () => Promise<void>; release: () => void } {
  let held = true
  const waiting: (() => void)[] = []
  return {
    between: () => (held ? new Promise(resolve => waiting.push(resolve)) : Promise.resolve()),
    release: () => {
      held = false
      for (const w of waiting.splice(0)) w()
    },
  }
}

/** Trackers to stop before their data directory is removed. */
const stops: (() => Promise<void>)[] = []

async function start(dir: string, between?: () => Promise<void>): Promise<Tracker> {
  const tracker = await startTracker(
    { udp: 0, tcp: 0, http: null, host: ['127.0.0.1'], data: dir, checkpoint: { interval: 0 } },
    // Slices bounded by a count only (no time budget), so the window is the same on any machine.
    between === undefined
      ? {}
      : { restore: { sliceEntries: SLICE, sliceMs: 600_000, firstSliceMs: 600_000, between } },
  )
  stops.push(() => tracker.stop())
  return tracker
}

async function announce(port: number, record: SignedRecord): Promise<string> {
  const tcp = await TcpTrackerClient.open('127.0.0.1', port)
  try {
    const r = await tcp.request({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record })
    assert.ok(r?.type === 'announce-reply', `got ${r?.type}`)
    return r.status
  } finally {
    tcp.close()
  }
}

test('while it restores, the tracker answers queries from a partial table and says so in its stats', async t => {
  const { dir } = await checkpointed(t)
  const g = gate()
  const tracker = await start(dir, g.between)
  const stats = tracker.daemon.stats
  assert.equal(tracker.restoring, true)
  assert.equal(stats.get('restoring'), 1)
  assert.equal(tracker.daemon.table.size, SLICE, 'the first slice only')
  assert.equal(stats.get('restore_pending'), ENTRIES - SLICE)

  const udp = await UdpTrackerClient.open('127.0.0.1', tracker.listening.udp ?? 0)
  t.after(() => udp.close())
  const reply = await udp.request(queryMessage({ count: 50, unproven: true }))
  assert.ok(reply?.type === 'introductions', `got ${reply?.type}`)
  assert.ok(reply.entries.length > 0 && reply.entries.length <= SLICE)
  assert.equal(tracker.restoring, true, 'answered inside the window')

  g.release()
  const progress = await tracker.restored
  assert.equal(progress?.restored, ENTRIES)
  assert.equal(tracker.restoring, false)
  assert.equal(stats.get('restoring'), 0)
  assert.equal(tracker.daemon.table.size, ENTRIES)
  const verified = await tracker.verified
  assert.equal(verified?.checked, ENTRIES)
  assert.equal(verified.invalid.length, 0)
})

test('a record replayed inside the window loses to the restored higher seq; a newer one wins', async t => {
  const { dir } = await checkpointed(t)
  const g = gate()
  const tracker = await start(dir, g.between)
  const tcp = tracker.listening.tcp ?? 0
  const table = tracker.daemon.table
  // Keys the restore has not reached: an older seq replayed (a valid signature, once true), and
  // a genuinely newer seq from the key's owner.
  const replayed = recordOf(ENTRIES - 1, 2)
  const newer = recordOf(ENTRIES - 2, 9)
  assert.equal(table.peek(keyOf(replayed.bytes)), undefined, 'not restored yet')
  assert.equal(await announce(tcp, replayed), 'new')
  assert.equal(await announce(tcp, newer), 'new')
  assert.equal(table.peek(keyOf(replayed.bytes))?.seq, 2, 'served inside the window')

  g.release()
  await tracker.restored
  assert.equal(table.peek(keyOf(replayed.bytes))?.seq, 5, 'the checkpointed seq won')
  assert.equal(table.peek(keyOf(newer.bytes))?.seq, 9, 'the newer announce stayed')
  assert.equal(table.size, ENTRIES)
  assert.deepEqual(table.checkInvariants(), [])
})

test('a stop inside the window writes back the entries not restored yet', async t => {
  const { dir, records } = await checkpointed(t)
  const g = gate()
  const first = await start(dir, g.between)
  const fresh = recordOf(ENTRIES + 7, 1)
  const replayed = recordOf(ENTRIES - 1, 2)
  assert.equal(await announce(first.listening.tcp ?? 0, fresh), 'new')
  assert.equal(await announce(first.listening.tcp ?? 0, replayed), 'new')
  assert.equal(first.restoring, true)
  await first.stop() // the gate is still held: the restore stops where it stands

  const saved = await loadCheckpoint(dir, { verify: false })
  assert.ok(saved.status === 'loaded')
  const keys = new Set(saved.checkpoint.entries.map(e => keyOf(e.record)))
  for (const r of [...records, fresh]) assert.ok(keys.has(keyOf(r.bytes)), 'every entry is kept')
  assert.equal(keys.size, ENTRIES + 1)

  const second = await start(dir)
  await second.restored
  const table = second.daemon.table
  assert.equal(table.size, ENTRIES + 1)
  assert.equal(table.peek(keyOf(replayed.bytes))?.seq, 5, 'the replay lost again after restart')
})
