// Operations faults against spawned `metatracker serve` processes: config errors, SIGHUP deny
// reload, kill -9 and SIGTERM restarts, a corrupt checkpoint.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { WireErrorCode } from '../../src/wire/constants.js'
import { decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import { type SignedRecord, decodeRecord } from '../../src/wire/record.js'
import { testKey } from '../helpers/keys.js'
import { ServeProcess } from '../helpers/serve-process.js'
import {
  TcpTrackerClient,
  type Teardown,
  UdpTrackerClient,
  makeRecord,
  queryMessage,
} from '../helpers/tracker.js'

// These scenarios are about reloads and restarts; their records name ports nobody answers
// challenges on, so unproven entries are listed (docs/operations.md `listUnproven`).
const BASE = [
  '--host',
  '127.0.0.1',
  '--udp',
  '0',
  '--tcp',
  '0',
  '--http',
  'off',
  '--list-unproven',
  'true',
]
const nowSeconds = (): number => Math.floor(Date.now() / 1000)

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mt-serve-ops-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

function records(from: number, n: number): SignedRecord[] {
  const out: SignedRecord[] = []
  for (let i = from; i < from + n; i++) {
    const k = testKey(i)
    out.push(
      makeRecord(k.privateKey, k.publicKey, nowSeconds(), {
        endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      }),
    )
  }
  return out
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Announce over TCP (no cookie needed); every one must be accepted. */
async function announceAll(tcpPort: number, recs: SignedRecord[]): Promise<void> {
  const tcp = await TcpTrackerClient.open('127.0.0.1', tcpPort)
  try {
    for (const [i, record] of recs.entries()) {
      const r = await tcp.request({ type: 'announce', txid: i, cookie: new Uint8Array(12), record })
      assert.equal(r?.type, 'announce-reply', JSON.stringify(r))
    }
  } finally {
    tcp.close()
  }
}

/** The records the tracker hands out for the test network (over TCP, up to 100). */
async function heldKeys(tcpPort: number): Promise<string[]> {
  const tcp = await TcpTrackerClient.open('127.0.0.1', tcpPort)
  try {
    const r = await tcp.request(queryMessage({ count: 100 }))
    assert.ok(r?.type === 'introductions', JSON.stringify(r))
    return r.entries.map(e => hex(decodeRecord(e.record).record.publicKey)).sort()
  } finally {
    tcp.close()
  }
}

const keysOf = (recs: SignedRecord[]): string[] => recs.map(r => hex(r.record.publicKey)).sort()

test('configuration errors exit 2 before anything is bound or written, naming the option', async t => {
  const dir = tempDir(t)
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  const badConfig = write('bad.json', '{ "maxEntries": -5 }')
  const typo = write('typo.json', '{ "maxEntrys": 5 }')
  const notJson = write('broken.json', '{ "maxEntries": ')
  const deny = write('deny.txt', '192.0.2.1\nexample.com\n')
  const cases: [string[], RegExp][] = [
    [
      ['--max-entries', '-5'],
      /CONFIG_BAD_OPTION: --max-entries: expected a positive integer, got -5/,
    ],
    [['--config', badConfig], /CONFIG_BAD_OPTION: maxEntries: expected a positive integer, got -5/],
    [
      ['--config', typo],
      /CONFIG_UNKNOWN_OPTION: unknown option maxEntrys \(did you mean maxEntries/,
    ],
    [['--config', notJson], /CONFIG_READ_FAILED: .*broken\.json is not valid JSON/],
    [['--max-bytes', 'lots'], /--max-bytes: expected a size/],
    [['--log-level', 'chatty'], /--log-level: expected one of debug, info, warn, error/],
    [['--deny-list', deny], /DENY_BAD_LINE: .*deny\.txt:2: not a key, IP or CIDR: "example.com"/],
  ]
  await Promise.all(
    cases.map(async ([args, re], i) => {
      const data = join(dir, `data-${i}`)
      const p = ServeProcess.spawn(t, [...BASE, '--data', data, ...args])
      assert.equal(await p.exited(30_000), 2, `${args.join(' ')}: ${p.stderr}`)
      assert.match(p.stderr, re)
      assert.equal(p.stdout, '', 'no listening line')
      assert.equal(existsSync(data), false, 'the data directory was not even created')
    }),
  )
})

test('SIGHUP reloads the deny list and drops held entries; a bad file keeps the old list', async t => {
  const dir = tempDir(t)
  const denyFile = join(dir, 'deny.txt')
  writeFileSync(denyFile, '# nothing yet\n')
  const { p, info } = await ServeProcess.start(t, [
    ...BASE,
    '--data',
    join(dir, 'data'),
    '--deny-list',
    denyFile,
  ])
  const recs = records(40, 3)
  await announceAll(info.tcp, recs)
  assert.deepEqual(await heldKeys(info.tcp), keysOf(recs))

  writeFileSync(denyFile, `# key 40 misbehaves\n${hex(recs[0]!.record.publicKey)}\n`)
  p.kill('SIGHUP')
  const reload = await p.waitForLog(r => r.event === 'reload')
  assert.equal(reload.dropped, 1)
  assert.deepEqual(await heldKeys(info.tcp), keysOf(recs.slice(1)))

  writeFileSync(denyFile, `${hex(recs[1]!.record.publicKey)}\n10.0.0.0/33\n`)
  p.kill('SIGHUP')
  const failed = await p.waitForLog(r => r.event === 'reload_failed')
  assert.equal(failed.code, 'DENY_BAD_LINE')
  assert.match(failed.msg, /deny\.txt:2: .*"10\.0\.0\.0\/33".*previous deny list stays in force/)
  // The old list is still in force: key 40 is refused, key 41 (in the bad file) is still held.
  assert.deepEqual(await heldKeys(info.tcp), keysOf(recs.slice(1)))
  const tcp = await TcpTrackerClient.open('127.0.0.1', info.tcp)
  t.after(() => {
    tcp.close()
  })
  const r = await tcp.request({
    type: 'announce',
    txid: 9,
    cookie: new Uint8Array(12),
    record: recs[0]!,
  })
  assert.ok(r?.type === 'error', JSON.stringify(r))
  assert.equal(r.code, WireErrorCode.DENIED)
  p.kill('SIGTERM')
  assert.equal(await p.exited(), 0)
})

test('kill -9, then restart: checkpointed entries are back and an old cookie still works', async t => {
  const dir = tempDir(t)
  const args = [...BASE, '--data', join(dir, 'data'), '--checkpoint-interval', '1']
  const first = await ServeProcess.start(t, args)
  const udp = await UdpTrackerClient.open('127.0.0.1', first.info.udp)
  t.after(() => udp.close())
  const recs = records(50, 5)
  await announceAll(first.info.tcp, recs)
  // Wait for a periodic checkpoint that holds them, then kill without warning.
  await first.p.waitForLog(
    r => r.event === 'checkpoint' && r.reason === 'interval' && r.entries === recs.length,
    15_000,
  )
  first.p.kill('SIGKILL')
  assert.equal(await first.p.exited(), null)

  const second = await ServeProcess.start(t, args)
  await second.p.waitForLog(r => r.event === 'restored' && r.restored === recs.length)
  assert.deepEqual(await heldKeys(second.info.tcp), keysOf(recs))
  // The cookie from before the kill, from the same client socket, is accepted by the new
  // process: it answers the query instead of sending a fresh cookie.
  const reply = await udp.probe.request(
    encodeMessage(queryMessage({ txid: 77, cookie: udp.cookie, count: 100 })),
    second.info.udp,
    '127.0.0.1',
  )
  assert.ok(reply !== null, 'a reply')
  const m = decodeMessage(reply)
  assert.ok(m.type === 'introductions', `got ${m.type}: the old cookie was refused`)
  assert.equal(m.entries.length, recs.length)
  await second.p.waitForLog(r => r.event === 'checkpoint_verified' && r.invalid === 0)
  second.p.kill('SIGTERM')
  assert.equal(await second.p.exited(), 0)
})

test('SIGTERM, then restart: every entry is kept (checkpoint only on stop)', async t => {
  const dir = tempDir(t)
  const args = [...BASE, '--data', join(dir, 'data'), '--checkpoint-interval', '0']
  const first = await ServeProcess.start(t, args)
  const recs = records(60, 20)
  await announceAll(first.info.tcp, recs)
  first.p.kill('SIGTERM')
  assert.equal(await first.p.exited(), 0, first.p.stderr)
  const saved = await first.p.waitForLog(r => r.event === 'checkpoint' && r.reason === 'stop')
  assert.equal(saved.entries, recs.length)

  const second = await ServeProcess.start(t, args)
  assert.deepEqual(await heldKeys(second.info.tcp), keysOf(recs))
  second.p.kill('SIGINT')
  assert.equal(await second.p.exited(), 0)
})

test('a corrupt checkpoint is refused with a message, kept aside, and the tracker starts', async t => {
  const dir = tempDir(t)
  const data = join(dir, 'data')
  const args = [...BASE, '--data', data, '--checkpoint-interval', '0']
  const first = await ServeProcess.start(t, args)
  await announceAll(first.info.tcp, records(70, 2))
  first.p.kill('SIGTERM')
  assert.equal(await first.p.exited(), 0)
  // Damage one byte in the middle of the checkpoint.
  const path = join(data, 'checkpoint.bin')
  const bytes = readFileSync(path)
  bytes[bytes.byteLength >> 1] = (bytes[bytes.byteLength >> 1] ?? 0) ^ 0xff
  writeFileSync(path, bytes)

  const second = await ServeProcess.start(t, args)
  const refused = await second.p.waitForLog(r => r.event === 'checkpoint_refused')
  assert.equal(refused.level, 50)
  assert.equal(refused.code, 'CHECKPOINT_CORRUPT')
  assert.match(refused.msg, /checksum mismatch.*kept as .*checkpoint\.corrupt-/)
  const kept = readdirSync(data).filter(n => n.startsWith('checkpoint.corrupt-'))
  assert.equal(kept.length, 1)
  assert.deepEqual(readFileSync(join(data, kept[0]!)), bytes, 'kept byte for byte')
  assert.deepEqual(await heldKeys(second.info.tcp), [], 'started empty')
  second.p.kill('SIGTERM')
  assert.equal(await second.p.exited(), 0)
})
