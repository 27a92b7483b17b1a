// The suite's loopback guard (test/guard/loopback-guard.mjs, loaded by scripts/run-tests.mjs)
// refuses any datagram or connection aimed outside loopback, and records it so the run fails.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'

const GUARD = pathToFileURL(resolve('test/guard/loopback-guard.mjs')).href

test('this test process runs under the guard (the runner loaded it)', () => {
  assert.ok(process.env.MT_LOOPBACK_LOG, 'MT_LOOPBACK_LOG is set by scripts/run-tests.mjs')
  assert.equal((globalThis as { __mtLoopbackGuard?: boolean }).__mtLoopbackGuard, true)
})

test('a datagram or connection aimed outside loopback is refused and recorded; loopback passes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-guard-'))
  try {
    const log = join(dir, 'log')
    // A child with its own log, so this deliberate attempt does not fail the whole run.
    const script = `
      const dgram = require('node:dgram'); const net = require('node:net')
      const out = []
      const s = dgram.createSocket('udp4')
      for (const [addr, port] of [['192.0.2.1', 9], ['203.0.113.7', 9], ['127.0.0.1', 9]]) {
        try { s.send(Buffer.from('x'), port, addr); out.push(addr + ':sent') }
        catch (e) { out.push(addr + ':refused') }
      }
      try { net.connect(9, '198.51.100.1').on('error', () => {}); out.push('tcp:opened') }
      catch (e) { out.push('tcp:refused') }
      const six = dgram.createSocket('udp6')
      try { six.send(Buffer.from('x'), 9, '2001:db8::1'); out.push('v6:sent') }
      catch (e) { out.push('v6:refused') }
      console.log(JSON.stringify(out)); s.close(); six.close()
    `
    const r = spawnSync(process.execPath, ['--import', GUARD, '-e', script], {
      env: { ...process.env, MT_LOOPBACK_LOG: log },
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout.trim()), [
      '192.0.2.1:refused',
      '203.0.113.7:refused',
      '127.0.0.1:sent',
      'tcp:refused',
      'v6:refused',
    ])
    const lines = readFileSync(log, 'utf8')
      .split('\n')
      .filter(l => / to /.test(l) && /^\d{4}-/.test(l))
    assert.equal(lines.length, 4, lines.join('\n'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
