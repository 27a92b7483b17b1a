import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HttpApi } from '../../src/observe/http-api.js'
import { createMetrics } from '../../src/observe/metrics.js'
import type { ProcessSource } from '../../src/observe/process-health.js'
import { ProcessHealth } from '../../src/observe/process-health.js'
import { REUSE_MAX_MS } from '../../src/observe/reuse.js'
import { RateHistory, RateWindow } from '../../src/observe/rates.js'
import {
  CPU_SECONDS_STAT,
  MAX_SERVERS_PER_NETWORK,
  type StatusJson,
  historyKeeps,
} from '../../src/observe/status-json.js'
import { WebPages, loadWebAssets } from '../../src/observe/web-pages.js'
import { FakeView, peerEntry, serverEntry } from '../helpers/observe-view.js'

/** A process whose CPU use and lag the test sets. */
function fakeProcess() {
  const state = { cpuMicros: 0, rss: 10_000_000, lag: { p99: 2, max: 5 } }
  const source: ProcessSource = {
    rss: () => state.rss,
    cpuMicros: () => state.cpuMicros,
    lag: () => state.lag,
    close: () => undefined,
  }
  return { state, source }
}

function setup(options: { cacheMs?: number } = {}) {
  const v = new FakeView({ name: 'op' })
  const minute = new RateWindow(60_000, 5_000)
  const hour = new RateHistory(3_600_000, 60_000, historyKeeps)
  const proc = fakeProcess()
  const health = new ProcessHealth(proc.source)
  const pages = new WebPages(
    { view: v, version: '9.9.9', minute, hour, health },
    { cacheMs: options.cacheMs ?? 0, assets: new Map([['status.js', '/* js */']]) },
  )
  const api = new HttpApi(v, pages, createMetrics(v, '9.9.9'))
  /** One observers' tick: what the timer does every step. */
  const tick = () => {
    const now = v.clock.now()
    const p = health.sample(now)
    minute.record(now, v.stats())
    hour.record(now, [...v.stats(), { name: CPU_SECONDS_STAT, value: p.cpuSeconds }])
  }
  const get = async (url: string) => {
    const { route, reply } = await api.handle({ method: 'GET', url, remoteAddress: '127.0.0.1' })
    assert.ok(reply !== null)
    return { route, ...reply }
  }
  return { v, proc, tick, get }
}

test('/status.json: networks with their servers (most players first), proof, age and budgets', async () => {
  const { v, tick, get } = setup()
  v.add(serverEntry(v.clock, 1, { name: 'one', players: 1, tags: ['ctf'] }))
  v.add(serverEntry(v.clock, 2, { name: 'two', players: 5, world: 'dm4' }, { seenAgo: 30_000 }))
  v.add(serverEntry(v.clock, 3, { name: 'other' }, { network: 'other.example' }))
  v.add(peerEntry(v.clock, 9))
  tick()
  const r = await get('/status.json')
  assert.equal(r.status, 200)
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8')
  assert.equal(r.headers['cache-control'], 'no-store')
  const m = JSON.parse(r.body) as StatusJson
  assert.equal(m.version, '9.9.9')
  assert.deepEqual(
    m.networks.map(n => [n.network, n.servers, n.peers]),
    [
      ['quake.example', 2, 1],
      ['other.example', 1, 0],
    ],
  )
  const [two, one] = m.networks[0]!.list
  assert.ok(two !== undefined && one !== undefined)
  assert.equal(two.name, 'two')
  assert.equal(two.players, 5)
  assert.equal(two.world, 'dm4')
  assert.equal(two.age, 30)
  assert.equal(two.verified, false)
  assert.match(two.key, /^[0-9a-f]{64}$/)
  assert.equal(two.connect, '10.0.0.2:27960', 'the observed address fills the unspecified one')
  assert.deepEqual(one.tags, ['ctf'])
  assert.equal(m.table.entries, 4)
  assert.equal(m.table.maxEntries, 100_000)
  assert.equal(m.process.rssBytes, 10_000_000)
  assert.equal(m.process.lagP99Ms, 2)
  assert.equal(m.networksNotListed, 0)
})

test('/status.json: an hour of rates (announces, queries, drops by reason, egress, CPU) from the ring', async () => {
  const { v, proc, tick, get } = setup()
  tick()
  for (let i = 1; i <= 3; i++) {
    v.clock.advance(60_000)
    v.count('announces', 120)
    v.count('queries', 60)
    v.count('dropped_flood', i === 2 ? 600 : 0)
    v.count('egress_bytes', 6_000)
    proc.state.cpuMicros += 30_000_000 // half a core over the minute
    tick()
  }
  const m = JSON.parse((await get('/status.json')).body) as StatusJson
  const h = m.history
  assert.equal(h.stepSeconds, 60)
  assert.equal(h.t.length, 3)
  assert.deepEqual(h.announces, [2, 2, 2])
  assert.deepEqual(h.queries, [1, 1, 1])
  assert.deepEqual(h.drops, [{ reason: 'flood', values: [0, 10, 0] }])
  assert.deepEqual(h.egressBytes, [100, 100, 100])
  assert.deepEqual(h.cpu, [0.5, 0.5, 0.5])
  assert.equal(m.process.cpu, 0.5)
  assert.deepEqual(m.drops, [{ reason: 'flood', count: 600 }])
})

test('/status.json is bounded: at most MAX_SERVERS_PER_NETWORK servers listed, all counted', async () => {
  const { v, tick, get } = setup()
  for (let i = 1; i <= MAX_SERVERS_PER_NETWORK + 5; i++) v.add(serverEntry(v.clock, i))
  tick()
  const m = JSON.parse((await get('/status.json')).body) as StatusJson
  const [quake] = m.networks
  assert.ok(quake !== undefined)
  assert.equal(quake.servers, MAX_SERVERS_PER_NETWORK + 5)
  assert.equal(quake.list.length, MAX_SERVERS_PER_NETWORK)
})

test('/status.json is reused for cacheMs (or 20 times its cost), then rebuilt', async () => {
  const { v, tick, get } = setup({ cacheMs: 2_000 })
  tick()
  const first = JSON.parse((await get('/status.json')).body) as StatusJson
  v.add(serverEntry(v.clock, 1))
  v.clock.advance(1_000)
  assert.deepEqual(JSON.parse((await get('/status.json')).body), first)
  v.clock.advance(REUSE_MAX_MS) // longer than any reuse, however slow this machine
  const later = JSON.parse((await get('/status.json')).body) as StatusJson
  assert.equal(later.table.entries, 1)
})

test('/v1/networks, /browse and /assets; query parameters and unknown files are refused', async () => {
  const { v, get } = setup()
  v.add(serverEntry(v.clock, 1))
  const nets = await get('/v1/networks')
  assert.equal(nets.headers['access-control-allow-origin'], '*')
  assert.deepEqual(JSON.parse(nets.body), {
    networks: [{ network: 'quake.example', servers: 1, peers: 0 }],
  })
  const browse = await get('/browse')
  assert.equal(browse.status, 200)
  assert.match(
    browse.headers['content-security-policy'] ?? '',
    /^default-src 'none'; script-src 'self'/,
  )
  assert.match(browse.body, /<script src="assets\/browse\.js" defer>/)
  const js = await get('/assets/status.js')
  assert.equal(js.status, 200)
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
  assert.equal(js.body, '/* js */')
  assert.equal((await get('/assets/browse.js')).status, 404, 'not among the given assets')
  assert.equal((await get('/assets/../package.json')).status, 404)
  assert.equal((await get('/status.json?x=1')).status, 400)
  assert.equal((await get('/browse?network=quake.example')).status, 400)
})

test('the package ships every asset the pages load', () => {
  const assets = loadWebAssets()
  assert.deepEqual([...assets.keys()].sort(), [
    'browse.js',
    'nacl.js',
    'record.js',
    'status.js',
    'verify.js',
    'web.css',
  ])
  for (const [name, body] of assets) assert.ok(body.length > 100, name)
})
