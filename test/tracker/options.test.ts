import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_OPTIONS, parseSize, resolveOptions } from '../../src/tracker/options.js'

test('defaults follow the contract', () => {
  const o = resolveOptions()
  assert.deepEqual(o.host, ['127.0.0.1'])
  assert.equal(o.udp, 3520)
  assert.equal(o.tcp, 3520)
  assert.equal(o.data, './metatracker-data')
  assert.equal(o.maxEntries, 100_000)
  assert.equal(o.maxBytes, 64 * 1024 * 1024)
  assert.equal(o.maxTtl, 3600)
  assert.equal(o.announceInterval, 300)
  assert.equal(o.perBlock, 64)
  assert.deepEqual(o.networks, [])
  assert.equal(o.sampleWindow, 30)
  assert.ok(Object.isFrozen(DEFAULT_OPTIONS))
})

test('bad values fail loudly and name the option', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ host: [] }, /^host: expected at least one address/],
    [{ host: ['localhost'] }, /^host\[0\]: expected an IP address/],
    [{ udp: 70000 }, /^udp: expected a port from 0 to 65535, or null to disable, got 70000$/],
    [{ udp: null, tcp: null }, /^udp: expected a port \(udp and tcp cannot both be off/],
    [{ maxEntries: 0 }, /^maxEntries: expected a positive integer, got 0$/],
    [{ maxBytes: 1000 }, /maxBytes/],
    [{ maxTtl: 1.5 }, /maxTtl/],
    [{ networks: ['Bad Name'] }, /networks/],
    [{ sampleWindow: 0 }, /sampleWindow/],
  ]
  for (const [partial, re] of cases) {
    assert.throws(
      () => resolveOptions(partial),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'CONFIG_BAD_OPTION')
        assert.match(e.message, re)
        return true
      },
    )
  }
})

test('sizes: 64MiB, 1GB, 512k, plain bytes', () => {
  assert.equal(parseSize('64MiB'), 64 * 1024 ** 2)
  assert.equal(parseSize('1GB'), 1e9)
  assert.equal(parseSize('1gib'), 1024 ** 3)
  assert.equal(parseSize('512k'), 512_000)
  assert.equal(parseSize('1048576'), 1048576)
  assert.equal(parseSize(4096), 4096)
  assert.equal(parseSize('1.5MiB'), 1.5 * 1024 ** 2)
  assert.equal(parseSize('lots'), null)
  assert.equal(parseSize('10 parsecs'), null)
  assert.equal(parseSize(-1), null)
})

test('admission options: defaults and checks', () => {
  const o = resolveOptions()
  assert.equal(o.cookieRate, 20_000)
  assert.equal(o.cookieBlockRate, 1_000)
  assert.equal(o.udpRecvBuffer, 4 * 1024 * 1024)
  assert.deepEqual(o.operatorAllow, ['127.0.0.0/8', '::1/128'])
  assert.notEqual(o.operatorAllow, DEFAULT_OPTIONS.operatorAllow, 'a copy')
  for (const [partial, re] of [
    [{ cookieRate: 0 }, /cookieRate/],
    [{ cookieBlockRate: 1.5 }, /cookieBlockRate/],
    [{ udpRecvBuffer: -1 }, /udpRecvBuffer/],
    [{ operatorAllow: '127.0.0.1' }, /operatorAllow/],
    [{ operatorAllow: ['127.0.0.1/8'] }, /operatorAllow/],
  ] as [Record<string, unknown>, RegExp][]) {
    assert.throws(() => resolveOptions(partial), { code: 'CONFIG_BAD_OPTION', message: re })
  }
})
