import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runDemo } from '../../../src/cli/demo/demo.js'

/*
 * The demo's proof-of-address scenes: a server listed once proven, a fake one never listed
 * unless the query asks for unproven entries, a crash that leaves the list within the bound of
 * the demo trackers' re-check settings, a withdrawal that removes a server at once.
 */

test('demo scenes: proven, fake, crash and withdrawal', async () => {
  const lines: string[] = []
  const report = await runDemo({ durationMs: 6000, log: line => lines.push(line) })
  const s = report.scenes
  assert.equal(s.provenListed, true)
  assert.equal(s.fakeListed, false, 'a record whose endpoint never answers is not handed out')
  assert.equal(s.fakeListedWithUnproven, true, 'held, and handed out when asked for')
  assert.equal(s.withdrawnAtOnce, true)
  assert.equal(s.crashLeft, true)
  assert.ok((s.crashMs ?? Infinity) <= 6000, `crash left after ${s.crashMs} ms`)
  assert.equal(report.ok, true)
  assert.ok(lines.some(l => /"crash" left every list/.test(l)))
  assert.ok(report.elapsedMs <= 6000, `took ${report.elapsedMs} ms`)
})
