import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, normalize } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { ManualClock } from '../../src/clock.js'
import { buildBootpage } from '../../src/bootpage/build.js'
import { browseSiteFiles } from '../../src/observe/browse-page.js'
import { Observers } from '../../src/observe/observers.js'
import type { StatusJson } from '../../src/observe/status-json.js'
import type { TrackerView } from '../../src/observe/view.js'
import { loadWebAssets } from '../../src/observe/web-pages.js'
import { encodeSignedRecord } from '../../src/wire/record.js'
import { makePage, sampleTrackers } from '../helpers/bootpage.js'
import { chromiumAvailable, launchChromium } from '../helpers/chromium.js'
import { forgeRecord, smallOrderEncodings } from '../helpers/forged-records.js'
import { startHttpServer } from '../helpers/http-server.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

/*
 * The status page and the server browser in headless Chromium, against real observers on
 * 127.0.0.1 with servers in the table: the list, a chart, escaping, live updates, sorting and
 * filtering, the proof mark, signatures verified in the browser (WebCrypto and tweetnacl), a
 * tampered and a small-order-key record rejected, dark-mode contrast, and the static copy
 * beside a bootpage asking a second tracker when the first does not answer.
 * Screenshots go to a temporary folder, or into docs/img/ with SCREENSHOTS=docs.
 */

const HOSTILE = `<img src=x onerror="document.title='pwned'">`
const SERVERS = [
  { name: 'Alpha Arena', players: 12, maxPlayers: 16, world: 'q3dm17', tags: ['ctf', 'eu'] },
  { name: 'Bravo Base', players: 3, maxPlayers: 8, world: 'q3dm6', tags: ['ffa'] },
  { name: HOSTILE, players: 1, maxPlayers: 16, world: 'q3tourney2', tags: [] },
  { name: 'Charlie Court', players: 0, maxPlayers: 24, world: 'q3dm1', tags: ['duel'] },
  { name: 'Delta Dome', players: 7, maxPlayers: 12, world: 'q3dm17', tags: ['tdm', 'us'] },
]
const PROVEN = new Set(['Alpha Arena', 'Charlie Court', 'Delta Dome'])

/** The FakeView, with the proof flag set by server name (the table's own flag stays false). */
function provenByName(v: FakeView): TrackerView {
  return {
    clock: v.clock,
    startedAt: v.startedAt,
    operator: v.operator,
    stats: () => v.stats(),
    table: () => v.table(),
    networks: k => v.networks(k),
    select: q => {
      const s = v.select(q)
      return {
        ...s,
        entries: s.entries.map(e => ({ ...e, verified: PROVEN.has(e.record.server?.name ?? '') })),
      }
    },
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 30_000
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

function shotPath(dir: string, name: string): string {
  return process.env.SCREENSHOTS === 'docs' ? join('docs', 'img', name) : join(dir, name)
}

/** WCAG contrast of an element's text against the page background (the canvas when none). */
const CONTRAST_JS = `(sel) => {
  const parse = s => (s.match(/[\\d.]+/g) || []).map(Number)
  const f = x => { const v = x / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 }
  const lum = c => 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2])
  const el = document.querySelector(sel)
  if (el === null) return 0
  let bg = parse(getComputedStyle(document.body).backgroundColor)
  if (bg.length === 4 && bg[3] === 0)
    bg = matchMedia('(prefers-color-scheme: dark)').matches ? [18, 18, 18] : [255, 255, 255]
  const a = lum(parse(getComputedStyle(el).color))
  const b = lum(bg)
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)
}`

async function contrast(page: Page, selector: string): Promise<number> {
  return Number(await page.evaluate(`(${CONTRAST_JS})(${JSON.stringify(selector)})`))
}

test(
  'status page and server browser in headless Chromium: list, chart, escaping, proof, verification, rejection',
  { timeout: 240_000 },
  async t => {
    if (!chromiumAvailable(t)) return
    const clock = new ManualClock(Date.now())
    const v = new FakeView(
      { name: 'Example Tracker', location: 'Santa Clara, CA', contact: 'ops@example.org' },
      { clock },
    )
    // Servers announce every step (a server not heard from for a while leaves the table).
    const announceAll = (seq: number) => {
      SERVERS.forEach((s, i) => {
        v.add(serverEntry(v.clock, i + 1, s, { seq, seenAgo: i * 7_000 }))
      })
      const openttd = { name: 'OpenTTD One', players: 4 }
      v.add(serverEntry(v.clock, 20, openttd, { seq, network: 'openttd.example' }))
    }
    announceAll(1)
    const obs = await Observers.start(provenByName(v), {
      hosts: ['127.0.0.1'],
      http: 0,
      listing: [],
      version: '0.1.0',
      rateStepMs: 50,
      historyStepMs: 60_000,
      pages: { cacheMs: 0, refreshMs: 500 },
    })
    t.after(() => obs.close())
    const base = `http://127.0.0.1:${obs.httpPort}`
    const status = async () => (await (await fetch(`${base}/status.json`)).json()) as StatusJson

    // Half an hour of traffic, one step at a time (the observers' timer samples each one).
    for (let i = 1; i <= 30; i++) {
      v.count('announces', 60 + ((i * 37) % 50) * 3)
      v.count('queries', 200 + ((i * 53) % 70) * 6)
      v.count('dropped_flood', i % 7 === 0 ? 90 : 0)
      v.count('dropped_cookie_budget', i % 11 === 0 ? 40 : 0)
      v.count('egress_bytes', 60_000 + Math.round(30_000 * Math.sin(i / 3)))
      v.clock.advance(60_000)
      announceAll(i + 1)
      await until('a history step', async () =>
        (await status()).history.t.length >= i ? true : undefined,
      )
    }

    const shots = mkdtempSync(join(tmpdir(), 'mt-pages-'))
    t.after(() => {
      rmSync(shots, { recursive: true, force: true })
    })
    const context = await launchChromium(t)
    const problems: string[] = []
    const watch = (page: Page) => {
      page.on('console', msg => {
        if (msg.type() === 'error') problems.push(msg.text())
      })
      page.on('pageerror', err => problems.push(err.message))
    }

    // ---- the status page ----
    const page = await context.newPage()
    watch(page)
    await page.setViewportSize({ width: 1100, height: 900 })
    assert.equal((await page.goto(`${base}/`, { timeout: 20_000 }))?.status(), 200)
    await page.waitForSelector('body.live')
    assert.equal(await page.textContent('#operator-name'), 'Example Tracker')
    const rows = page.locator('#servers tbody tr')
    assert.equal(await rows.count(), SERVERS.length + 1)
    // Escaping: the hostile name is text, no element was made of it, its handler never ran.
    assert.equal(await page.locator('td.name', { hasText: HOSTILE }).count(), 1)
    assert.equal(await page.locator('main img').count(), 0)
    assert.notEqual(await page.title(), 'pwned')
    // The proof mark.
    assert.equal(await page.locator('td.proof.proven').count(), PROVEN.size)
    // Charts: lines drawn from the hour of history, the drops chart with one line per reason.
    const points = await page.getAttribute('#chart-announces polyline', 'points')
    assert.equal(points?.split(' ').length, 30)
    assert.deepEqual(await page.locator('#chart-drops .legend li').allTextContents(), [
      'cookie_budget',
      'flood',
    ])
    assert.equal(await page.locator('#chart-egress polyline').count(), 1)
    // Sorting and filtering.
    await page.click('button[data-sort-key="name"]')
    const names = await page.locator('#servers tbody tr td.name').allTextContents()
    assert.deepEqual(
      names,
      [...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)),
    )
    await page.fill('#filter', 'q3dm17')
    assert.equal(await page.locator('#servers tbody tr:not([hidden])').count(), 2)
    await page.fill('#filter', '')
    await page.check('#proven-only')
    assert.equal(await page.locator('#servers tbody tr:not([hidden])').count(), PROVEN.size)
    await page.uncheck('#proven-only')
    // Live: a server announced now shows up without a reload, and the sort order holds.
    assert.equal(await page.locator('#drops tbody tr').count(), 2)
    v.add(serverEntry(v.clock, 30, { name: 'Echo Edge', players: 2 }))
    v.count('dropped_short', 5)
    await until('the live update', async () =>
      (await rows.count()) === SERVERS.length + 2 ? true : undefined,
    )
    await until('the drops', async () =>
      (await page.locator('#drops tbody tr').count()) === 3 ? true : undefined,
    )
    assert.equal(await page.getAttribute('button[data-sort-key="name"]', 'aria-sort'), 'ascending')
    await page.click('button[data-sort-key="players"]')
    await page.screenshot({ path: shotPath(shots, 'status.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'dark' })
    for (const sel of [
      '#operator-name',
      'dt',
      'td.proof.proven',
      'td.proof.unproven',
      'footer a',
    ]) {
      assert.ok((await contrast(page, sel)) >= 4.5, `dark contrast of ${sel}`)
    }
    await page.emulateMedia({ colorScheme: 'light' })
    for (const sel of ['#operator-name', 'dt', 'td.proof.proven', 'td.proof.unproven']) {
      assert.ok((await contrast(page, sel)) >= 4.5, `light contrast of ${sel}`)
    }
    // A phone.
    await page.setViewportSize({ width: 390, height: 844 })
    const overflow = await page.evaluate('document.documentElement.scrollWidth - innerWidth')
    assert.ok(Number(overflow) <= 1, 'no sideways scrolling of the page on a phone')
    await page.close()

    // ---- the server browser, a tampered record and a small-order key on the way ----
    const weak = smallOrderEncodings().find(e => e.canonical && e.order === 8)
    assert.ok(weak !== undefined)
    const nowS = Math.floor(v.clock.now() / 1000)
    const forged = forgeRecord(
      {
        network: 'quake.example',
        publicKey: new Uint8Array(32),
        seq: 1,
        issuedAt: nowS - 10,
        expiresAt: nowS + 600,
        kind: 'server',
        endpoints: [{ family: 4, address: '0.0.0.0', port: 27_960 }],
        server: {
          name: 'Forged Fortress',
          players: 16,
          maxPlayers: 16,
          world: '',
          version: '',
          tags: [],
        },
      },
      Buffer.from(weak.hex, 'hex'),
    )
    const tamper = async (p: Page) => {
      await p.route('**/v1/servers?**', async route => {
        const res = await route.fetch()
        if (!res.ok()) {
          // A tracker without `unproven` refuses it (400): passed on, the page asks again.
          await route.fulfill({ response: res })
          return
        }
        const body = (await res.json()) as {
          entries: { record: string; server: { name: string } }[]
        }
        const alpha = body.entries.find(e => e.server.name === 'Alpha Arena')
        assert.ok(alpha !== undefined)
        // One byte of the signed name changed ("Alpha" → "Alpho"), the decoded JSON left alone.
        const bytes = Buffer.from(alpha.record, 'base64')
        const at = bytes.indexOf('Alpha Arena')
        bytes[at + 4] = 'o'.charCodeAt(0)
        alpha.record = bytes.toString('base64')
        body.entries.push({
          ...alpha,
          record: Buffer.from(encodeSignedRecord(forged.record, forged.signature)).toString(
            'base64',
          ),
          server: { name: 'Forged Fortress' },
        })
        await route.fulfill({ response: res, json: body })
      })
    }
    const browse = async (engine: 'WebCrypto' | 'tweetnacl', shot: string | null) => {
      const p = await context.newPage()
      watch(p)
      if (engine === 'tweetnacl')
        await p.addInitScript(
          'Object.defineProperty(globalThis.crypto, "subtle", { value: undefined })',
        )
      await tamper(p)
      await p.setViewportSize({ width: 1100, height: 700 })
      await p.goto(`${base}/browse#network=quake.example`, { timeout: 20_000 })
      await p.waitForSelector('body[data-loaded="quake.example"]', { timeout: 20_000 })
      assert.equal(await p.getAttribute('body', 'data-engine'), engine)
      const total = SERVERS.length + 2 // Echo Edge, and the forged record
      assert.equal(await p.locator('#browse tbody tr').count(), total)
      assert.equal(await p.locator('#browse tbody tr.verified').count(), total - 2)
      const rejected = await p.locator('#browse tbody tr.rejected td.sig').allTextContents()
      assert.deepEqual(rejected.sort(), [
        '✗ rejected: bad signature',
        '✗ rejected: weak key or signature',
      ])
      assert.equal(await p.locator('#browse td.name', { hasText: HOSTILE }).count(), 1)
      assert.equal(await p.locator('main img').count(), 0)
      assert.equal(await p.locator('#browse tr.verified td.reach.proven').count(), PROVEN.size - 1)
      assert.match((await p.textContent('#browse-status')) ?? '', /5 verified, 2 rejected/)
      // The network picker offers both networks.
      assert.deepEqual(await p.locator('#network option').allTextContents(), [
        'quake.example',
        'openttd.example',
      ])
      if (shot !== null) {
        await p.emulateMedia({ colorScheme: 'dark' })
        for (const sel of [
          'tr.verified td.sig',
          'tr.rejected td.sig',
          'td.reach.proven',
          '#browse-status',
        ])
          assert.ok((await contrast(p, sel)) >= 4.5, `dark contrast of ${sel}`)
        await p.screenshot({ path: shotPath(shots, shot), fullPage: true })
      }
      await p.close()
    }
    await browse('WebCrypto', 'browse.png')
    await browse('tweetnacl', null)

    // ---- the static copy beside a bootpage: the first tracker is down, the second answers ----
    const dead = await new Promise<number>(resolve => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port
        s.close(() => {
          resolve(port)
        })
      })
    })
    const site = mkdtempSync(join(tmpdir(), 'mt-browse-site-'))
    t.after(() => {
      rmSync(site, { recursive: true, force: true })
    })
    const trackers = [
      { ...sampleTrackers[0]!, name: 'down', host: '127.0.0.1', http: dead },
      { ...sampleTrackers[0]!, name: 'up', host: '127.0.0.1', http: obs.httpPort ?? 0 },
    ]
    const doc = makePage({
      network: 'quake.example',
      issuedAt: nowS - 60,
      validUntil: nowS + 86_400,
      threshold: 2,
      trackers,
    })
    await buildBootpage(doc, site)
    for (const [path, body] of browseSiteFiles(loadWebAssets())) {
      await mkdir(dirname(join(site, path)), { recursive: true })
      writeFileSync(join(site, path), body)
    }
    // The bootpage itself, tampered, for the warning's contrast.
    await buildBootpage(doc, join(site, 'tampered'))
    const tj = join(site, 'tampered', 'bootpage.json')
    writeFileSync(tj, readFileSync(tj, 'utf8').replace('"down"', '"DOWN"'))
    const types: Record<string, string> = {
      html: 'text/html',
      js: 'text/javascript',
      css: 'text/css',
    }
    const srv = await startHttpServer((req, res) => {
      let path = normalize(
        join(site, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)),
      )
      if (path.endsWith('/')) path = join(path, 'index.html')
      if (!path.startsWith(site) || !existsSync(path)) {
        res.writeHead(404).end()
        return
      }
      const ext = path.slice(path.lastIndexOf('.') + 1)
      res
        .writeHead(200, { 'content-type': types[ext] ?? 'application/json' })
        .end(readFileSync(path))
    })
    t.after(srv.close)
    const sp = await context.newPage()
    watch(sp)
    await sp.goto(`${srv.origin}/browse.html`, { timeout: 20_000 })
    await sp.waitForSelector('body[data-loaded="quake.example"]', { timeout: 30_000 })
    assert.match(
      (await sp.textContent('#bootpage-status')) ?? '',
      /^Bootpage verified: network quake\.example/,
    )
    assert.match(
      (await sp.textContent('#browse-status')) ?? '',
      new RegExp(`from http://127\\.0\\.0\\.1:${obs.httpPort}`),
    )
    assert.equal(await sp.locator('#browse tbody tr.verified').count(), SERVERS.length + 1)
    await sp.goto(`${srv.origin}/tampered/`, { timeout: 20_000 })
    await sp.waitForSelector('#status.bad')
    await sp.emulateMedia({ colorScheme: 'dark' })
    assert.ok((await contrast(sp, '#status.bad')) >= 4.5, 'the bootpage warning in dark mode')
    await sp.close()

    // A failed fetch to the tracker that is down is the only console error allowed; and, from a
    // tracker that does not know `unproven` yet, its refusal (the page then asks without it).
    const knowsUnproven = (await fetch(`${base}/v1/servers?network=quake.example&unproven=1`)).ok
    const older = (p: string) =>
      !knowsUnproven &&
      (p.includes('400 (Bad Request)') || p.includes('unproven=1') || p.includes('net::ERR_FAILED'))
    assert.deepEqual(
      problems.filter(
        p => !p.includes(`127.0.0.1:${dead}`) && !p.includes('ERR_CONNECTION_REFUSED') && !older(p),
      ),
      [],
    )
    t.diagnostic(`screenshots: ${process.env.SCREENSHOTS === 'docs' ? 'docs/img' : shots}`)
  },
)
