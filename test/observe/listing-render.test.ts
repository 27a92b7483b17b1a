import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeRecord } from '../../src/wire/record.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import {
  LISTING_END,
  LISTING_START,
  type ListingData,
  renderInfo,
  renderJson,
  renderText,
  renderVerbose,
} from '../../src/observe/listing-render.js'
import { serversByPlayers } from '../../src/observe/listing-listener.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

const HOSTILE = `<b>"Q&A"</b> it's`

function data(network?: string, n = 3): ListingData {
  const v = new FakeView({ name: 'Example', location: 'Here', contact: 'ops@example.org' })
  for (let i = 1; i <= n; i++) {
    v.add(
      serverEntry(
        v.clock,
        i,
        {
          name: i === 1 ? HOSTILE : `server ${i}`,
          players: i,
          maxPlayers: 8,
          world: 'dm4',
          tags: ['ctf'],
        },
        { endpoints: [{ family: 4, address: '0.0.0.0', port: 27_960 + i }], seenAgo: 65_000 },
      ),
    )
  }
  const now = v.clock.now()
  const sel = serversByPlayers(v, network, 1000)
  return { operator: v.operator, now, network, total: sel.total, entries: sel.entries }
}

function after(out: string): string[] {
  const lines = out.split('\n')
  const at = lines.indexOf(LISTING_START)
  assert.ok(at >= 0, 'demarcation line present')
  assert.ok(
    lines.slice(0, at).every(l => l.startsWith('# ')),
    'only banner lines before it',
  )
  return lines.slice(at + 1)
}

test('text: banner, demarcation line, one line per server (most players first), end line', () => {
  const out = renderText(data('quake.example'), 1 << 20)
  assert.match(out, /^# metatracker Example \(Here\)\n# contact: ops@example.org\n/)
  const lines = after(out)
  assert.equal(lines.length, 5) // 3 servers, end line, final empty string
  assert.match(lines[0]!, /^10\.0\.0\.3:27963 +3\/8 dm4 +server 3$/)
  assert.ok(lines[2]!.endsWith(HOSTILE), 'text is sent as is, not HTML-escaped')
  assert.equal(lines[3], LISTING_END)
  assert.equal(lines[4], '')
})

test('text without a network shows the network column', () => {
  const lines = after(renderText(data(undefined), 1 << 20))
  assert.match(lines[0]!, /^quake\.example +10\.0\.0\.3:27963/)
})

test('verbose: a block per server with players, world, version, tags, observed, age', () => {
  const lines = after(renderVerbose(data('quake.example'), 1 << 20))
  const block = lines.slice(0, lines.indexOf('')).join('\n')
  assert.match(block, /^server 3\n/)
  assert.match(block, / {2}connect {3}10\.0\.0\.3:27963/)
  assert.match(block, / {2}observed {2}10\.0\.0\.3:40003/)
  assert.match(block, / {2}players {3}3\/8/)
  assert.match(block, / {2}world {5}dm4/)
  assert.match(block, / {2}version {3}-/)
  assert.match(block, / {2}tags {6}ctf/)
  assert.match(block, / {2}age {7}1m 5s/)
  assert.match(block, / {2}verified {2}no/)
  assert.match(block, / {2}key {7}[0-9a-f]{64}/)
})

test('json: one document after the demarcation line; records verify; hostile names intact', () => {
  const lines = after(renderJson(data('quake.example'), 1 << 20))
  assert.equal(lines.length, 2)
  const doc = JSON.parse(lines[0]!) as {
    network: string
    total: number
    truncated: boolean
    servers: { record: string; server: { name: string }; observed: { port: number } }[]
  }
  assert.equal(doc.network, 'quake.example')
  assert.equal(doc.total, 3)
  assert.equal(doc.truncated, false)
  assert.equal(doc.servers[2]!.server.name, HOSTILE)
  for (const s of doc.servers) {
    assert.ok(verifyRecord(decodeRecord(Buffer.from(s.record, 'base64'))))
  }
})

test('outputs stay within the byte cap and say they were truncated', () => {
  const d = data('quake.example', 40)
  for (const render of [renderText, renderVerbose, renderJson]) {
    const out = render(d, 1500)
    assert.ok(Buffer.byteLength(out) <= 1500, `${render.name}: ${Buffer.byteLength(out)} bytes`)
    if (render === renderJson) {
      const doc = JSON.parse(after(out)[0]!) as { truncated: boolean; servers: unknown[] }
      assert.equal(doc.truncated, true)
      assert.ok(doc.servers.length >= 1 && doc.servers.length < 40)
    } else {
      assert.match(out, /--- metatracker listing truncated: \d+ of 40 servers shown ---\n$/)
    }
  }
})

test('info: the file after the demarcation line; the contact when the file is missing', () => {
  const op = { name: 'Example', location: '', contact: 'fadden@example.org' }
  assert.deepEqual(after(renderInfo('News: all good.\n', op, 0, 4096)), ['News: all good.', ''])
  assert.deepEqual(after(renderInfo(null, op, 0, 4096)), [
    'No information file is available here. Contact: fadden@example.org',
    '',
  ])
  assert.deepEqual(after(renderInfo(null, { ...op, contact: '' }, 0, 4096)), [
    'No information file is available here.',
    '',
  ])
  const big = renderInfo('é'.repeat(5000), op, 0, 1001)
  assert.ok(Buffer.byteLength(big) <= 1001)
  assert.ok(!big.includes('\ufffd'), 'cut on a character boundary')
})
