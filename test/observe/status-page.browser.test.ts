import assert from 'node:assert/strict'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Observers } from '../../src/observe/observers.js'
import { chromiumAvailable, launchChromium } from '../helpers/chromium.js'
import { FakeView, serverEntry } from '../helpers/observe-view.js'

const NAME = `Example <b>Tracker</b> & "friends"`

test(
  'the status page renders in headless Chromium: operator, entry count, style, no CSP error',
  { timeout: 90_000 },
  async t => {
    if (!chromiumAvailable(t)) return
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

    const shots = mkdtempSync(join(tmpdir(), 'mt-status-page-'))
    const context = await launchChromium(t)
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
