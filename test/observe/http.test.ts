import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { FloodControl } from '../../src/throttle/flood.js'
import type { FloodGate } from '../../src/throttle/types.js'
import type { EntryJson } from '../../src/observe/entry-json.js'
import { Observers } from '../../src/observe/observers.js'
import { decodeRecord } from '../../src/wire/record.js'
import { FakeView, peerEntry, serverEntry } from '../helpers/observe-view.js'
import { parsePrometheus } from '../helpers/prometheus.js'
import { rawExchange } from '../helpers/raw-tcp.js'

const HOSTILE = `<script>alert('x')</script> "Q&A"`

function view(): FakeView {
  const v = new FakeView({ name: HOSTILE, location: 'Santa Clara, CA', contact: 'ops@example.org' })
  v.add(serverEntry(v.clock, 1, { name: HOSTILE, players: 2, maxPlayers: 8, world: 'dm4' }))
  v.add(serverEntry(v.clock, 2, { players: 8, maxPlayers: 8, world: 'dm4' }))
  v.add(serverEntry(v.clock, 3, { players: 1, maxPlayers: 16, world: 'e1m1' }))
  v.add(serverEntry(v.clock, 4, { players: 1 }, { network: 'other.example' }))
  for (let i = 10; i < 40; i++) v.add(peerEntry(v.clock, i))
  v.count('announces', 10)
  v.count('queries', 4)
  v.count('dropped_flood', 2)
  return v
}

async function start(v: FakeView, extra: { flood?: FloodGate } = {}) {
  const obs = await Observers.start(
    v,
    {
      hosts: ['127.0.0.1'],
      http: 0,
      listing: [],
      version: '0.1.0',
      httpListener: { headersTimeoutMs: 400, requestTimeoutMs: 800, maxConnections: 4 },
    },
    extra,
  )
  const base = `http://127.0.0.1:${obs.httpPort}`
  return { obs, base }
}

interface ErrorBody {
  error: { code: string; message: string }
}

test('status page, health and metrics', async t => {
  const { obs, base } = await start(view())
  t.after(() => obs.close())
  const page = await fetch(`${base}/`)
  assert.equal(page.status, 200)
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.match(
    page.headers.get('content-security-policy') ?? '',
    /^default-src 'none'; script-src 'self'; style-src 'self';/,
  )
  const html = await page.text()
  assert.ok(!html.includes('<script>'), 'no inline script')
  assert.ok(html.includes('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;Q&amp;A&quot;'))
  assert.match(html, /id="table-entries" data-value="34">34</)

  const health = await fetch(`${base}/healthz`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok', uptime: 0 })

  const head = await fetch(`${base}/`, { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(await head.text(), '')
  assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(html))

  const metrics = await fetch(`${base}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const scrape = parsePrometheus(await metrics.text())
  assert.equal(scrape.value('metatracker_announces_total'), 10)
  assert.equal(scrape.value('metatracker_drops_total', { reason: 'flood' }), 2)
  assert.equal(scrape.value('metatracker_table_entries'), 34)
  assert.equal(scrape.value('metatracker_http_requests_total', { route: '/', code: '200' }), 2)
  assert.equal(
    scrape.value('metatracker_http_requests_total', { route: '/healthz', code: '200' }),
    1,
  )
})

test('GET /v1/servers: list, filters, best; records verify; hostile names intact', async t => {
  const { obs, base } = await start(view())
  t.after(() => obs.close())
  const get = async (q: string) => {
    const res = await fetch(`${base}/v1/servers?${q}`)
    assert.equal(res.status, 200, q)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    return (await res.json()) as { total: number; mode: string; entries: EntryJson[] }
  }
  const all = await get('network=quake.example')
  assert.equal(all.mode, 'list')
  assert.equal(all.total, 3)
  assert.deepEqual(
    all.entries.map(e => e.server?.players),
    [8, 2, 1],
  )
  const hostile = all.entries.find(e => e.server?.name === HOSTILE)
  assert.ok(hostile, 'name kept intact in JSON')
  for (const e of all.entries) {
    const rec = decodeRecord(Buffer.from(e.record, 'base64'))
    assert.ok(verifyRecord(rec))
    assert.equal(Buffer.from(rec.record.publicKey).toString('hex'), e.key)
    assert.equal(e.kind, 'server')
    assert.equal(e.observed.family, 4)
    assert.equal(e.connect[0]!.address, e.observed.address, 'unspecified address filled in')
    assert.equal(e.connect[0]!.port, 27_960)
  }
  assert.equal((await get('network=quake.example&notFull=1')).total, 2)
  assert.equal((await get('network=quake.example&world=e1m1')).total, 1)
  assert.equal((await get('network=quake.example&count=1&offset=1')).entries[0]?.server?.players, 2)
  assert.deepEqual(
    (await get('network=quake.example&sort=name')).entries.map(e => e.server?.name),
    [HOSTILE, 'server 2', 'server 3'],
  )
  const best = await get('network=quake.example&best=1&world=dm4')
  assert.equal(best.mode, 'best')
  assert.deepEqual(
    best.entries.map(e => e.server?.name),
    [HOSTILE],
  )
  assert.equal((await get('network=nobody.example')).total, 0)
})

test('GET /v1/peers: a stable sample of the asked size', async t => {
  const { obs, base } = await start(view())
  t.after(() => obs.close())
  const get = async () => {
    const res = await fetch(`${base}/v1/peers?network=quake.example&count=5`)
    assert.equal(res.status, 200)
    return (await res.json()) as { total: number; kind: string; entries: EntryJson[] }
  }
  const a = await get()
  assert.equal(a.total, 30)
  assert.equal(a.kind, 'peer')
  assert.equal(a.entries.length, 5)
  assert.ok(a.entries.every(e => e.kind === 'peer' && e.server === null))
  assert.deepEqual(
    (await get()).entries.map(e => e.key),
    a.entries.map(e => e.key),
  )
  const dflt = (await (await fetch(`${base}/v1/peers?network=quake.example`)).json()) as {
    entries: unknown[]
  }
  assert.equal(dflt.entries.length, 20)
})

test('bad requests get coded JSON errors and do not disturb the server', async t => {
  const { obs, base } = await start(view())
  t.after(() => obs.close())
  const expectError = async (res: Response, status: number, code: string) => {
    assert.equal(res.status, status, code)
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
    const body = (await res.json()) as ErrorBody
    assert.equal(body.error.code, code)
    assert.ok(!body.error.message.includes('<'), 'no input echoed')
  }
  const post = await fetch(`${base}/`, { method: 'POST', body: 'x'.repeat(10_000) })
  assert.equal(post.headers.get('allow'), 'GET, HEAD')
  await expectError(post, 405, 'HTTP_METHOD_NOT_ALLOWED')
  await expectError(await fetch(`${base}/nope`), 404, 'HTTP_NOT_FOUND')
  await expectError(await fetch(`${base}/v1/servers/`), 404, 'HTTP_NOT_FOUND')
  for (const q of [
    '',
    'network=',
    'network=UPPER',
    'network=a&network=b',
    'network=quake.example&count=0',
    'network=quake.example&count=101',
    'network=quake.example&count=abc',
    'network=quake.example&count=1e2',
    'network=quake.example&offset=-1',
    'network=quake.example&notFull=yes',
    'network=quake.example&sort=random',
    'network=quake.example&bogus=1',
    `network=quake.example&world=${'w'.repeat(65)}`,
    'network=quake.example&world=%0a',
    'network=quake.example&tag=a&tag=b&tag=c&tag=d&tag=e',
    'network=quake.example&tag=',
  ]) {
    await expectError(await fetch(`${base}/v1/servers?${q}`), 400, 'HTTP_BAD_QUERY')
  }
  await expectError(await fetch(`${base}/v1/peers?network=x&count=500`), 400, 'HTTP_BAD_QUERY')
  await expectError(await fetch(`${base}/metrics?x=1`), 400, 'HTTP_BAD_QUERY')
  // The 400 body names the parameter (the HTTP_BAD_QUERY TrackerError's message).
  const badCount = await fetch(`${base}/v1/peers?network=x&count=500`)
  // Cross-origin readers of /v1/* (a static /browse page) can read why; other routes stay closed.
  assert.equal(badCount.headers.get('access-control-allow-origin'), '*')
  const badMetrics = await fetch(`${base}/metrics?x=1`)
  assert.equal(badMetrics.headers.get('access-control-allow-origin'), null)
  assert.deepEqual(await badCount.json(), {
    error: { code: 'HTTP_BAD_QUERY', message: 'count must be an integer 1-100' },
  })
  await expectError(await fetch(`${base}/?${'a'.repeat(3000)}`), 414, 'HTTP_URL_TOO_LONG')

  // Raw requests Node refuses before any handler runs: still coded JSON.
  const big = await rawExchange(
    obs.httpPort!,
    `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
  )
  assert.match(big.text, /^HTTP\/1\.1 431 /)
  assert.match(big.text, /"code":"HTTP_BAD_REQUEST"/)
  const garbage = await rawExchange(obs.httpPort!, 'BLAH\x00 / what\r\n\r\n')
  assert.match(garbage.text, /^HTTP\/1\.1 400 /)
  assert.match(garbage.text, /"code":"HTTP_BAD_REQUEST"/)
  const slow = await rawExchange(obs.httpPort!, 'GET / HTTP/1.1\r\nHost: x\r\n', 5_000)
  assert.ok(slow.closed, 'a slow request is cut off')
  assert.match(slow.text, /^HTTP\/1\.1 408 /)
  assert.match(slow.text, /"code":"HTTP_TIMEOUT"/)

  const health = await fetch(`${base}/healthz`)
  assert.equal(health.status, 200, 'still serving')
})

test('connections beyond the cap are refused; the flood gate answers 429 with Retry-After', async t => {
  const v = view()
  let mode: 'pass' | 'warn' | 'drop' = 'pass'
  const flood: FloodGate = {
    check: () =>
      mode === 'warn'
        ? { action: 'warn', retryAfter: 7 }
        : mode === 'drop'
          ? { action: 'drop' }
          : { action: 'pass' },
  }
  const { obs, base } = await start(v, { flood })
  t.after(() => obs.close())
  const held = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port: obs.httpPort! }, () => {
            resolve(s)
          })
          s.on('error', reject)
        }),
    ),
  )
  t.after(() => {
    for (const s of held) s.destroy()
  })
  const fifth = await rawExchange(obs.httpPort!, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 2_000)
  assert.equal(fifth.text, '', 'refused without an answer')
  assert.ok(fifth.closed)
  for (const s of held) s.destroy()
  await new Promise(r => setTimeout(r, 100))

  mode = 'warn'
  const limited = await fetch(`${base}/healthz`)
  assert.equal(limited.status, 429)
  assert.equal(limited.headers.get('retry-after'), '7')
  assert.equal(((await limited.json()) as ErrorBody).error.code, 'HTTP_RATE_LIMITED')
  mode = 'drop'
  await assert.rejects(fetch(`${base}/healthz`))
  mode = 'pass'
  assert.equal((await fetch(`${base}/healthz`)).status, 200)
})

test('http: null starts no HTTP listener; close is idempotent', async () => {
  const obs = await Observers.start(new FakeView(), {
    hosts: ['127.0.0.1'],
    http: null,
    listing: [],
    version: '0.1.0',
  })
  assert.equal(obs.httpPort, null)
  await obs.close()
  await obs.close()
})

test('every host gets the same HTTP port (127.0.0.1 and ::1)', async t => {
  const obs = await Observers.start(view(), {
    hosts: ['127.0.0.1', '::1'],
    http: 0,
    listing: [{ port: 0, kind: 'text' }],
    version: '0.1.0',
  })
  t.after(() => obs.close())
  for (const host of ['127.0.0.1', '[::1]']) {
    const res = await fetch(`http://${host}:${obs.httpPort}/healthz`)
    assert.equal(res.status, 200, host)
  }
  const v6 = await rawExchange(obs.listingPorts[0]!, null, 5_000, '::1')
  assert.match(v6.text, /--- metatracker listing start ---\n/)
})

/** GET `path` from `localAddress` (a loopback address): the status, or 'dropped'. */
function getFrom(port: number, path: string, localAddress: string): Promise<number | 'dropped'> {
  return new Promise(resolve => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, localAddress, agent: false, timeout: 5_000 },
      res => {
        res.resume()
        res.on('end', () => {
          resolve(res.statusCode ?? 0)
        })
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => {
      resolve('dropped')
    })
    req.end()
  })
}

test('exempt addresses reach the status page, /healthz and /metrics through an exhausted flood budget', async t => {
  const clock = new ManualClock()
  const flood = new FloodControl({ rate: 1, burst: 5, sources: 100 }, { clock })
  const operator = '127.0.0.1'
  const obs = await Observers.start(
    view(),
    { hosts: ['127.0.0.1'], http: 0, listing: [], version: '0.1.0' },
    { flood, exempt: a => a === operator },
  )
  t.after(() => obs.close())
  const port = obs.httpPort ?? 0
  // A burst from 127.0.0.1 and from 127.0.0.2 (not exempt) exhausts both buckets.
  for (const from of [operator, '127.0.0.2']) {
    const seen: (number | string)[] = []
    for (let i = 0; i < 8; i++) seen.push(await getFrom(port, '/v1/peers?network=testnet', from))
    assert.deepEqual(seen, [200, 200, 200, 200, 200, 429, 'dropped', 'dropped'], from)
  }
  for (const path of ['/metrics', '/healthz', '/', '/status.json', '/assets/status.js']) {
    assert.equal(await getFrom(port, path, operator), 200, `${path} for the exempt address`)
  }
  assert.equal(
    await getFrom(port, '/v1/peers?network=testnet', operator),
    'dropped',
    'API still charged',
  )
  assert.equal(await getFrom(port, '/metrics', '127.0.0.2'), 'dropped', 'others are not exempt')
})

test('without an exempt predicate the operator pages are charged like any request', async t => {
  const clock = new ManualClock()
  const flood = new FloodControl({ rate: 1, burst: 2, sources: 100 }, { clock })
  const obs = await Observers.start(
    view(),
    { hosts: ['127.0.0.1'], http: 0, listing: [], version: '0.1.0' },
    { flood },
  )
  t.after(() => obs.close())
  const seen: (number | string)[] = []
  for (let i = 0; i < 4; i++) seen.push(await getFrom(obs.httpPort ?? 0, '/metrics', '127.0.0.1'))
  assert.deepEqual(seen, [200, 200, 429, 'dropped'])
})

test('httpHosts: HTTP binds its own addresses, the listing ports stay on the hosts', async t => {
  const obs = await Observers.start(view(), {
    hosts: ['127.0.0.1'],
    httpHosts: ['127.0.0.2'],
    http: 0,
    listing: [{ port: 0, kind: 'text' }],
    version: '0.1.0',
  })
  t.after(() => obs.close())
  const res = await fetch(`http://127.0.0.2:${obs.httpPort}/healthz`)
  assert.equal(res.status, 200)
  await assert.rejects(fetch(`http://127.0.0.1:${obs.httpPort}/healthz`), 'not on the hosts')
  const listing = await rawExchange(obs.listingPorts[0]!, null, 5_000, '127.0.0.1')
  assert.match(listing.text, /--- metatracker listing start ---\n/)
})
