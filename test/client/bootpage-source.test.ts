import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { formatBootpage, parseBootpage, type BootpageDocument } from '../../src/bootpage/schema.js'
import {
  bootpageCachePath,
  bootpageTrackers,
  type BootpageSourceOptions,
  loadBootpage,
} from '../../src/client/bootpage-source.js'
import { pinnedAnchor } from '../../src/bootpage/verify.js'
import { ManualClock } from '../../src/clock.js'
import { isTrackerError, type TrackerError } from '../../src/errors.js'
import { NOW, NOW_S, makePage, operatorHex } from '../helpers/bootpage.js'
import { startHttpServer } from '../helpers/http-server.js'
import { testKey } from '../helpers/keys.js'

const clock = new ManualClock(NOW)
const codeIs = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code

/** A server whose bootpage.json is whatever `serving.body` holds. */
async function pageServer(t: { after: (fn: () => Promise<void>) => void }) {
  const serving: { body: string | null; status: number } = { body: null, status: 200 }
  const srv = await startHttpServer((req, res) => {
    if (req.url !== '/bootpage.json' || serving.body === null) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(serving.status, { 'content-type': 'application/json' }).end(serving.body)
  })
  t.after(srv.close)
  return { serving, url: `${srv.origin}/bootpage.json`, close: srv.close }
}

const cacheDir = () => mkdtempSync(join(tmpdir(), 'mt-bootcache-'))
const options = (
  source: string,
  extra: Partial<BootpageSourceOptions> = {},
): BootpageSourceOptions => ({
  source,
  pins: operatorHex,
  clock,
  timeoutMs: 2000,
  ...extra,
})

test('a valid page from a URL is accepted, mapped to tracker addresses and cached', async t => {
  const { serving, url } = await pageServer(t)
  const doc = makePage()
  serving.body = formatBootpage(doc)
  const dir = cacheDir()
  const got = await loadBootpage(options(url, { cacheDir: dir, network: 'demo' }))
  assert.equal(got.from, 'source')
  assert.equal(got.verdict.valid, true)
  assert.deepEqual(got.trackers, [
    { host: '127.0.0.1', udp: 3520, tcp: 3520, name: 'alpha' },
    { host: '::1', udp: 4520, tcp: 4521, name: 'beta', key: 'ab'.repeat(32) },
    { host: 'tracker.example.org', udp: null, tcp: 5520, name: 'gamma' },
  ])
  assert.deepEqual(bootpageTrackers(doc), got.trackers)
  const files = readdirSync(dir)
  assert.deepEqual(files, [
    bootpageCachePath(dir, pinnedAnchor(operatorHex), 'demo').slice(dir.length + 1),
  ])
  assert.equal(readFileSync(join(dir, files[0]!), 'utf8'), formatBootpage(doc))
})

test('a page from a file is accepted; a missing file is BOOTPAGE_READ_FAILED', async () => {
  const dir = cacheDir()
  const file = join(dir, 'bootpage.json')
  writeFileSync(file, formatBootpage(makePage()))
  assert.equal((await loadBootpage(options(file))).trackers.length, 3)
  await assert.rejects(
    loadBootpage(options(join(dir, 'nope.json'))),
    codeIs('BOOTPAGE_READ_FAILED'),
  )
})

test('pages that fail acceptance are refused: k-1 signatures, unpinned signers, expired', async t => {
  const { serving, url } = await pageServer(t)
  serving.body = formatBootpage(makePage({ threshold: 3, signers: [0, 1] }))
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_THRESHOLD_NOT_MET'))
  const stranger = [testKey(11), testKey(50), testKey(51)]
  serving.body = formatBootpage(makePage({ keys: stranger, threshold: 2 }))
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_NOT_PINNED'))
  serving.body = formatBootpage(makePage({ issuedAt: NOW_S - 7200, validUntil: NOW_S - 1 }))
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_EXPIRED'))
  serving.body = formatBootpage(makePage())
  await assert.rejects(
    loadBootpage(options(url, { network: 'other' })),
    codeIs('BOOTPAGE_WRONG_NETWORK'),
  )
})

test('an unreachable URL falls back to the cached page; without a cache it fails', async t => {
  const { serving, url, close } = await pageServer(t)
  serving.body = formatBootpage(makePage())
  const dir = cacheDir()
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).from, 'source')
  await close()
  const got = await loadBootpage(options(url, { cacheDir: dir }))
  assert.equal(got.from, 'cache')
  assert.equal(got.sourceError?.code, 'BOOTPAGE_FETCH_FAILED')
  assert.equal(got.trackers.length, 3)
  await assert.rejects(
    loadBootpage(options(url, { cacheDir: cacheDir() })),
    codeIs('BOOTPAGE_FETCH_FAILED'),
  )
})

test('rollback: an older sequence is refused after a newer one was seen (the cache is used)', async t => {
  const { serving, url } = await pageServer(t)
  const dir = cacheDir()
  serving.body = formatBootpage(makePage({ sequence: 5 }))
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).document.page.sequence, 5)
  serving.body = formatBootpage(makePage({ sequence: 4 }))
  const got = await loadBootpage(options(url, { cacheDir: dir }))
  assert.equal(got.from, 'cache')
  assert.equal(got.document.page.sequence, 5)
  assert.equal(got.sourceError?.code, 'BOOTPAGE_ROLLBACK')
  // The same sequence with other content is refused too; the same page again is fine.
  serving.body = formatBootpage(
    makePage({ sequence: 5, trackers: makePage().page.trackers.slice(0, 1) }),
  )
  assert.equal(
    (await loadBootpage(options(url, { cacheDir: dir }))).sourceError?.code,
    'BOOTPAGE_SEQUENCE_REUSED',
  )
  serving.body = formatBootpage(makePage({ sequence: 5 }))
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).from, 'source')
  serving.body = formatBootpage(makePage({ sequence: 6 }))
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).document.page.sequence, 6)
})

test('an expired cache is not used; a damaged cache is ignored and replaced', async t => {
  const { serving, url, close } = await pageServer(t)
  const dir = cacheDir()
  serving.body = formatBootpage(makePage({ validUntil: NOW_S + 60 }))
  await loadBootpage(options(url, { cacheDir: dir }))
  serving.body = null
  const later = new ManualClock(NOW + 120_000)
  await assert.rejects(
    loadBootpage(options(url, { cacheDir: dir, clock: later })),
    (err: TrackerError) => {
      assert.equal(err.code, 'BOOTPAGE_FETCH_FAILED')
      assert.match(err.message, /HTTP 404.*cached bootpage is not usable.*expired/)
      return true
    },
  )
  const path = bootpageCachePath(dir, pinnedAnchor(operatorHex), undefined)
  writeFileSync(path, '{"page": garbage')
  serving.body = formatBootpage(makePage({ sequence: 2 }))
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).from, 'source')
  assert.equal(parseBootpage(readFileSync(path)).page.sequence, 2)
  await close()
  assert.equal((await loadBootpage(options(url, { cacheDir: dir }))).from, 'cache')
})

test('rotation: a new operator set is accepted only when signed by the threshold of the current one', async t => {
  const { serving, url } = await pageServer(t)
  const keys = [testKey(11), testKey(12), testKey(13), testKey(21), testKey(22), testKey(23)]
  const oldSet = [0, 1, 2]
  const newSet = [3, 4, 5]
  const dir = cacheDir()
  const load = (doc: BootpageDocument) => {
    serving.body = formatBootpage(doc)
    return loadBootpage(options(url, { cacheDir: dir }))
  }
  assert.equal((await load(makePage({ keys, operators: oldSet, threshold: 2 }))).from, 'source')

  // New set, signed by its own threshold but only one of the current set: refused.
  const weak = makePage({ keys, operators: newSet, threshold: 2, sequence: 2, signers: [0, 3, 4] })
  const refused = await load(weak)
  assert.equal(refused.from, 'cache')
  assert.equal(refused.sourceError?.code, 'BOOTPAGE_NOT_PINNED')

  // Signed by two of the current set and two of the new one: accepted.
  const rotation = makePage({
    keys,
    operators: newSet,
    threshold: 2,
    sequence: 2,
    signers: [0, 1, 3, 4],
  })
  const rotated = await load(rotation)
  assert.equal(rotated.from, 'source')
  assert.deepEqual(rotated.verdict.anchor, { label: 'current', required: 2, signed: 2, of: 3 })

  // From now on the new set alone suffices, and the old set alone no longer does.
  assert.equal(
    (await load(makePage({ keys, operators: newSet, threshold: 2, sequence: 3, signers: [4, 5] })))
      .from,
    'source',
  )
  const byOld = await load(makePage({ keys, operators: oldSet, threshold: 2, sequence: 4 }))
  assert.equal(byOld.sourceError?.code, 'BOOTPAGE_NOT_PINNED')
  assert.equal(byOld.document.page.sequence, 3)

  // A client without the cache only has its pins (the old set): the rotated page needs them.
  serving.body = formatBootpage(
    makePage({ keys, operators: newSet, threshold: 2, sequence: 3, signers: [4, 5] }),
  )
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_NOT_PINNED'))
  serving.body = formatBootpage(rotation)
  assert.equal((await loadBootpage(options(url))).from, 'source')
})

test('HTTP errors, timeouts and oversized bodies are coded errors', async t => {
  let mode = 'huge'
  const srv = await startHttpServer((_req, res) => {
    if (mode === 'huge') {
      res.writeHead(200)
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      for (let i = 0; i < 6; i++) res.write(chunk)
      res.end('{}')
    } else if (mode === 'declared') {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) })
      res.write('{')
    } else if (mode === 'slow-body') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"page":')
    } else if (mode === 'status') {
      res.writeHead(503).end()
    } // 'hang': never answers
  })
  t.after(srv.close)
  const url = `${srv.origin}/bootpage.json`
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_TOO_LARGE'))
  await assert.rejects(loadBootpage(options(url, { maxBytes: 1000 })), codeIs('BOOTPAGE_TOO_LARGE'))
  mode = 'declared'
  await assert.rejects(loadBootpage(options(url)), codeIs('BOOTPAGE_TOO_LARGE'))
  mode = 'status'
  await assert.rejects(loadBootpage(options(url)), (err: TrackerError) => {
    assert.equal(err.code, 'BOOTPAGE_FETCH_FAILED')
    assert.match(err.message, /HTTP 503/)
    return true
  })
  mode = 'hang'
  const started = Date.now()
  await assert.rejects(loadBootpage(options(url, { timeoutMs: 300 })), (err: TrackerError) => {
    assert.equal(err.code, 'BOOTPAGE_FETCH_FAILED')
    assert.match(err.message, /timed out/)
    return true
  })
  mode = 'slow-body'
  await assert.rejects(loadBootpage(options(url, { timeoutMs: 300 })), (err: TrackerError) => {
    assert.equal(err.code, 'BOOTPAGE_FETCH_FAILED')
    assert.match(err.message, /timed out/)
    return true
  })
  assert.ok(Date.now() - started < 10_000)
})

test('changing the pins starts a new cache chain', () => {
  const dir = '/tmp/x'
  const a = bootpageCachePath(dir, pinnedAnchor(operatorHex), undefined)
  assert.equal(a, bootpageCachePath(dir, pinnedAnchor([...operatorHex].reverse()), undefined))
  assert.notEqual(a, bootpageCachePath(dir, pinnedAnchor(operatorHex, 3), undefined))
  assert.notEqual(a, bootpageCachePath(dir, pinnedAnchor(operatorHex.slice(0, 2)), undefined))
  assert.notEqual(a, bootpageCachePath(dir, pinnedAnchor(operatorHex), 'demo'))
})
