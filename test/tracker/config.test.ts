import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { isTrackerError } from '../../src/errors.js'
import { type ConfigFlags, DEFAULT_CONFIG, loadConfig, parseConfig } from '../../src/ops/config.js'
import { DEFAULT_OPTIONS } from '../../src/tracker/options.js'

const refused = (code: string, re: RegExp) => (err: unknown) => {
  assert.ok(isTrackerError(err), String(err))
  assert.equal(err.code, code, err.message)
  assert.match(err.message, re)
  return true
}

test('an empty config is the defaults, which include every Daemon default', () => {
  const c = parseConfig({})
  assert.deepEqual(c, DEFAULT_CONFIG)
  for (const [key, value] of Object.entries(DEFAULT_OPTIONS)) {
    assert.deepEqual(c[key as keyof typeof c], value, key)
  }
  assert.equal(c.http.port, 3521)
  assert.equal(c.denyList, null)
  assert.deepEqual(c.flood, { rate: 20, burst: 40, sources: 10_000 })
})

test('every key of the config contract is read, sizes in units, names mapped', () => {
  const c = parseConfig({
    host: ['127.0.0.1', '::1'],
    udp: 0,
    tcp: null,
    http: null,
    data: '/var/lib/mt',
    maxEntries: 5000,
    maxBytes: '64MiB',
    maxTtl: 600,
    announceInterval: 120,
    perBlock: 8,
    networks: ['quake.example'],
    sampleWindow: 10,
    egress: { bytesPerSecond: '1GB', tcpQueueBytes: 65536 },
    flood: { rate: 5, burst: 10, sources: 100 },
    denyList: '/etc/mt/deny.txt',
    checkpoint: { interval: 0 },
    operator: { name: 'ops', location: 'Santa Clara, CA', contact: 'ops@example.org' },
    listing: [
      { port: 3522, kind: 'text', network: 'quake.example' },
      { port: 3523, kind: 'verbose' },
      { port: 3524, kind: 'json' },
      { port: 3525, kind: 'info', file: '/etc/mt/motd.txt' },
    ],
    log: { level: 'debug' },
  })
  assert.deepEqual(c.host, ['127.0.0.1', '::1'])
  assert.equal(c.udp, 0)
  assert.equal(c.tcp, null)
  assert.equal(c.http.port, null)
  assert.equal(c.maxBytes, 64 * 1024 * 1024)
  assert.equal(c.perBlock, 8)
  assert.equal(c.egress.bytesPerSecond, 1_000_000_000)
  assert.equal(c.checkpoint.interval, 0)
  assert.equal(c.listing.length, 4)
  assert.equal(c.log.level, 'debug')
  assert.equal(parseConfig({ host: '::1' }).host[0], '::1', 'one host may be a string')
  assert.equal(parseConfig({ maxBytes: 1048576 }).maxBytes, 1048576, 'plain numbers are bytes')
})

test('a bad value names the option and the value', () => {
  const cases: [unknown, RegExp][] = [
    [{ maxEntries: -5 }, /^maxEntries: expected a positive integer, got -5 \(in c\.json\)$/],
    [{ maxEntries: 1.5 }, /^maxEntries: expected a positive integer, got 1.5/],
    [{ maxEntries: '100' }, /^maxEntries: expected a positive integer, got "100"/],
    [{ maxBytes: '64 parsecs' }, /^maxBytes: expected a size .*got "64 parsecs"/],
    [{ maxBytes: '1KiB' }, /^maxBytes: expected a size of at least 64KiB/],
    [{ udp: 70000 }, /^udp: expected a port from 0 to 65535, or null to disable, got 70000/],
    [{ http: 'yes' }, /^http: expected a port .*got "yes"/],
    [{ host: ['127.0.0.1', 'example.com'] }, /^host\[1\]: expected an IP address.*"example.com"/],
    [{ host: [] }, /^host: expected at least one address/],
    [{ networks: ['Bad Net'] }, /^networks\[0\]: expected a network name/],
    [{ maxTtl: 0 }, /^maxTtl: expected a number of seconds from 1 to 86400, got 0/],
    [{ egress: { bytesPerSecond: 100 } }, /^egress.bytesPerSecond: expected 0 \(unlimited\)/],
    [{ flood: { rate: -1 } }, /^flood.rate: expected requests per second/],
    [{ flood: 'yes' }, /^flood: expected an object \{ rate, burst, sources \}, got "yes"/],
    [{ checkpoint: { interval: 'often' } }, /^checkpoint.interval: expected a number of seconds/],
    [{ log: { level: 'loud' } }, /^log.level: expected one of debug, info, warn, error/],
    [{ listing: [{ port: 3525, kind: 'info' }] }, /^listing\[0\].file: expected a file to send/],
    [{ listing: [{ port: 1, kind: 'html' }] }, /^listing\[0\].kind: expected one of text/],
    [{ denyList: 7 }, /^denyList: expected a file path or null, got 7/],
    [{ operator: { name: 'x'.repeat(300) } }, /^operator.name: expected at most 200 characters/],
  ]
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseConfig(raw, { file: 'c.json' }),
      refused('CONFIG_BAD_OPTION', re),
      JSON.stringify(raw),
    )
  }
})

test('rules across options: a listener is needed, TCP services need distinct ports', () => {
  assert.throws(() => parseConfig({ udp: null, tcp: null }), refused('CONFIG_BAD_OPTION', /^udp:/))
  assert.throws(
    () => parseConfig({ tcp: 4000, http: 4000 }),
    refused('CONFIG_BAD_OPTION', /^http: expected a port not already used by tcp, got 4000/),
  )
  assert.throws(
    () =>
      parseConfig({
        listing: [
          { port: 5000, kind: 'text' },
          { port: 5000, kind: 'json' },
        ],
      }),
    refused('CONFIG_BAD_OPTION', /^listing\[1\].port: .*used by listing\[0\].port/),
  )
  // Port 0 (any free port) never collides; UDP and TCP share a number by design.
  const c = parseConfig({ udp: 3520, tcp: 3520, http: 0, listing: [{ port: 0, kind: 'text' }] })
  assert.equal(c.http.port, 0)
})

test('an unknown option is refused, with a suggestion when one is close', () => {
  assert.throws(
    () => parseConfig({ maxEntrys: 5 }),
    refused('CONFIG_UNKNOWN_OPTION', /^unknown option maxEntrys \(did you mean maxEntries\?\)$/),
  )
  assert.throws(
    () => parseConfig({ egress: { tcpQueue: 5 } }),
    refused('CONFIG_UNKNOWN_OPTION', /egress.tcpQueue \(did you mean tcpQueueBytes\?\)/),
  )
  assert.throws(
    () => parseConfig({ frobnicate: true }, { file: 'c.json' }),
    refused('CONFIG_UNKNOWN_OPTION', /^unknown option frobnicate \(in c\.json\)$/),
  )
})

test('flags override the file, and an error in a flag names the flag', () => {
  const flags: ConfigFlags = {
    host: ['::1'],
    udp: '0',
    tcp: 'off',
    http: 'off',
    maxEntries: '7',
    maxBytes: '1MiB',
    egress: '2MiB',
    floodRate: '0',
    checkpointInterval: '5',
    logLevel: 'warn',
    network: ['a', 'b'],
  }
  const c = parseConfig({ maxEntries: 100, udp: 9999, flood: { burst: 3 } }, {}, flags)
  assert.deepEqual(c.host, ['::1'])
  assert.equal(c.udp, 0)
  assert.equal(c.tcp, null)
  assert.equal(c.http.port, null)
  assert.equal(c.maxEntries, 7)
  assert.equal(c.maxBytes, 1024 * 1024)
  assert.equal(c.egress.bytesPerSecond, 2 * 1024 * 1024)
  assert.deepEqual(c.flood, { rate: 0, burst: 3, sources: 10_000 })
  assert.equal(c.checkpoint.interval, 5)
  assert.equal(c.log.level, 'warn')
  assert.deepEqual(c.networks, ['a', 'b'])
  const bad: [ConfigFlags, RegExp][] = [
    [{ maxEntries: '-5' }, /^--max-entries: expected a positive integer, got -5$/],
    [{ maxEntries: 'abc' }, /^--max-entries: expected a positive integer, got "abc"$/],
    [{ udp: '70000' }, /^--udp: expected a port/],
    [{ host: ['localhost'] }, /^--host: expected an IP address/],
    [{ logLevel: 'chatty' }, /^--log-level: expected one of/],
    [{ egress: 'fast' }, /^--egress: expected a size per second/],
  ]
  for (const [f, re] of bad) {
    assert.throws(
      () => parseConfig({}, { file: 'c.json' }, f),
      refused('CONFIG_BAD_OPTION', re),
      JSON.stringify(f),
    )
  }
})

test('listing ports from the CLI are checked like the file, errors naming --listing', () => {
  const c = parseConfig(
    { listing: [{ port: 1, kind: 'json' }] },
    {},
    {
      listing: [{ port: 3522, kind: 'text', network: 'quake.example' }],
    },
  )
  assert.deepEqual(c.listing, [{ port: 3522, kind: 'text', network: 'quake.example' }])
  assert.throws(
    () => parseConfig({ tcp: 3522 }, {}, { listing: [{ port: 3522, kind: 'json' }] }),
    refused('CONFIG_BAD_OPTION', /^--listing: expected a port not already used by tcp, got 3522$/),
  )
  assert.throws(
    () => parseConfig({}, {}, { listing: [{ port: 3525, kind: 'info' }] }),
    refused('CONFIG_BAD_OPTION', /^--listing: expected a file to send/),
  )
})

test('relative paths in a file are taken from the file folder; flags stay as given', () => {
  const c = parseConfig(
    { data: 'state', denyList: 'deny.txt', listing: [{ port: 1, kind: 'info', file: 'm.txt' }] },
    { file: '/etc/mt/config.json' },
  )
  assert.equal(c.data, '/etc/mt/state')
  assert.equal(c.denyList, '/etc/mt/deny.txt')
  assert.equal(c.listing[0]?.file, '/etc/mt/m.txt')
  const abs = parseConfig(
    { data: '/srv/mt' },
    { file: '/etc/mt/config.json' },
    { denyList: 'd.txt' },
  )
  assert.equal(abs.data, '/srv/mt')
  assert.equal(abs.denyList, 'd.txt')
})

test('loadConfig: unreadable files and bad JSON are CONFIG_READ_FAILED naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-config-'))
  const file = join(dir, 'config.json')
  await assert.rejects(loadConfig(file), refused('CONFIG_READ_FAILED', /config\.json: ENOENT/))
  writeFileSync(file, '{"maxEntries": 5,}')
  await assert.rejects(loadConfig(file), refused('CONFIG_READ_FAILED', /is not valid JSON/))
  writeFileSync(file, '[1, 2]')
  await assert.rejects(loadConfig(file), refused('CONFIG_READ_FAILED', /must hold a JSON object/))
  writeFileSync(file, '{"maxEntries": 5}')
  assert.equal((await loadConfig(file, { maxEntries: '6' })).maxEntries, 6)
})

test('docs/metatracker.example.json is a valid config using every section', async () => {
  const file = new URL('../../docs/metatracker.example.json', import.meta.url).pathname
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  const c = await loadConfig(file)
  for (const key of [
    'host',
    'udp',
    'tcp',
    'http',
    'data',
    'maxEntries',
    'maxBytes',
    'maxTtl',
    'announceInterval',
    'perBlock',
    'networks',
    'egress',
    'flood',
    'denyList',
    'checkpoint',
    'operator',
    'listing',
    'log',
  ]) {
    assert.ok(key in raw, `the example shows ${key}`)
  }
  assert.equal(c.listing.length, 4)
})

test('admission options: cookieRate, cookieBlockRate, udpRecvBuffer, operatorAllow', () => {
  const d = parseConfig({})
  assert.equal(d.cookieRate, 20_000)
  assert.equal(d.cookieBlockRate, 1_000)
  assert.equal(d.udpRecvBuffer, 4 * 1024 * 1024)
  assert.deepEqual(d.operatorAllow, ['127.0.0.0/8', '::1/128'])
  const f = parseConfig(
    { cookieBlockRate: 0, udpRecvBuffer: '8MiB', operatorAllow: ['10.0.0.0/8'] },
    {},
    { cookieRate: '500', operatorAllow: ['192.0.2.7', '2001:db8::/32'] },
  )
  assert.equal(f.cookieRate, 500)
  assert.equal(f.cookieBlockRate, 0)
  assert.equal(f.udpRecvBuffer, 8 * 1024 * 1024)
  assert.deepEqual(f.operatorAllow, ['192.0.2.7', '2001:db8::/32'])
  assert.equal(parseConfig({}, {}, { udpRecvBuffer: '0' }).udpRecvBuffer, 0)
  assert.deepEqual(parseConfig({ operatorAllow: [] }).operatorAllow, [])
  const bad: [Record<string, unknown>, ConfigFlags, RegExp][] = [
    [{}, { cookieRate: '0' }, /^--cookie-rate: expected a positive integer/],
    [{ cookieBlockRate: -1 }, {}, /cookieBlockRate/],
    [{}, { udpRecvBuffer: '2GiB' }, /^--udp-recv-buffer: expected a size of at most 1GiB/],
    [{}, { operatorAllow: ['10.0.0.1/8'] }, /^--operator-allow: expected an IP address or CIDR/],
    [{ operatorAllow: ['localhost'] }, {}, /operatorAllow/],
  ]
  for (const [raw, flags, re] of bad) {
    assert.throws(() => parseConfig(raw, {}, flags), refused('CONFIG_BAD_OPTION', re), String(re))
  }
})

test('http is a port, or { port, host } to bind HTTP elsewhere; --http and --http-host set each half', () => {
  assert.equal(parseConfig({}).http.host, null, 'default: the tracker hosts')
  const c = parseConfig({ http: { port: 8080, host: '127.0.0.2' } })
  assert.equal(c.http.port, 8080)
  assert.deepEqual(c.http.host, ['127.0.0.2'])
  assert.deepEqual(parseConfig({ http: { host: ['::1', '127.0.0.1'] } }).http.host, [
    '::1',
    '127.0.0.1',
  ])
  assert.equal(parseConfig({ http: { host: '::1' } }).http.port, 3521)
  const f = parseConfig({ http: 8080 }, {}, { httpHost: ['127.0.0.3'] })
  assert.deepEqual([f.http.port, f.http.host], [8080, ['127.0.0.3']])
  const g = parseConfig({ http: { port: 8080, host: '127.0.0.2' } }, {}, { http: '9090' })
  assert.deepEqual([g.http.port, g.http.host], [9090, ['127.0.0.2']])
  assert.equal(parseConfig({ http: null }, {}, { httpHost: ['::1'] }).http.port, null)
  assert.throws(
    () => parseConfig({ http: { host: 'localhost' } }),
    refused('CONFIG_BAD_OPTION', /^http\.host: expected an IP address literal/),
  )
  assert.throws(
    () => parseConfig({}, {}, { httpHost: ['nope'] }),
    refused('CONFIG_BAD_OPTION', /^--http-host: expected an IP address literal/),
  )
  assert.throws(
    () => parseConfig({ http: { port: 8080, hots: '::1' } }),
    refused('CONFIG_UNKNOWN_OPTION', /http\.hots \(did you mean host\?\)/),
  )
  assert.throws(
    () => parseConfig({ tcp: 4000, http: { port: 4000 } }),
    refused('CONFIG_BAD_OPTION', /^http: expected a port not already used by tcp/),
  )
})
