import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseBootpage } from '../../../src/bootpage/schema.js'
import { pinnedAnchor, verifyBootpage } from '../../../src/bootpage/verify.js'
import { startDemoTrackers } from '../../../src/cli/demo/demo.js'

test('the demo publishes its three trackers in a signed bootpage and uses the verified list', async t => {
  const net = await startDemoTrackers(1, 'demo-net')
  t.after(() => net.close())
  const bp = net.bootpage
  assert.equal(bp.signedBy, 3)
  assert.equal(bp.threshold, 2)
  const doc = parseBootpage(readFileSync(bp.json))
  const verdict = verifyBootpage(doc, {
    now: Date.now(),
    anchor: pinnedAnchor(bp.pins),
    network: 'demo-net',
  })
  assert.deepEqual(verdict.problems, [])
  assert.match(readFileSync(bp.html, 'utf8'), /Trackers \(3\)/)
  assert.deepEqual(
    net.addresses,
    net.trackers.map((t, i) => ({
      host: '127.0.0.1',
      udp: t.listening.udp,
      tcp: t.listening.tcp,
      name: ['alpha', 'bravo', 'charlie'][i],
    })),
  )
  await net.close()
  assert.ok(!existsSync(bp.json), 'removed with the network')
})
