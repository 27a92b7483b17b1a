// One bind rule for every listener (UDP, TCP, HTTP, listing): an IPv6 listener is IPv6-only when
// the host list also holds an IPv4 address, dual-stack when only IPv6 addresses are given
// (docs/operations.md, "Addresses and IPv6"). The wildcard binds accept connections from
// anywhere; the tests only connect over 127.0.0.1 and ::1.
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Daemon } from '../../src/tracker/daemon.js'
import { ipv6OnlyFor } from '../../src/net/bind.js'
import { daemonView } from '../../src/ops/daemon-view.js'
import { Observers } from '../../src/observe/observers.js'
import { EMPTY_OPERATOR } from '../../src/observe/view.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { rawExchange } from '../helpers/raw-tcp.js'
import { testKey } from '../helpers/keys.js'
import { type Teardown, TcpTrackerClient, makeRecord } from '../helpers/tracker.js'
import { udpRequest } from '../helpers/udp.js'

/** Whether this machine can bind ::1 (IPv6 loopback); the IPv6 cases are skipped otherwise. */
async function ipv6Loopback(): Promise<boolean> {
  const s = createSocket('udp6')
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.bind(0, '::1', resolve)
    })
    return true
  } catch {
    return false
  } finally {
    s.close()
  }
}

const NO_IPV6 = 'IPv6 loopback (::1) is not available on this machine'

test('ipv6OnlyFor: IPv6-only next to an IPv4 address, dual-stack among IPv6 only', () => {
  assert.equal(ipv6OnlyFor('::', ['0.0.0.0', '::']), true)
  assert.equal(ipv6OnlyFor('::', ['::', '127.0.0.1']), true)
  assert.equal(ipv6OnlyFor('::1', ['127.0.0.1', '::1']), true)
  assert.equal(ipv6OnlyFor('::', ['::']), false)
  assert.equal(ipv6OnlyFor('::', ['::', '::1']), false)
  assert.equal(ipv6OnlyFor('0.0.0.0', ['0.0.0.0', '::']), false)
  assert.equal(ipv6OnlyFor('127.0.0.1', ['127.0.0.1']), false)
})

/** A daemon and its observers on `hosts`, every port 0; torn down by `t`. */
async function startAll(t: Teardown, hosts: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'mt-bind-'))
  const daemon = new Daemon({ host: hosts, udp: 0, tcp: 0, data: dir })
  t.after(async () => {
    await daemon.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await daemon.start()
  const obs = await Observers.start(daemonView(daemon, EMPTY_OPERATOR), {
    hosts,
    http: 0,
    listing: [{ port: 0, kind: 'text' }],
    version: '0.1.0',
  })
  t.after(() => obs.close())
  const a = daemon.addresses()
  return { daemon, obs, udp: a.udp ?? 0, tcp: a.tcp ?? 0 }
}

/** Every listener answers over `host` (a loopback address). */
async function answersOver(
  host: string,
  ports: { udp: number; tcp: number; http: number; listing: number },
): Promise<void> {
  const cookie = await udpRequest(
    encodeMessage({ type: 'cookie-request', txid: 3 }),
    ports.udp,
    host,
  )
  assert.ok(cookie !== null, `UDP over ${host}`)
  assert.equal(decodeMessage(cookie).type, 'cookie-reply')
  const tcp = await TcpTrackerClient.open(host, ports.tcp)
  try {
    const r = await tcp.request({ type: 'stats-request', txid: 4, cookie: new Uint8Array(12) })
    assert.equal(r?.type, 'stats-reply', `TCP over ${host}`)
  } finally {
    tcp.close()
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${ports.http}/healthz`
  assert.equal((await fetch(url)).status, 200, `HTTP over ${host}`)
  const listing = await rawExchange(ports.listing, null, 5_000, host)
  assert.match(listing.text, /--- metatracker listing start ---\n/, `listing over ${host}`)
}

test('0.0.0.0 and :: on the same ports: every listener binds, each family has its own', async t => {
  if (!(await ipv6Loopback())) {
    t.skip(NO_IPV6)
    return
  }
  const { obs, udp, tcp } = await startAll(t, ['0.0.0.0', '::'])
  const ports = { udp, tcp, http: obs.httpPort ?? 0, listing: obs.listingPorts[0] ?? 0 }
  await answersOver('127.0.0.1', ports)
  await answersOver('::1', ports)
})

test(':: alone is dual-stack for every listener: IPv4 clients are served too', async t => {
  if (!(await ipv6Loopback())) {
    t.skip(NO_IPV6)
    return
  }
  const { obs, udp, tcp } = await startAll(t, ['::'])
  const ports = { udp, tcp, http: obs.httpPort ?? 0, listing: obs.listingPorts[0] ?? 0 }
  await answersOver('127.0.0.1', ports)
  await answersOver('::1', ports)
  // An IPv4 client over the dual-stack socket is seen as IPv4, not as ::ffff:127.0.0.1.
  const key = testKey(21)
  // Over TCP the port comes from the record (docs/protocol.md §8.3, observed endpoint).
  const record = makeRecord(key.privateKey, key.publicKey, Math.floor(Date.now() / 1000), {
    endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
  })
  const client = await TcpTrackerClient.open('127.0.0.1', tcp)
  t.after(() => {
    client.close()
  })
  const r = await client.request({ type: 'announce', txid: 1, cookie: new Uint8Array(12), record })
  assert.ok(r?.type === 'announce-reply')
  assert.deepEqual([r.observed.family, r.observed.address, r.observed.port], [4, '127.0.0.1', 4000])
})

test('127.0.0.1 and ::1 each get every listener on one port', async t => {
  if (!(await ipv6Loopback())) {
    t.skip(NO_IPV6)
    return
  }
  const { obs, udp, tcp } = await startAll(t, ['127.0.0.1', '::1'])
  assert.equal(udp, tcp)
  const ports = { udp, tcp, http: obs.httpPort ?? 0, listing: obs.listingPorts[0] ?? 0 }
  await answersOver('127.0.0.1', ports)
  await answersOver('::1', ports)
})
