import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { formatBootpage } from '../../src/bootpage/schema.js'
import { type BootpageStamp, formatStamp, parseStamp } from '../../src/bootpage/stamp.js'
import { type BootpageSourceOptions, loadBootpage } from '../../src/client/bootpage-source.js'
import { ManualClock } from '../../src/clock.js'
import { isTrackerError } from '../../src/errors.js'
import { NOW, NOW_S, makePage, makeStamp, operatorHex } from '../helpers/bootpage.js'
import { startHttpServer } from '../helpers/http-server.js'

/*
 * Freshness stamps in the client (docs/bootpage.md §9): the page's declaration makes a stamp
 * beside it mandatory; what each attack of §9.3 meets.
 */

const clock = new ManualClock(NOW)
const codeIs = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code
const cacheDir = () => mkdtempSync(join(tmpdir(), 'mt-stampcache-'))

/** A mirror serving `page` at /bootpage.json and `stamp` at /bootpage.stamp.json. */
async function mirror(t: { after: (fn: () => Promise<void>) => void }) {
  const serving: { page: string | null; stamp: string | null } = { page: null, stamp: null }
  const requests: string[] = []
  const srv = await startHttpServer((req, res) => {
    requests.push(req.url ?? '')
    const body =
      req.url === '/bootpage.json'
        ? serving.page
        : req.url === '/bootpage.stamp.json'
          ? serving.stamp
          : null
    if (body === null) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  t.after(srv.close)
  const serve = (page: ReturnType<typeof makePage>, stamp: BootpageStamp | null) => {
    serving.page = formatBootpage(page)
    serving.stamp = stamp === null ? null : formatStamp(stamp)
  }
  return { serving, serve, requests, url: `${srv.origin}/bootpage.json`, close: srv.close }
}

const options = (
  source: string,
  extra: Partial<BootpageSourceOptions> = {},
): BootpageSourceOptions => ({ source, pins: operatorHex, clock, timeoutMs: 5000, ...extra })

test('a page that declares stamps is accepted with a fresh stamp beside it; the stamp is cached', async t => {
  const m = await mirror(t)
  const doc = makePage({ freshness: true })
  const stamp = makeStamp(doc.page)
  m.serve(doc, stamp)
  const dir = cacheDir()
  const got = await loadBootpage(options(m.url, { cacheDir: dir }))
  assert.equal(got.from, 'source')
  assert.equal(got.stamp?.from, 'source')
  assert.equal(got.stamp.verdict.status, 'fresh')
  assert.deepEqual(m.requests, ['/bootpage.json', '/bootpage.stamp.json'])
  const stampFile = readdirSync(dir).find(f => f.endsWith('.stamp.json'))
  assert.ok(stampFile !== undefined, 'the stamp is kept beside the cached page')
  assert.deepEqual(parseStamp(readFileSync(join(dir, stampFile))), stamp)
})

test('backward compatible: a page without the declaration needs no stamp and none is fetched', async t => {
  const m = await mirror(t)
  m.serve(makePage(), null)
  const got = await loadBootpage(options(m.url))
  assert.equal(got.stamp, undefined)
  assert.deepEqual(m.requests, ['/bootpage.json'])
})

test('missing stamp when declared: BOOTPAGE_STAMP_MISSING (404, unreachable, no file)', async t => {
  const m = await mirror(t)
  m.serve(makePage({ freshness: true }), null)
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_STAMP_MISSING'))
  const dir = cacheDir()
  const file = join(dir, 'bootpage.json')
  writeFileSync(file, formatBootpage(makePage({ freshness: true })))
  await assert.rejects(loadBootpage(options(file)), codeIs('BOOTPAGE_STAMP_MISSING'))
  // The stamp beside a file source is found by name; another place can be given.
  const doc = makePage({ freshness: true })
  writeFileSync(join(dir, 'bootpage.stamp.json'), formatStamp(makeStamp(doc.page)))
  assert.equal((await loadBootpage(options(file))).stamp?.verdict.status, 'fresh')
  writeFileSync(join(dir, 'elsewhere.json'), formatStamp(makeStamp(doc.page)))
  const other = await loadBootpage(options(file, { stampSource: join(dir, 'elsewhere.json') }))
  assert.equal(other.stamp?.from, 'source')
})

test('freeze: an old page, still within its validUntil, with its old stamp is refused', async t => {
  const m = await mirror(t)
  // The page was current a week ago and stamped then; the operators have moved on since.
  const old = makePage({ freshness: true, issuedAt: NOW_S - 30 * 86_400 })
  m.serve(old, makeStamp(old.page, { issuedAt: NOW_S - 7 * 86_400 }))
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_STAMP_EXPIRED'))
  // Without the declaration the same old page is accepted: the attack stamps defeat.
  m.serve(makePage({ issuedAt: NOW_S - 30 * 86_400 }), null)
  assert.equal((await loadBootpage(options(m.url))).from, 'source')
})

test('expired stamp: a cached stamp that still holds stands in, an expired one does not', async t => {
  const m = await mirror(t)
  const doc = makePage({ freshness: true })
  const dir = cacheDir()
  m.serve(doc, makeStamp(doc.page, { issuedAt: NOW_S - 60, lifetime: 3600 }))
  await loadBootpage(options(m.url, { cacheDir: dir }))
  // The mirror now serves an expired stamp (issued earlier): the cached one (until NOW+1h) holds.
  m.serve(doc, makeStamp(doc.page, { issuedAt: NOW_S - 7200, lifetime: 3600 }))
  const half = await loadBootpage(options(m.url, { cacheDir: dir }))
  assert.equal(half.from, 'source')
  assert.equal(half.stamp?.from, 'cache')
  assert.ok(half.stamp.sourceError !== undefined)
  // Two hours later both have expired: refused, and the cached page cannot stand in either.
  const later = new ManualClock(NOW + 7200_000)
  await assert.rejects(
    loadBootpage(options(m.url, { cacheDir: dir, clock: later })),
    (err: unknown) =>
      isTrackerError(err) &&
      err.code === 'BOOTPAGE_STAMP_ROLLBACK' &&
      /issued at/.test(err.message),
  )
  m.serve(doc, null)
  await assert.rejects(
    loadBootpage(options(m.url, { cacheDir: dir, clock: later })),
    codeIs('BOOTPAGE_STAMP_MISSING'),
  )
  // A new stamp brings the page back.
  m.serve(doc, makeStamp(doc.page, { issuedAt: NOW_S + 7000 }))
  const back = await loadBootpage(options(m.url, { cacheDir: dir, clock: later }))
  assert.equal(back.stamp?.from, 'source')
})

test('older stamp: one issued before the stamp already accepted for the page is refused', async t => {
  const m = await mirror(t)
  const doc = makePage({ freshness: true })
  const dir = cacheDir()
  m.serve(doc, makeStamp(doc.page, { issuedAt: NOW_S - 60 }))
  await loadBootpage(options(m.url, { cacheDir: dir }))
  m.serve(doc, makeStamp(doc.page, { issuedAt: NOW_S - 600 }))
  const got = await loadBootpage(options(m.url, { cacheDir: dir }))
  assert.equal(got.stamp?.from, 'cache')
  assert.equal(got.stamp.stamp.stamp.issuedAt, NOW_S - 60)
  assert.equal(got.stamp.sourceError?.code, 'BOOTPAGE_STAMP_ROLLBACK')
})

test('mix-and-match: a stamp for another page is refused, whichever way round', async t => {
  const m = await mirror(t)
  const one = makePage({ freshness: true, sequence: 1 })
  const two = makePage({ freshness: true, sequence: 2 })
  m.serve(two, makeStamp(one.page))
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_STAMP_WRONG_PAGE'))
  m.serve(one, makeStamp(two.page))
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_STAMP_WRONG_PAGE'))
  // With a cache holding page 1 and its stamp, page 2 with page 1's stamp falls back to page 1.
  const dir = cacheDir()
  m.serve(one, makeStamp(one.page))
  await loadBootpage(options(m.url, { cacheDir: dir }))
  m.serve(two, makeStamp(one.page))
  const got = await loadBootpage(options(m.url, { cacheDir: dir }))
  assert.equal(got.from, 'cache')
  assert.equal(got.document.page.sequence, 1)
  assert.equal(got.sourceError?.code, 'BOOTPAGE_STAMP_WRONG_PAGE')
})

test('rollback of the page version: a freshly stamped older page is still refused', async t => {
  const m = await mirror(t)
  const dir = cacheDir()
  const five = makePage({ freshness: true, sequence: 5 })
  m.serve(five, makeStamp(five.page))
  await loadBootpage(options(m.url, { cacheDir: dir }))
  // The online key stamps an old page (or a stolen online key does): the sequence ratchet holds.
  const four = makePage({ freshness: true, sequence: 4 })
  m.serve(four, makeStamp(four.page))
  const got = await loadBootpage(options(m.url, { cacheDir: dir }))
  assert.equal(got.document.page.sequence, 5)
  assert.equal(got.sourceError?.code, 'BOOTPAGE_ROLLBACK')
})

test('forged stamp and endless stamp data are refused', async t => {
  const m = await mirror(t)
  const doc = makePage({ freshness: true })
  const stamp = makeStamp(doc.page)
  const forged = { ...stamp, stamp: { ...stamp.stamp, expiresAt: stamp.stamp.expiresAt - 1 } }
  m.serve(doc, forged)
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_STAMP_BAD_SIGNATURE'))
  m.serving.stamp = formatStamp(stamp) + ' '.repeat(64 * 1024)
  await assert.rejects(loadBootpage(options(m.url)), codeIs('BOOTPAGE_TOO_LARGE'))
})
