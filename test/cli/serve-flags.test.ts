import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { parseListingSpec } from '../../src/cli/commands/serve-flags.js'
import { LISTING_START } from '../../src/observe/listing-render.js'
import { rawExchange } from '../helpers/raw-tcp.js'
import { ServeProcess } from '../helpers/serve-process.js'

const run = promisify(execFile)
const main = new URL('../../src/cli/main.ts', import.meta.url).pathname

test('--listing specs parse; bad ones name the flag', () => {
  assert.deepEqual(parseListingSpec('text:3522:quake.example'), {
    port: 3522,
    kind: 'text',
    network: 'quake.example',
  })
  assert.deepEqual(parseListingSpec('verbose:0'), { port: 0, kind: 'verbose' })
  assert.deepEqual(parseListingSpec('info:3525:/etc/motd:v2'), {
    port: 3525,
    kind: 'info',
    file: '/etc/motd:v2',
  })
  for (const bad of ['bogus:1', 'text', 'text:70000', 'text:-1', 'json:1:UPPER', 'info:1', ''])
    assert.throws(
      () => parseListingSpec(bad),
      { code: 'CONFIG_BAD_OPTION', message: /^--listing/ },
      bad,
    )
})

test('serve with --http and --listing: the listening line, the page, the listing, stats --json', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'mt-serve-observe-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const { p, info } = await ServeProcess.start(t, [
    '--udp',
    '0',
    '--tcp',
    '0',
    '--http',
    '0',
    '--listing',
    'text:0',
    '--listing',
    `info:0:${join(dir, 'missing-motd.txt')}`,
    '--data',
    dir,
  ])
  assert.ok(info.http !== null && info.http > 0)
  assert.equal(info.listing.length, 2)

  const health = await fetch(`http://127.0.0.1:${info.http}/healthz`)
  assert.equal(health.status, 200)
  const listing = await rawExchange(info.listing[0]!, null)
  assert.ok(listing.text.includes(`\n${LISTING_START}\n`))
  const motd = await rawExchange(info.listing[1]!, null)
  assert.match(motd.text, /No information file is available here\.\n$/)

  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', main, 'stats', '--tracker', `127.0.0.1:${info.tcp}`, '--json'],
    { timeout: 20_000 },
  )
  const stats = JSON.parse(stdout) as { tracker: string; stats: Record<string, number> }
  assert.equal(stats.tracker, `127.0.0.1:${info.tcp}`)
  assert.equal(stats.stats.stats_requests, 1)
  assert.equal(stats.stats.table_entries, 0)
  assert.equal(typeof stats.stats.announces, 'number')

  p.kill('SIGTERM')
  assert.equal(await p.exited(10_000), 0, p.stderr)
  await assert.rejects(fetch(`http://127.0.0.1:${info.http}/healthz`), 'HTTP closed on stop')
})

test('serve refuses a bad --listing before binding anything (exit 2)', async () => {
  await assert.rejects(
    run(
      process.execPath,
      ['--import', 'tsx', main, 'serve', '--udp', '0', '--tcp', '0', '--listing', 'bogus:1'],
      {
        timeout: 20_000,
      },
    ),
    (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2)
      assert.match(e.stderr, /CONFIG_BAD_OPTION: --listing must be/)
      return true
    },
  )
})
