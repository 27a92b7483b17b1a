import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { encodeMessage, decodeMessage } from '../../src/wire/messages.js'
import { ServeProcess } from '../helpers/serve-process.js'
import { udpRequest } from '../helpers/udp.js'

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname

test('serve prints its listening line, answers, and stops on SIGTERM with exit 0', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mt-serve-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const { p, info } = await ServeProcess.start(t, [
    '--udp',
    '0',
    '--tcp',
    '0',
    '--http',
    'off',
    '--data',
    dir,
  ])
  assert.equal(info.event, 'listening')
  assert.ok(info.udp > 0 && info.tcp > 0)
  assert.deepEqual(info.hosts, ['127.0.0.1'])
  const reply = await udpRequest(encodeMessage({ type: 'cookie-request', txid: 5 }), info.udp)
  assert.ok(reply !== null)
  assert.equal(decodeMessage(reply).type, 'cookie-reply')
  const secret = await stat(join(dir, 'cookie-secret'))
  assert.equal(secret.mode & 0o777, 0o600)
  assert.equal(secret.size, 32)
  p.kill('SIGTERM')
  assert.equal(await p.exited(10_000), 0, `stderr: ${p.stderr}`)
  assert.match(p.stderr, /"msg":"tracker closed"/)
})

test('serve refuses a bad option before binding, naming it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--udp', '70000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const code = await new Promise<number | null>(resolve =>
    child.once('exit', c => {
      resolve(c)
    }),
  )
  assert.equal(code, 2)
  assert.match(err, /CONFIG_BAD_OPTION/)
  assert.match(err, /--udp/)
})

test('the shipped docs/metatracker.example.json starts (ports moved to free ones) and stops', async t => {
  const ipv6 = await new Promise<boolean>(resolve => {
    const s = createSocket('udp6')
    s.once('error', () => {
      s.close()
      resolve(false)
    })
    s.bind(0, '::1', () => {
      s.close()
      resolve(true)
    })
  })
  if (!ipv6) {
    t.skip('IPv6 loopback (::1) is not available: the example listens on ::')
    return
  }
  const dir = await mkdtemp(join(tmpdir(), 'mt-example-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const example = JSON.parse(
    await readFile(new URL('../../docs/metatracker.example.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown> & { listing: { port: number }[] }
  // Only what cannot be used here changes: the ports, the data directory, the deny-list file.
  const denyList = join(dir, 'deny.txt')
  await writeFile(denyList, '# nothing denied\n')
  const config = {
    ...example,
    udp: 0,
    tcp: 0,
    http: 0,
    data: join(dir, 'data'),
    denyList,
    listing: example.listing.map(l => ({ ...l, port: 0 })),
  }
  assert.deepEqual(example.host, ['0.0.0.0', '::'])
  const file = join(dir, 'config.json')
  await writeFile(file, JSON.stringify(config))
  const { p, info } = await ServeProcess.start(t, ['--config', file])
  const listening = info as typeof info & { listing: number[] }
  assert.equal(info.tcp, info.udp, 'one port for UDP and TCP')
  assert.equal(listening.listing.length, 4)
  for (const host of ['127.0.0.1', '::1']) {
    const reply = await udpRequest(
      encodeMessage({ type: 'cookie-request', txid: 5 }),
      info.udp,
      host,
    )
    assert.ok(reply !== null, `UDP over ${host}`)
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.http}/healthz`
    assert.equal((await fetch(url)).status, 200, `HTTP over ${host}`)
  }
  p.kill('SIGTERM')
  assert.equal(await p.exited(), 0, p.stderr)
})
