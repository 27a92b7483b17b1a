import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 20_000 })

test('keygen writes a 0600 key and prints its public key; refuses to overwrite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-'))
  const out = join(dir, 'k.pem')
  const { stdout } = await cli('keygen', '--out', out, '--json')
  const printed = JSON.parse(stdout) as { key: string }
  assert.match(printed.key, /^[0-9a-f]{64}$/)
  assert.equal(statSync(out).mode & 0o777, 0o600)
  await assert.rejects(cli('keygen', '--out', out), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1)
    assert.match(err.stderr, /KEY_EXISTS/)
    return true
  })
})

test('selfcheck passes and reports every message type', async () => {
  const { stdout } = await cli('selfcheck', '--json')
  const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string }[] }
  assert.equal(report.ok, true)
  assert.equal(report.checks.length, 17)
})

test('an unknown command exits 2 with usage help', async () => {
  await assert.rejects(cli('no-such-command'), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2)
    assert.match(err.stderr, /unknown command/)
    return true
  })
})

test('a reader that closes early does not crash the command (EPIPE)', async () => {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'selfcheck'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.destroy() // the reader is gone before the first line is written
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>(resolve => {
    child.on('exit', c => {
      resolve(c)
    })
  })
  assert.equal(code, 0, stderr)
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/)
})
