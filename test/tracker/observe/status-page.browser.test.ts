import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { Observers } from '../../../src/tracker/observe/observers.js'
import { FakeView, serverEntry } from '../../helpers/observe-view.js'

const CHROMIUM = '/usr/bin/chromium'
const NAME = `Example <b>Tracker</b> & "friends"`

test(
  'the status page renders in headless Chromium: operator, entry count, style, no CSP error',
  { timeout: 90_000 },
  async t => {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI === 'true')
        assert.fail(`${CHROMIUM} is missing under CI: apt-get install chromium`)
      t.skip(`Chromium not found at ${CHROMIUM}: apt-get install chromium`)
      return
    }
    const v = new FakeView({ name: NAME, location: 'Santa Clara, CA', contact: 'ops@example.org' })
    for (let i = 1; i <= 3; i++) v.add(serverEntry(v.clock, i, { players: i }))
    v.count('announces', 3)
    v.count('dropped_flood', 1)
    const obs = await Observers.start(v, {
      hosts: ['127.0.0.1'],
      http: 0,
      listing: [],
      version: '0.1.0',
    })
    t.after(() => obs.close())

    const profile = mkdtempSync(join(tmpdir(), 'mt-chromium-profile-'))
    const shots = mkdtempSync(join(tmpdir(), 'mt-status-page-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    t.after(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', msg => {
      if (msg.type() === 'error') problems.push(msg.text())
    })
    page.on('pageerror', err => problems.push(err.message))
    const res = await page.goto(`http://127.0.0.1:${obs.httpPort}/`, { timeout: 20_000 })
    assert.equal(res?.status(), 200)
    assert.equal(await page.textContent('#operator-name'), NAME)
    assert.equal(await page.title(), `metatracker: ${NAME}`)
    assert.equal(await page.textContent('#table-entries'), '3')
    assert.equal(await page.getAttribute('#table-entries', 'data-value'), '3')
    assert.equal(await page.textContent('#operator-location'), 'Santa Clara, CA')
    assert.equal(await page.locator('b').count(), 0, 'markup in the name stays text')
    assert.equal(await page.locator('#drops tbody tr').count(), 1)
    // The inline style is allowed by its CSP hash: it applies, and nothing was blocked.
    const weight = await page.evaluate('getComputedStyle(document.querySelector("dt")).fontWeight')
    assert.equal(weight, '600')
    assert.deepEqual(problems, [])
    const shot = join(shots, 'status-page.png')
    await page.screenshot({ path: shot, fullPage: true })
    assert.ok(statSync(shot).size > 1000)
    t.diagnostic(`screenshot: ${shot}`)
  },
)
