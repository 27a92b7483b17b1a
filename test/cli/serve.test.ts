import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { encodeMessage, decodeMessage } from '../../src/wire/messages.js'
import { udpRequest } from '../helpers/udp.js'

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname

test('serve prints its listening line, answers, and stops on SIGTERM with exit 0', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mt-serve-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'serve', '--udp', '0', '--tcp', '0', '--http', 'off', '--data', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no listening line in 20 s; stderr: ${err}`))
    }, 20_000)
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(out.slice(0, nl))
      }
    })
  })
  const info = JSON.parse(line) as { event: string; udp: number; tcp: number; hosts: string[] }
  assert.equal(info.event, 'listening')
  assert.ok(info.udp > 0 && info.tcp > 0)
  assert.deepEqual(info.hosts, ['127.0.0.1'])
  const reply = await udpRequest(encodeMessage({ type: 'cookie-request', txid: 5 }), info.udp)
  assert.ok(reply !== null)
  assert.equal(decodeMessage(reply).type, 'cookie-reply')
  const secret = await stat(join(dir, 'cookie-secret'))
  assert.equal(secret.mode & 0o777, 0o600)
  assert.equal(secret.size, 32)
  const exited = new Promise<number | null>(resolve =>
    child.once('exit', code => {
      resolve(code)
    }),
  )
  child.kill('SIGTERM')
  const code = await Promise.race([
    exited,
    new Promise<string>(r => {
      setTimeout(() => {
        r('timeout')
      }, 10_000)
    }),
  ])
  assert.equal(code, 0, `stderr: ${err}`)
  assert.match(err, /"msg":"tracker closed"/)
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
