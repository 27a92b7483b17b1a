import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseBootpage } from '../../src/bootpage/schema.js'
import { formatStamp, parseStamp } from '../../src/bootpage/stamp.js'
import { resolveTrackers } from '../../src/cli/trackers.js'
import { privateKeyToPem } from '../../src/crypto/keys.js'
import { isTrackerError } from '../../src/errors.js'
import { makeStamp, operatorHex, operatorKeys, stampHex, stampKeys } from '../helpers/bootpage.js'
import { runCliLines } from '../helpers/cli-run.js'

/* `bootpage init --stamp-key`, `bootpage stamp`, and the stamp check of `verify` and --bootpage. */

const cli = runCliLines

process.env.XDG_CACHE_HOME = mkdtempSync(join(tmpdir(), 'mt-xdg-'))

/** A page signed by the three test operators that delegates stamps to stampKeys (k of n). */
async function signedPage(stampArgs: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-stamp-'))
  const pem = (k: (typeof operatorKeys)[number], name: string) => {
    const path = join(dir, `${name}.pem`)
    writeFileSync(path, privateKeyToPem(k.privateKey), { mode: 0o600 })
    return path
  }
  const opFiles = operatorKeys.map((k, i) => pem(k, `op${i}`))
  const stampFiles = stampKeys.map((k, i) => pem(k, `stamp${i}`))
  const page = join(dir, 'bootpage.json')
  const init = await cli(
    'bootpage',
    'init',
    '--network',
    'demo',
    '--tracker',
    'name=alpha,operator=Alice,host=127.0.0.1,port=3520',
    '--operator-key',
    operatorHex.map((k, i) => `op${i}=${k}`).join(','),
    ...stampArgs,
    '--out',
    page,
  )
  assert.equal(init.code, 0, init.err)
  for (const f of opFiles) assert.equal((await cli('bootpage', 'sign', '--key', f, page)).code, 0)
  return { dir, page, opFiles, stampFiles, stamp: join(dir, 'bootpage.stamp.json') }
}

test('init declares stamp keys; stamp writes a fresh stamp; verify requires it', async () => {
  const s = await signedPage(['--stamp-key', `online=${stampHex[0]!}`, '--stamp-lifetime', '2d'])
  const page = parseBootpage(readFileSync(s.page)).page
  assert.deepEqual(page.freshness, {
    keys: [{ name: 'online', key: stampHex[0] }],
    threshold: 1,
    maxLifetime: 2 * 86_400,
  })
  // Declared but not stamped yet: not valid (exit 3), the stamp reported missing.
  const missing = await cli('bootpage', 'verify', s.page, '--pin', operatorHex.join(','))
  assert.equal(missing.code, 3)
  assert.match(missing.out, /VALID: signed by 3 of 3/)
  assert.match(missing.out, /NOT FRESH: BOOTPAGE_STAMP_MISSING/)
  // Stamped by an operator key: refused (exit 2); longer than allowed: refused.
  const wrongKey = await cli('bootpage', 'stamp', s.page, '--key', s.opFiles[0]!)
  assert.equal(wrongKey.code, 2)
  assert.match(wrongKey.err, /not a stamp key of this page/)
  const tooLong = await cli(
    'bootpage',
    'stamp',
    s.page,
    '--key',
    s.stampFiles[0]!,
    '--lifetime',
    '3d',
  )
  assert.match(tooLong.err, /BOOTPAGE_STAMP_TOO_LONG/)
  const made = await cli('bootpage', 'stamp', s.page, '--key', s.stampFiles[0]!, '--lifetime', '6h')
  assert.equal(made.code, 0, made.err)
  assert.match(made.out, /1 of 1 stamp keys have signed/)
  const stamp = parseStamp(readFileSync(s.stamp))
  assert.equal(stamp.stamp.expiresAt - stamp.stamp.issuedAt, 6 * 3600)
  const ok = await cli('bootpage', 'verify', s.page, '--pin', operatorHex.join(','))
  assert.equal(ok.code, 0, ok.out)
  assert.match(ok.out, /FRESH: the stamp holds/)
  const json = JSON.parse((await cli('bootpage', 'verify', s.page, '--json')).out) as {
    valid: boolean
    stamp: { status: string; verdict: { expiresAt: number } }
  }
  assert.equal(json.stamp.status, 'fresh')
  assert.equal(json.stamp.verdict.expiresAt, stamp.stamp.expiresAt)
  // A page without the declaration: no stamp line, as before.
  const plain = await signedPage([])
  const old = await cli('bootpage', 'verify', plain.page, '--json')
  assert.equal(old.code, 0)
  assert.equal((JSON.parse(old.out) as { stamp: unknown }).stamp, null)
})

test('verify: a stale stamp, a stamp for another page and --stamp elsewhere', async () => {
  const s = await signedPage(['--stamp-key', stampHex[0]!])
  const page = parseBootpage(readFileSync(s.page)).page
  const now = Math.floor(Date.now() / 1000)
  writeFileSync(s.stamp, formatStamp(makeStamp(page, { issuedAt: now - 7200, lifetime: 3600 })))
  const stale = await cli('bootpage', 'verify', s.page)
  assert.equal(stale.code, 3)
  assert.match(stale.out, /EXPIRED .* ago/)
  assert.match(stale.out, /NOT FRESH: BOOTPAGE_STAMP_EXPIRED/)
  const other = await signedPage(['--stamp-key', stampHex[0]!, '--valid-days', '9'])
  const otherPage = parseBootpage(readFileSync(other.page)).page
  writeFileSync(s.stamp, formatStamp(makeStamp(otherPage, { issuedAt: now })))
  assert.match((await cli('bootpage', 'verify', s.page)).out, /BOOTPAGE_STAMP_WRONG_PAGE/)
  const elsewhere = join(s.dir, 'fresh.json')
  writeFileSync(elsewhere, formatStamp(makeStamp(page, { issuedAt: now })))
  assert.equal((await cli('bootpage', 'verify', s.page, '--stamp', elsewhere)).code, 0)
})

test('k of n stamp keys: stamp, then --add co-signs the same stamp', async () => {
  const s = await signedPage([
    '--stamp-key',
    stampHex.map((k, i) => `s${i}=${k}`).join(','),
    '--stamp-threshold',
    '2',
    '--stamp-lifetime',
    '12h',
  ])
  assert.equal((await cli('bootpage', 'stamp', s.page, '--key', s.stampFiles[2]!)).code, 0)
  const one = await cli('bootpage', 'verify', s.page)
  assert.match(one.out, /BOOTPAGE_STAMP_THRESHOLD_NOT_MET/)
  const added = await cli('bootpage', 'stamp', s.page, '--key', s.stampFiles[0]!, '--add', s.stamp)
  assert.equal(added.code, 0, added.err)
  assert.match(added.out, /2 of 3 stamp keys have signed, 2 required/)
  assert.equal((await cli('bootpage', 'verify', s.page)).code, 0)
  // A following page keeps the declaration (--from).
  const next = join(s.dir, 'next.json')
  assert.equal((await cli('bootpage', 'init', '--from', s.page, '--out', next)).code, 0)
  assert.deepEqual(
    parseBootpage(readFileSync(next)).page.freshness,
    parseBootpage(readFileSync(s.page)).page.freshness,
  )
})

test('--bootpage in the client commands requires the declared stamp', async () => {
  const s = await signedPage(['--stamp-key', stampHex[0]!])
  const resolve = () =>
    resolveTrackers(
      { tracker: [], bootpage: s.page, pin: [operatorHex.join(',')], bootpageCache: false },
      () => undefined,
    )
  await assert.rejects(
    resolve(),
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_STAMP_MISSING',
  )
  assert.equal((await cli('bootpage', 'stamp', s.page, '--key', s.stampFiles[0]!)).code, 0)
  assert.deepEqual(
    (await resolve()).map(t => t.name),
    ['alpha'],
  )
})
