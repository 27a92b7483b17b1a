import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { formatBootpage } from '../../src/bootpage/schema.js'
import { defaultBootpageCacheDir, resolveTrackers } from '../../src/cli/trackers.js'
import type { EntryJson } from '../../src/client/format.js'
import { privateKeyToPem, toHex } from '../../src/crypto/keys.js'
import { makePage, operatorHex } from '../helpers/bootpage.js'
import { startHttpServer } from '../helpers/http-server.js'
import { testKey } from '../helpers/keys.js'
import { startTracker } from '../helpers/tracker.js'
import { runCli } from '../helpers/cli-run.js'

/* The client commands' --bootpage option against real trackers listed in a signed bootpage. */

const cli = (...args: string[]) => runCli(args)

const nowS = () => Math.floor(Date.now() / 1000)
// This file runs in its own process: keep the default bootpage cache out of the home directory.
process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), 'mt-xdg-'))

test('announce and peers find their trackers through a signed bootpage; the cache covers an outage', async t => {
  const [a, b] = await Promise.all([startTracker(t), startTracker(t)])
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-bp-'))
  const doc = makePage({
    network: 'clinet',
    issuedAt: nowS() - 60,
    validUntil: nowS() + 3600,
    threshold: 2,
    trackers: [a, b].map((tr, i) => ({
      name: `t${i}`,
      operator: `Operator ${i}`,
      host: '127.0.0.1',
      udp: tr.udp,
      tcp: tr.tcp,
    })),
  })
  const pins = join(dir, 'operators.txt')
  writeFileSync(pins, operatorHex.map((k, i) => `${k} op${i}`).join('\n') + '\n')
  const body = formatBootpage(doc)
  const srv = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  t.after(srv.close)
  const url = `${srv.origin}/bootpage.json`
  const cache = join(dir, 'cache')
  const keyFile = join(dir, 'node.pem')
  writeFileSync(keyFile, privateKeyToPem(testKey(77).privateKey), { mode: 0o600 })
  const source = ['--bootpage', url, '--pin', pins, '--bootpage-cache', cache]

  const announced = await cli(
    'announce',
    '--key',
    keyFile,
    '--network',
    'clinet',
    ...source,
    '--port',
    '7000',
    '--once',
    '--json',
  )
  assert.equal(announced.code, 0, announced.stderr)
  const states = JSON.parse(announced.stdout) as { state: string }[]
  assert.deepEqual(
    states.map(s => s.state),
    ['up', 'up'],
    'announced to both listed trackers',
  )
  assert.equal(readdirSync(cache).length, 1, 'the accepted page was cached')

  const peers = await cli('peers', '--network', 'clinet', ...source, '--json')
  assert.equal(peers.code, 0, peers.stderr)
  const entries = JSON.parse(peers.stdout) as EntryJson[]
  assert.equal(entries.length, 1)
  assert.equal(entries[0]!.key, toHex(testKey(77).publicKey))

  await srv.close()
  const offline = await cli('peers', '--network', 'clinet', ...source, '--json')
  assert.equal(offline.code, 0, offline.stderr)
  assert.match(offline.stderr, /BOOTPAGE_FETCH_FAILED.*using the cached page, sequence 1/)
  assert.equal((JSON.parse(offline.stdout) as EntryJson[]).length, 1)

  // The same page from a file: the default cache ($XDG_CACHE_HOME/metatracker) is used unless
  // --no-bootpage-cache says otherwise.
  const file = join(dir, 'bootpage.json')
  writeFileSync(file, body)
  const fromFile = (...extra: string[]) =>
    cli(
      'peers',
      '--network',
      'clinet',
      '--bootpage',
      file,
      '--pin',
      operatorHex.join(','),
      ...extra,
    )
  // (The tracker health file, health.json, lives beside the cached pages.)
  const pages = (d: string): number =>
    existsSync(d) ? readdirSync(d).filter(n => n.startsWith('bootpage-')).length : 0
  assert.equal((await fromFile('--no-bootpage-cache')).code, 0)
  assert.equal(pages(defaultBootpageCacheDir()), 0)
  assert.equal((await fromFile()).code, 0)
  assert.equal(pages(defaultBootpageCacheDir()), 1)
})

test('--bootpage refusals: no pins (exit 2), wrong pins, wrong network, not enough pinned signers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-bp-'))
  const file = join(dir, 'bootpage.json')
  writeFileSync(
    file,
    formatBootpage(
      makePage({
        network: 'clinet',
        issuedAt: nowS() - 60,
        validUntil: nowS() + 3600,
        threshold: 2,
      }),
    ),
  )
  const ask = (...args: string[]) =>
    cli('peers', '--bootpage', file, '--no-bootpage-cache', ...args)
  const noPin = await ask('--network', 'clinet')
  assert.equal(noPin.code, 2)
  assert.match(noPin.stderr, /BOOTPAGE_BAD_SPEC: --bootpage needs --pin/)
  const strangers = [testKey(60), testKey(61)].map(k => toHex(k.publicKey)).join(',')
  const wrongPins = await ask('--network', 'clinet', '--pin', strangers)
  assert.equal(wrongPins.code, 1)
  assert.match(wrongPins.stderr, /BOOTPAGE_NOT_PINNED/)
  const other = await ask('--network', 'other', '--pin', operatorHex.join(','))
  assert.match(other.stderr, /BOOTPAGE_WRONG_NETWORK/)
  const strict = await ask(
    '--network',
    'clinet',
    '--pin',
    `${operatorHex[0]!},${strangers}`,
    '--pin-threshold',
    '2',
  )
  assert.match(strict.stderr, /BOOTPAGE_NOT_PINNED: signed by 1 of 3 pinned keys, 2 required/)
  const bad = await ask(
    '--network',
    'clinet',
    '--pin',
    operatorHex.join(','),
    '--pin-threshold',
    'x',
  )
  assert.equal(bad.code, 2)
})

test('resolveTrackers merges --tracker and --bootpage without duplicates; default cache dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-bp-'))
  const file = join(dir, 'bootpage.json')
  writeFileSync(
    file,
    formatBootpage(makePage({ issuedAt: nowS() - 60, validUntil: nowS() + 3600 })),
  )
  const warnings: string[] = []
  const list = await resolveTrackers(
    {
      tracker: [
        { host: '127.0.0.1', udp: 3520, tcp: 3520 },
        { host: '192.0.2.1', udp: 1, tcp: 1 },
      ],
      bootpage: file,
      pin: [operatorHex.join(',')],
      bootpageCache: false,
    },
    line => warnings.push(line),
  )
  assert.deepEqual(
    list.map(t => `${t.name ?? '-'} ${t.host} ${t.udp ?? '-'} ${t.tcp ?? '-'}`),
    [
      '- 127.0.0.1 3520 3520',
      '- 192.0.2.1 1 1',
      'beta ::1 4520 4521',
      'gamma tracker.example.org - 5520',
    ],
  )
  assert.deepEqual(warnings, [])
  assert.equal(defaultBootpageCacheDir(), join(process.env.XDG_CACHE_HOME!, 'metatracker'))
})
