// The bench:peers payloads stay valid requests as the wire evolves, and the C load generator
// speaks each protocol it claims (a short run against real servers on 127.0.0.1). Figures are
// not checked here: they belong to `npm run bench:peers` (docs/benchmarks.md).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { generateKeyPairSync } from 'node:crypto'
import { rawPublicKey } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import { decodeMessage } from '../../src/wire/messages.js'
import {
  FRESH_NETWORK,
  INFO_HASH,
  INFO_HASHES,
  SAMPLE_NETWORK,
  announcePacket,
  bep15Announces,
  bep15Distinct,
  payloadFile,
  sampleQuery,
} from '../../scripts/peers/payloads.js'
import { startTracker } from '../helpers/tracker.js'

const run = promisify(execFile)

test('a bench announce decodes as an announce carrying the exact record bytes', () => {
  const { privateKey } = generateKeyPairSync('ed25519')
  const now = Math.floor(Date.now() / 1000)
  const signed = signRecord(
    {
      network: FRESH_NETWORK,
      publicKey: rawPublicKey(privateKey),
      seq: 3,
      issuedAt: now,
      expiresAt: now + 3600,
      kind: 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: null,
    },
    privateKey,
  )
  const m = decodeMessage(announcePacket(signed.bytes, 9))
  assert.equal(m.type, 'announce')
  assert.equal(m.txid, 9)
  assert.deepEqual(new Uint8Array(m.record.bytes), new Uint8Array(signed.bytes))
})

test('the bench sample query asks for 8 peers of the sampled network', () => {
  const m = decodeMessage(sampleQuery())
  assert.equal(m.type, 'query')
  assert.equal(m.mode, 'sample')
  assert.equal(m.kind, 'peer')
  assert.equal(m.count, 8)
  assert.equal(m.network, SAMPLE_NETWORK)
})

test('BEP 15 announces: 98 bytes, announce action, whitelisted torrent, distinct peers', () => {
  const packets = bep15Announces(256)
  const ports = new Set<number>()
  for (const p of packets) {
    assert.equal(p.byteLength, 98)
    const v = new DataView(p.buffer, p.byteOffset)
    assert.equal(v.getUint32(8), 1)
    assert.equal(Buffer.from(p.subarray(16, 36)).toString('hex'), INFO_HASH)
    assert.equal(v.getInt32(92), 8)
    ports.add(v.getUint16(96))
  }
  assert.equal(ports.size, 256)
  assert.ok(INFO_HASHES.includes(INFO_HASH))
})

test('the memory fill names each (torrent, port) pair once', () => {
  const count = 40_000
  const file = bep15Distinct(count)
  assert.equal(file.byteLength, count * 100)
  const v = new DataView(file.buffer)
  const seen = new Set<string>()
  for (let i = 0; i < count; i++) {
    const at = i * 100
    assert.equal(v.getUint16(at), 98)
    const hash = Buffer.from(file.subarray(at + 2 + 16, at + 2 + 36)).toString('hex')
    assert.ok(INFO_HASHES.includes(hash))
    seen.add(`${hash}:${v.getUint16(at + 2 + 96)}`)
  }
  assert.equal(seen.size, count)
})

async function haveGcc(): Promise<boolean> {
  try {
    await run('gcc', ['--version'])
    return true
  } catch {
    return false
  }
}
const gcc = await haveGcc()
const skip = !gcc && process.env.CI !== 'true' ? 'gcc is missing: apt-get install gcc' : false

interface Outcome {
  ok: number
  bad: number
}

test(
  'the C generator drives an echo server and a real tracker (cookie handshake)',
  { skip },
  async t => {
    assert.ok(gcc, 'gcc is missing (CI=true): apt-get install gcc')
    const dir = await mkdtemp(join(tmpdir(), 'mt-loadgen-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const loadgen = join(dir, 'loadgen')
    await run('gcc', [
      '-O2',
      '-o',
      loadgen,
      new URL('../../scripts/loadgen/loadgen.c', import.meta.url).pathname,
    ])

    const echo = createSocket('udp4')
    echo.on('message', (msg, rinfo) => {
      echo.send(msg, rinfo.port, rinfo.address)
    })
    await new Promise<void>(resolve => echo.bind(0, '127.0.0.1', resolve))
    t.after(() => {
      echo.close()
    })
    const echoFile = join(dir, 'echo.bin')
    await writeFile(echoFile, payloadFile([new Uint8Array(64).fill(1)]))
    const short = ['--sockets', '2', '--window', '4', '--seconds', '0.5', '--warmup', '0.1']
    const e = await run(loadgen, [
      '--port',
      String(echo.address().port),
      '--file',
      echoFile,
      ...short,
    ])
    const eo = JSON.parse(e.stdout) as Outcome
    assert.ok(eo.ok > 0, e.stdout)
    assert.equal(eo.bad, 0)

    // The metatracker protocol: a cookie per socket, patched into every query; a reply counts
    // only as `introductions` (a missing or wrong cookie would get cookie-replies instead).
    const tracker = await startTracker(t)
    const sampleFile = join(dir, 'sample.bin')
    await writeFile(sampleFile, payloadFile([sampleQuery()]))
    const q = await run(loadgen, [
      '--port',
      String(tracker.udp),
      '--proto',
      'mt',
      '--file',
      sampleFile,
      '--expect',
      '0=15',
      ...short,
    ])
    const qo = JSON.parse(q.stdout) as Outcome
    assert.ok(qo.ok > 0, q.stdout)
    assert.equal(qo.bad, 0, q.stderr)
  },
)
