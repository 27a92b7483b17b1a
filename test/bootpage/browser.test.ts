import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { test } from 'node:test'
import { buildBootpage } from '../../src/bootpage/build.js'
import { formatBootpage } from '../../src/bootpage/schema.js'
import { formatStamp } from '../../src/bootpage/stamp.js'
import { makePage, makeStamp, sampleTrackers } from '../helpers/bootpage.js'
import { startHttpServer } from '../helpers/http-server.js'
import { CHROMIUM, launchChromium } from '../helpers/chromium.js'

/*
 * The built page in headless Chromium, served over http from 127.0.0.1 (the verifier fetches
 * bootpage.json next to the page). Skipped without Chromium unless CI=true.
 */
const haveChromium = existsSync(CHROMIUM)
const skip = !haveChromium && process.env.CI !== 'true' ? 'apt-get install chromium' : false

const nowS = Math.floor(Date.now() / 1000)
const HOSTILE = '<img src=x onerror="document.title=1">&amp; "Zoë" 🚀'

/** Build one site per case under root/<name>/ and return what each should show. */
async function buildSites(root: string): Promise<void> {
  const times = { issuedAt: nowS - 60, validUntil: nowS + 30 * 86_400 }
  const trackers = [{ ...sampleTrackers[0]!, name: HOSTILE }, ...sampleTrackers.slice(1)]
  const good = makePage({ ...times, threshold: 2, trackers })
  await buildBootpage(good, join(root, 'good'))

  // bootpage.json changed after signing (one tracker's host).
  await buildBootpage(good, join(root, 'tampered-json'))
  const json = join(root, 'tampered-json', 'bootpage.json')
  writeFileSync(json, readFileSync(json, 'utf8').replace('"127.0.0.1"', '"203.0.113.66"'))

  // index.html's static list changed; the JSON is intact.
  await buildBootpage(good, join(root, 'tampered-html'))
  const html = join(root, 'tampered-html', 'index.html')
  writeFileSync(html, readFileSync(html, 'utf8').replaceAll('127.0.0.1:3520', '203.0.113.66:3520'))

  // Signed by one operator where two are required.
  await buildBootpage(makePage({ ...times, threshold: 2, signers: [1] }), join(root, 'underSigned'))

  // Expired.
  const expired = makePage({ issuedAt: nowS - 86_400, validUntil: nowS - 60 })
  await buildBootpage(expired, join(root, 'expired'))
  // Not JSON at all.
  await buildBootpage(good, join(root, 'garbage'))
  writeFileSync(join(root, 'garbage', 'bootpage.json'), formatBootpage(good).slice(0, 100))

  // Freshness stamps (docs/bootpage.md §9): fresh, stale (expired), missing, for another page.
  const stamped = makePage({ ...times, freshness: true })
  const stampSite = async (name: string, stamp: string | null) => {
    await buildBootpage(stamped, join(root, name))
    if (stamp !== null) writeFileSync(join(root, name, 'bootpage.stamp.json'), stamp)
  }
  await stampSite('stamp-fresh', formatStamp(makeStamp(stamped.page, { issuedAt: nowS - 60 })))
  await stampSite(
    'stamp-stale',
    formatStamp(makeStamp(stamped.page, { issuedAt: nowS - 7200, lifetime: 3600 })),
  )
  await stampSite('stamp-missing', null)
  const other = makePage({ ...times, freshness: true, sequence: 2 })
  await stampSite('stamp-other', formatStamp(makeStamp(other.page, { issuedAt: nowS - 60 })))
}

test(
  'the built page verifies in headless Chromium and warns when tampered with',
  { skip, timeout: 120_000 },
  async t => {
    assert.ok(haveChromium, `${CHROMIUM} is missing (CI=true): apt-get install chromium`)
    const root = mkdtempSync(join(tmpdir(), 'mt-bootsite-'))
    t.after(() => {
      rmSync(root, { recursive: true, force: true })
    })
    await buildSites(root)

    const requests: string[] = []
    const srv = await startHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      requests.push(url.pathname)
      let path = normalize(join(root, decodeURIComponent(url.pathname)))
      if (path.endsWith('/')) path = join(path, 'index.html')
      if (!path.startsWith(root) || !existsSync(path)) {
        res.writeHead(404).end()
        return
      }
      const type = path.endsWith('.json') ? 'application/json' : 'text/html; charset=utf-8'
      res.writeHead(200, { 'content-type': type }).end(readFileSync(path))
    })
    t.after(srv.close)

    const context = await launchChromium(t)

    const open = async (site: string) => {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', e => errors.push(e.message))
      page.on('console', m => {
        if (m.type() === 'error') errors.push(m.text())
      })
      await page.goto(`${srv.origin}/${site}/`, { timeout: 30_000 })
      // A locator, not waitForFunction: polling a string predicate evaluates it with eval() in
      // the page, which the page's CSP forbids whenever the status is still pending (the stamp
      // fetch makes that common).
      await page.locator('#status:not(.pending)').waitFor({ timeout: 30_000 })
      const status = await page.locator('#status').innerText()
      const cls = (await page.locator('#status').getAttribute('class')) ?? ''
      return { page, status, cls, errors }
    }

    await t.test('a valid page reads "signed by 3 of 3" and shows the data as text', async () => {
      requests.length = 0
      const { page, status, cls, errors } = await open('good')
      assert.match(status, /signed by 3 of 3 operators \(2 required\)/)
      assert.match(cls, /\bok\b/)
      assert.deepEqual(errors, [])
      assert.equal(await page.title(), 'metatracker bootpage: demo')
      assert.equal(await page.locator('#trackers h3').first().innerText(), HOSTILE)
      assert.equal(
        await page.locator('img').count(),
        0,
        'the hostile name did not become an element',
      )
      assert.deepEqual(await page.locator('.op-status').allInnerTexts(), [
        'signed',
        'signed',
        'signed',
      ])
      assert.deepEqual(
        requests,
        ['/good/', '/good/bootpage.json'],
        'no request but the page and its JSON',
      )
      await page.close()
    })

    await t.test('a changed bootpage.json shows the warning', async () => {
      const { page, status, cls } = await open('tampered-json')
      assert.match(cls, /\bbad\b/)
      assert.match(status, /WARNING: not verified/)
      assert.match(status, /signatures do not verify/)
      await page.close()
    })

    await t.test('a changed index.html shows the warning and the signed data instead', async () => {
      const { page, status, cls } = await open('tampered-html')
      assert.match(cls, /\bbad\b/)
      assert.match(status, /did not match its bootpage\.json/)
      const text = await page.locator('#trackers').innerText()
      assert.ok(text.includes('127.0.0.1:3520') && !text.includes('203.0.113.66'))
      await page.close()
    })

    await t.test('freshness stamps: fresh, stale, missing, for another page', async () => {
      requests.length = 0
      const fresh = await open('stamp-fresh')
      assert.match(fresh.cls, /\bok\b/)
      assert.match(fresh.status, /Fresh: stamped by 1 of 1 online keys, until /)
      assert.equal(await fresh.page.locator('#status').getAttribute('data-freshness'), 'fresh')
      assert.deepEqual(fresh.errors, [])
      assert.deepEqual(requests, [
        '/stamp-fresh/',
        '/stamp-fresh/bootpage.json',
        '/stamp-fresh/bootpage.stamp.json',
      ])
      await fresh.page.close()
      for (const [site, state, pattern] of [
        ['stamp-stale', 'stale', /may be out of date: .*stamp expired at/],
        ['stamp-missing', 'missing', /may be out of date: .*stamp\.json is missing \(HTTP 404\)/],
        ['stamp-other', 'invalid', /stamp is for another page/],
      ] as const) {
        const { page, status, cls } = await open(site)
        assert.match(cls, /\bbad\b/, site)
        assert.match(status, pattern, site)
        assert.equal(await page.locator('#status').getAttribute('data-freshness'), state, site)
        await page.close()
      }
    })

    await t.test(
      'too few signatures, an expired page and a broken file show the warning',
      async () => {
        for (const [site, pattern] of [
          ['underSigned', /signed by only 1 of 3 operators, 2 required/],
          ['expired', /expired at/],
          ['garbage', /not JSON/],
        ] as const) {
          const { page, status, cls } = await open(site)
          assert.match(cls, /\bbad\b/, site)
          assert.match(status, pattern, site)
          await page.close()
        }
      },
    )
  },
)
