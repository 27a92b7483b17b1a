import assert from 'node:assert/strict'
import { test } from 'node:test'
import { requestStats } from '../../src/client/stats.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { daemonView } from '../../src/ops/daemon-view.js'
import type { EntryJson } from '../../src/observe/entry-json.js'
import { LISTING_START } from '../../src/observe/listing-render.js'
import { Observers } from '../../src/observe/observers.js'
import { decodeRecord } from '../../src/wire/record.js'
import { testKeyPair } from '../helpers/observe-view.js'
import { parsePrometheus } from '../helpers/prometheus.js'
import { rawExchange } from '../helpers/raw-tcp.js'
import { TcpTrackerClient, UdpTrackerClient, makeRecord, startTracker } from '../helpers/tracker.js'

const HOSTILE = `<script>alert(1)</script> "Q&A" it's`

test('records announced over the wire show on every observer; stats-request agrees', async t => {
  const tr = await startTracker(t)
  const operator = { name: 'Loopback Tracker', location: 'Here', contact: 'ops@example.org' }
  const obs = await Observers.start(
    daemonView(tr.daemon, operator),
    {
      hosts: ['127.0.0.1'],
      http: 0,
      listing: [
        { port: 0, kind: 'text', network: 'quake.example' },
        { port: 0, kind: 'json' },
      ],
      version: '0.1.0',
    },
    { flood: tr.daemon.flood },
  )
  t.after(() => obs.close())
  const now = Math.floor(Date.now() / 1000)

  // Two servers over UDP (one with a hostile name), three peers over TCP.
  const udp = await UdpTrackerClient.open(tr.host, tr.udp)
  t.after(() => udp.close())
  for (const [n, name, players] of [
    [1, HOSTILE, 3],
    [2, 'second', 5],
  ] as const) {
    const k = testKeyPair(n)
    const record = makeRecord(k.privateKey, k.publicKey, now, {
      network: 'quake.example',
      kind: 'server',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 27_960 + n }],
      server: { name, players, maxPlayers: 8, world: 'dm4', version: '1.0', tags: ['ctf'] },
    })
    const reply = await udp.request({ type: 'announce', txid: n, cookie: udp.cookie, record })
    assert.equal(reply?.type, 'announce-reply')
  }
  const tcp = await TcpTrackerClient.open(tr.host, tr.tcp)
  t.after(() => {
    tcp.close()
  })
  for (let n = 10; n < 13; n++) {
    const k = testKeyPair(n)
    const record = makeRecord(k.privateKey, k.publicKey, now, {
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      network: 'quake.example',
    })
    const reply = await tcp.request({
      type: 'announce',
      txid: n,
      cookie: new Uint8Array(12),
      record,
    })
    assert.equal(reply?.type, 'announce-reply')
  }

  const base = `http://127.0.0.1:${obs.httpPort}`
  const servers = (await (await fetch(`${base}/v1/servers?network=quake.example`)).json()) as {
    total: number
    entries: EntryJson[]
  }
  assert.equal(servers.total, 2)
  assert.deepEqual(
    servers.entries.map(e => e.server?.name),
    ['second', HOSTILE],
  )
  for (const e of servers.entries) {
    assert.ok(verifyRecord(decodeRecord(Buffer.from(e.record, 'base64'))))
    assert.equal(e.observed.address, '127.0.0.1')
    // Nobody answers challenges on the announced ports: listed here only by listUnproven.
    assert.deepEqual(e.connect[0], {
      family: 4,
      address: '127.0.0.1',
      port: e.endpoints[0]!.port,
      verified: false,
    })
  }
  const best = (await (
    await fetch(`${base}/v1/servers?network=quake.example&best=1&world=dm4`)
  ).json()) as { entries: EntryJson[] }
  assert.deepEqual(
    best.entries.map(e => e.server?.name),
    [HOSTILE],
  )
  const peers = (await (await fetch(`${base}/v1/peers?network=quake.example&count=2`)).json()) as {
    total: number
    entries: EntryJson[]
  }
  assert.equal(peers.total, 3)
  assert.equal(peers.entries.length, 2)

  const html = await (await fetch(`${base}/`)).text()
  assert.match(html, /id="operator-name">Loopback Tracker</)
  assert.match(html, /id="table-entries" data-value="5">5</)

  const text = await rawExchange(obs.listingPorts[0]!, null)
  const lines = text.text.split('\n')
  const at = lines.indexOf(LISTING_START)
  assert.match(lines[at + 1]!, /^127\.0\.0\.1:27962 +5\/8 dm4 +second$/)
  assert.ok(lines[at + 2]!.endsWith(HOSTILE))
  const json = await rawExchange(obs.listingPorts[1]!, null)
  const doc = JSON.parse(json.text.split('\n')[1]!) as { total: number }
  assert.equal(doc.total, 2)

  const scrape = parsePrometheus(await (await fetch(`${base}/metrics`)).text())
  assert.equal(scrape.value('metatracker_announces_total'), 5)
  assert.equal(scrape.value('metatracker_announces_new_total'), 5)
  assert.equal(scrape.value('metatracker_table_entries'), 5)
  assert.equal(scrape.types.get('metatracker_tcp_open'), 'gauge')

  const stats = new Map(
    (await requestStats({ host: tr.host, port: tr.tcp })).map(s => [s.name, s.value]),
  )
  assert.equal(stats.get('announces'), 5)
  assert.equal(stats.get('table_entries'), 5)
  assert.equal(stats.get('stats_requests'), 1)
})
