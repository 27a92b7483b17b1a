import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { parseBootpage } from '../../src/bootpage/schema.js'
import { privateKeyToPem, toHex } from '../../src/crypto/keys.js'
import { makePage, operatorKeys } from '../helpers/bootpage.js'
import { startHttpServer } from '../helpers/http-server.js'
import { runCliLines } from '../helpers/cli-run.js'

/** Run the program in-process with captured output; returns the exit code main.ts would set. */
const cli = runCliLines

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'mt-cli-bootpage-'))
  const keyFiles = operatorKeys.map((k, i) => {
    const path = join(dir, `op${i}.pem`)
    writeFileSync(path, privateKeyToPem(k.privateKey), { mode: 0o600 })
    return path
  })
  const pubs = operatorKeys.map(k => toHex(k.publicKey))
  writeFileSync(join(dir, 'operators.txt'), pubs.map((p, i) => `${p} op${i}`).join('\n') + '\n')
  return { dir, keyFiles, pubs, operatorsFile: join(dir, 'operators.txt') }
}

test('init, sign by each operator, build and verify: the whole offline flow', async () => {
  const { dir, keyFiles, pubs, operatorsFile } = setup()
  const draft = join(dir, 'draft.json')
  const init = await cli(
    'bootpage',
    'init',
    '--network',
    'demo',
    '--tracker',
    'name=alpha,operator=Alice,host=127.0.0.1,port=3520,http=3521,location=Santa Clara\\, CA,contact=a@example.org',
    '--tracker',
    'name=beta,host=::1,udp=4520',
    '--operator',
    'Bob',
    '--operator-key',
    `alice=${pubs[0]},bob=${pubs[1]}`,
    '--operator-key',
    `carol=${pubs[2]}`,
    '--threshold',
    '3',
    '--valid-days',
    '30',
    '--out',
    draft,
  )
  assert.equal(init.code, 0, init.err)
  assert.match(init.out, /3 of 3 operators must sign/)
  const page = parseBootpage(readFileSync(draft)).page
  assert.equal(page.trackers[0]!.location, 'Santa Clara, CA')
  assert.equal(page.trackers[1]!.operator, 'Bob')
  assert.deepEqual(
    page.operators.map(o => o.name),
    ['alice', 'bob', 'carol'],
  )

  // Not yet signed: verify exits 3, build refuses (3) unless --draft.
  const unsigned = await cli('bootpage', 'verify', draft, '--pin', operatorsFile)
  assert.equal(unsigned.code, 3)
  assert.match(unsigned.out, /NOT VALID: BOOTPAGE_THRESHOLD_NOT_MET/)
  assert.match(unsigned.err, /BOOTPAGE_NOT_VALID/)
  assert.equal((await cli('bootpage', 'build', draft, '--out', join(dir, 'preview0'))).code, 3)
  assert.equal(
    (await cli('bootpage', 'build', draft, '--out', join(dir, 'preview'), '--draft')).code,
    0,
  )

  for (const [i, key] of keyFiles.entries()) {
    const r = await cli('bootpage', 'sign', '--key', key, draft)
    assert.equal(r.code, 0, r.err)
    assert.match(r.out, new RegExp(`${i + 1} of 3 operators have signed, 3 required`))
  }
  const ok = await cli('bootpage', 'verify', draft, '--pin', operatorsFile, '--network', 'demo')
  assert.equal(ok.code, 0, ok.err)
  assert.match(ok.out, /VALID: signed by 3 of 3 operators/)
  assert.match(ok.out, /pinned keys: 3 of 3 signed, 2 required/)
  const json = JSON.parse(
    (await cli('bootpage', 'verify', draft, '--pin', pubs.join(','), '--json')).out,
  ) as {
    valid: boolean
    signed: number
    trackers: unknown[]
  }
  assert.equal(json.valid, true)
  assert.equal(json.signed, 3)
  assert.equal(json.trackers.length, 2)

  const site = join(dir, 'site')
  const built = await cli('bootpage', 'build', draft, '--out', site)
  assert.equal(built.code, 0, built.err)
  assert.equal(readFileSync(join(site, 'bootpage.json'), 'utf8'), readFileSync(draft, 'utf8'))
  assert.match(readFileSync(join(site, 'index.html'), 'utf8'), /Santa Clara, CA/)
})

test('verify: wrong pins, expiry and damage exit 3; an unreadable source exits 1', async t => {
  const { dir, pubs } = setup()
  const file = join(dir, 'p.json')
  writeFileSync(
    file,
    JSON.stringify(
      makePage({
        issuedAt: Math.floor(Date.now() / 1000) - 60,
        validUntil: Math.floor(Date.now() / 1000) + 600,
      }),
    ),
  )
  assert.equal((await cli('bootpage', 'verify', file, '--pin', pubs.join(','))).code, 0)
  const other = 'ee'.repeat(32)
  const pinned = await cli(
    'bootpage',
    'verify',
    file,
    '--pin',
    `${other},${pubs[0]}`,
    '--pin-threshold',
    '2',
  )
  assert.equal(pinned.code, 3)
  assert.match(pinned.out, /BOOTPAGE_NOT_PINNED: signed by 1 of 2 pinned keys, 2 required/)

  writeFileSync(file, JSON.stringify(makePage({ issuedAt: 1_000_000, validUntil: 2_000_000 })))
  const expired = await cli('bootpage', 'verify', file)
  assert.equal(expired.code, 3)
  assert.match(expired.out, /EXPIRED/)

  writeFileSync(file, '{"page": 1}')
  const shape = await cli('bootpage', 'verify', file, '--json')
  assert.equal(shape.code, 3)
  assert.equal(
    (JSON.parse(shape.out) as { problems: { code: string }[] }).problems[0]!.code,
    'BOOTPAGE_BAD_SHAPE',
  )

  assert.equal((await cli('bootpage', 'verify', join(dir, 'missing.json'))).code, 1)
  assert.equal((await cli('bootpage', 'verify', file, '--pin', 'zz')).code, 2)

  // Over HTTP.
  const body = JSON.stringify(
    makePage({
      issuedAt: Math.floor(Date.now() / 1000) - 60,
      validUntil: Math.floor(Date.now() / 1000) + 600,
    }),
  )
  const srv = await startHttpServer((_req, res) => res.writeHead(200).end(body))
  t.after(srv.close)
  const viaUrl = await cli(
    'bootpage',
    'verify',
    `${srv.origin}/bootpage.json`,
    '--pin',
    pubs.join(','),
  )
  assert.equal(viaUrl.code, 0, viaUrl.err)
})

test('init --from starts the next sequence; merge joins parallel signatures; bad specs exit 2', async () => {
  const { dir, keyFiles } = setup()
  const prev = join(dir, 'prev.json')
  writeFileSync(prev, JSON.stringify(makePage({ threshold: 2 })))
  const next = join(dir, 'next.json')
  assert.equal((await cli('bootpage', 'init', '--from', prev, '--out', next)).code, 0)
  const page = parseBootpage(readFileSync(next)).page
  assert.equal(page.sequence, 2)
  assert.equal(page.threshold, 2)
  assert.equal(page.trackers.length, 3)
  assert.equal(
    (await cli('bootpage', 'init', '--from', prev, '--out', next)).code,
    2,
    'refuses to overwrite',
  )

  const a = join(dir, 'a.json')
  const b = join(dir, 'b.json')
  await cli('bootpage', 'sign', '--key', keyFiles[0]!, next, '--out', a)
  await cli('bootpage', 'sign', '--key', keyFiles[2]!, next, '--out', b)
  const merged = join(dir, 'merged.json')
  const m = await cli('bootpage', 'merge', a, b, '--out', merged)
  assert.equal(m.code, 0, m.err)
  assert.equal(parseBootpage(readFileSync(merged)).signatures.length, 2)
  assert.equal((await cli('bootpage', 'verify', merged)).code, 0)
  assert.equal((await cli('bootpage', 'merge', a, prev, '--out', join(dir, 'x.json'))).code, 1)

  for (const args of [
    ['--network', 'demo', '--tracker', 'name=a', '--operator-key', 'ab'.repeat(32)],
    [
      '--network',
      'demo',
      '--tracker',
      'name=a,host=b,udp=1,operator=o',
      '--operator-key',
      'nothex',
    ],
    [
      '--network',
      'demo',
      '--tracker',
      'name=a,host=b,udp=1,operator=o',
      '--operator-key',
      'ab'.repeat(32),
      '--threshold',
      '0',
    ],
  ]) {
    const r = await cli('bootpage', 'init', ...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`)
    assert.match(r.err, /BOOTPAGE_BAD_SPEC/)
  }
  const shape = await cli(
    'bootpage',
    'init',
    '--network',
    'Bad Net',
    '--tracker',
    'name=a,host=b,udp=1,operator=o',
    '--operator-key',
    'ab'.repeat(32),
  )
  assert.equal(shape.code, 1)
  assert.match(shape.err, /BOOTPAGE_BAD_SHAPE: page: network/)
})

test('the installed command exits 3 for an invalid page (subprocess)', async () => {
  const { dir } = setup()
  const file = join(dir, 'p.json')
  writeFileSync(file, JSON.stringify(makePage({ signers: [0] })))
  const main = new URL('../../src/cli/main.ts', import.meta.url).pathname
  await assert.rejects(
    promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'bootpage', 'verify', file], {
      timeout: 30_000,
    }),
    (e: { code: number; stdout: string; stderr: string }) => {
      assert.equal(e.code, 3)
      assert.match(e.stdout, /NOT VALID: BOOTPAGE_THRESHOLD_NOT_MET/)
      assert.match(e.stderr, /error BOOTPAGE_NOT_VALID/)
      return true
    },
  )
})
