import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { type BrowserContext, chromium } from 'playwright-core'

/** Debian's Chromium (apt-get install chromium); .ci/apt-packages installs it in CI. */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Whether a browser test can run: false (after t.skip) when Chromium is missing outside CI;
 * under CI=true a missing Chromium fails the test instead.
 */
export function chromiumAvailable(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true
  assert.notEqual(
    process.env.CI,
    'true',
    `${CHROMIUM} is missing under CI: apt-get install chromium`,
  )
  t.skip(`Chromium not found at ${CHROMIUM}: apt-get install chromium`)
  return false
}

/**
 * Headless Chromium with a fresh profile and the flags this machine's closed network needs
 * (no background networking, no component updates); closed and removed after the test.
 */
export async function launchChromium(t: TestContext): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'mt-chromium-'))
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
  return context
}
