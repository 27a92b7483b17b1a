import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseConfig } from '../../src/ops/config.js'
import { TrackerRuntime } from '../../src/ops/runtime.js'
import { Limits } from '../../src/wire/constants.js'

test('every counter and gauge of a full tracker fits one TCP stats-reply (§8.9), with names in bounds', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-stats-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const rt = await TrackerRuntime.open(parseConfig({ data: dir, udp: 0, tcp: 0, http: null }))
  const names = rt.daemon.stats.snapshot().map(s => s.name)
  assert.equal(new Set(names).size, names.length, 'no name twice')
  for (const n of names) assert.match(n, /^[a-z][a-z0-9_]{0,47}$/)
  // A stats-reply holds STATS_MAX values: past it, an operator's `stats` would silently lose
  // the last counters. Keep a margin for counters yet to come.
  assert.ok(names.length <= Limits.STATS_MAX - 16, `${names.length} stats`)
})
