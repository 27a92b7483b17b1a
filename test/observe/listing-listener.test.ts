import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { LISTING_END, LISTING_START } from '../../src/observe/listing-render.js'
import { Observers } from '../../src/observe/observers.js'
import { FakeView, peerEntry, serverEntry } from '../helpers/observe-view.js'
import { parsePrometheus } from '../helpers/prometheus.js'
import { rawExchange } from '../helpers/raw-tcp.js'

const HOSTILE = `<i>"Q&A"</i> it's`

function view(): FakeView {
  const v = new FakeView({ name: 'Example', location: 'Here', contact: 'ops@example.org' })
  v.add(serverEntry(v.clock, 1, { name: HOSTILE, players: 3, maxPlayers: 8, world: 'dm4' }))
  v.add(serverEntry(v.clock, 2, { players: 5, maxPlayers: 8 }, { network: 'other.example' }))
  v.add(peerEntry(v.clock, 3))
  return v
}

function data(text: string): string[] {
  const lines = text.split('\n')
  const at = lines.indexOf(LISTING_START)
  assert.ok(at >= 0, 'demarcation line present')
  return lines.slice(at + 1)
}

test('listing ports answer like MetaServerII: text, verbose, json, info, and close', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-listing-'))
  const motd = join(dir, 'motd.txt')
  writeFileSync(motd, 'Welcome to the example tracker.\n')
  const obs = await Observers.start(view(), {
    hosts: ['127.0.0.1'],
    http: 0,
    version: '0.1.0',
    listing: [
      { port: 0, kind: 'text', network: 'quake.example' },
      { port: 0, kind: 'verbose' },
      { port: 0, kind: 'json' },
      { port: 0, kind: 'info', file: motd },
      { port: 0, kind: 'info', file: join(dir, 'missing.txt') },
    ],
  })
  t.after(() => obs.close())
  const [text, verbose, json, info, missing] = obs.listingPorts
  assert.equal(obs.listingPorts.length, 5)

  const a = await rawExchange(text!, null)
  assert.ok(a.closed, 'the tracker closes the connection')
  const lines = data(a.text)
  assert.deepEqual(lines.length, 3)
  assert.ok(lines[0]!.endsWith(HOSTILE))
  assert.match(lines[0]!, /3\/8 dm4/)
  assert.equal(lines[1], LISTING_END)

  // Sending something first (as a browser or `telnet` would) changes nothing.
  const b = await rawExchange(verbose!, 'GET / HTTP/1.0\r\n\r\n')
  const vb = data(b.text).join('\n')
  assert.match(vb, /^server 2\n {2}network {3}other\.example/)
  assert.match(vb, /\n<i>"Q&A"<\/i> it's\n {2}network {3}quake\.example/)
  assert.ok(!vb.includes('peer'), 'peers are never listed')

  const c = await rawExchange(json!, null)
  const doc = JSON.parse(data(c.text)[0]!) as {
    network: null
    total: number
    servers: { server: { name: string } }[]
  }
  assert.equal(doc.network, null)
  assert.equal(doc.total, 2)
  assert.equal(doc.servers[1]!.server.name, HOSTILE)

  const d = await rawExchange(info!, null)
  assert.deepEqual(data(d.text), ['Welcome to the example tracker.', ''])
  const e = await rawExchange(missing!, null)
  assert.deepEqual(data(e.text), [
    'No information file is available here. Contact: ops@example.org',
    '',
  ])

  const res = await fetch(`http://127.0.0.1:${obs.httpPort}/metrics`)
  const scrape = parsePrometheus(await res.text())
  assert.equal(
    scrape.value('metatracker_listing_connections_total', { kind: 'info', outcome: 'served' }),
    2,
  )
  assert.equal(
    scrape.value('metatracker_listing_connections_total', { kind: 'text', outcome: 'served' }),
    1,
  )
})

test('listing ports: connection cap, write deadline and output cap hold', async t => {
  const v = view()
  for (let i = 10; i < 200; i++) v.add(serverEntry(v.clock, i, { players: i % 16 }))
  const obs = await Observers.start(v, {
    hosts: ['127.0.0.1'],
    http: null,
    version: '0.1.0',
    listing: [{ port: 0, kind: 'verbose' }],
    listingListener: {
      maxConnections: 2,
      maxOutputBytes: 4096,
      writeTimeoutMs: 1_000,
      lingerMs: 60_000,
    },
  })
  t.after(() => obs.close())
  const port = obs.listingPorts[0]!
  const out = await rawExchange(port, null)
  assert.ok(out.bytes.byteLength <= 4096, `${out.bytes.byteLength} bytes`)
  assert.match(out.text, /--- metatracker listing truncated: \d+ of 192 servers shown ---\n$/)

  // Two connections that never read: the third is refused, and the deadline frees the two.
  const held = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port }, () => {
            s.pause()
            resolve(s)
          })
          s.on('error', () => undefined)
          s.on('close', () => undefined)
          setTimeout(() => {
            reject(new Error('connect timeout'))
          }, 2_000)
        }),
    ),
  )
  t.after(() => {
    for (const s of held) s.destroy()
  })
  // Wait until both are accepted (the listing is produced and written at once, then lingers).
  await new Promise(r => setTimeout(r, 100))
  const refused = await rawExchange(port, null, 2_000)
  assert.equal(refused.text, '', 'over the cap: closed without a listing')
  // The two never read nor close; only the write deadline (1 s; linger is 60 s) frees them.
  const t0 = Date.now()
  let again = await rawExchange(port, null, 1_000)
  while (!again.text.includes(LISTING_START) && Date.now() - t0 < 5_000) {
    await new Promise(r => setTimeout(r, 100))
    again = await rawExchange(port, null, 1_000)
  }
  assert.ok(again.text.includes(LISTING_START), 'serves again once they are gone')
})

test('a port already in use fails start and leaves nothing bound', async t => {
  const first = await Observers.start(new FakeView(), {
    hosts: ['127.0.0.1'],
    http: null,
    version: '0.1.0',
    listing: [{ port: 0, kind: 'text' }],
  })
  t.after(() => first.close())
  const taken = first.listingPorts[0]!
  await assert.rejects(
    Observers.start(new FakeView(), {
      hosts: ['127.0.0.1'],
      http: 0,
      version: '0.1.0',
      listing: [{ port: taken, kind: 'text' }],
    }),
    {
      code: 'TRACKER_BIND_FAILED',
      message: /cannot bind listing text 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    },
  )
})
