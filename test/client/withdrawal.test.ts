import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Announcer } from '../../src/client/announcer.js'
import type { TrackerAddress } from '../../src/client/trackers.js'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { WireErrorCode } from '../../src/wire/constants.js'
import type { Daemon } from '../../src/tracker/daemon.js'
import { until } from '../helpers/signed-records.js'
import { type TestTracker, UdpTrackerClient, startTracker } from '../helpers/tracker.js'

/*
 * docs/protocol.md §8.3 *Withdrawal* end to end: a node on three real trackers (Daemon, loopback,
 * port 0) closes; each tracker drops it at once and refuses a replay of its last record.
 */

const address = (tr: TestTracker): TrackerAddress => ({ host: tr.host, udp: tr.udp, tcp: tr.tcp })

function holds(d: Daemon, bytes: Uint8Array): boolean {
  for (const e of d.table.entries())
    if (Buffer.from(e.record).equals(Buffer.from(bytes))) return true
  return false
}

test('close() removes the node from all three trackers; a replay of its record is then STALE_SEQUENCE', async t => {
  const trs: TestTracker[] = []
  for (let i = 0; i < 3; i++) trs.push(await startTracker(t))
  const a = new Announcer({
    trackers: trs.map(address),
    privateKey: generateKeyPair().privateKey,
    network: 'testnet',
    timeout: 5000,
    endpoints: [{ family: 4, address: '0.0.0.0', port: 6000 }],
  })
  t.after(() => a.close())
  a.start()
  await until(() => a.status().every(s => s.state === 'up'), 10_000, 'all up')
  const last = a.record
  for (const tr of trs) assert.ok(holds(tr.daemon, last.bytes))
  // close() waits for the withdrawal at most withdrawTimeout (default 1000 ms): every tracker
  // that says `withdrawn` dropped the entry within that second.
  await a.close()
  assert.deepEqual(
    a.status().map(s => s.status),
    ['withdrawn', 'withdrawn', 'withdrawn'],
  )
  for (const tr of trs) {
    assert.equal(holds(tr.daemon, last.bytes), false)
    assert.equal(tr.daemon.table.size, 0)
    assert.equal(tr.daemon.stats.get('withdrawals'), 1)
  }
  // Anyone who fetched the record replays it: every tracker refuses it.
  for (const tr of trs) {
    const c = await UdpTrackerClient.open(tr.host, tr.udp)
    t.after(() => c.close())
    const r = await c.request({ type: 'announce', txid: 77, cookie: c.cookie, record: last }, 5000)
    assert.ok(r?.type === 'error', `${r?.type}`)
    assert.equal(r.code, WireErrorCode.STALE_SEQUENCE)
    assert.equal(tr.daemon.table.size, 0)
  }
})
