#!/usr/bin/env node
// Gathers test/**/*.test.ts and runs them with node:test through tsx. Node 20's --test takes
// paths, not globs, so the list is built here. Extra arguments are passed to node --test
// (for example: --test-name-pattern=cookie). Files may also be given: scripts/run-tests.mjs test/wire
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) collect(p, out)
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}

const args = process.argv.slice(2)
const roots = args.filter(a => !a.startsWith('-'))
const flags = args.filter(a => a.startsWith('-'))
const files = []
for (const root of roots.length > 0 ? roots : ['test']) {
  if (statSync(root).isDirectory()) collect(root, files)
  else files.push(root)
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2'
// The loopback guard (test/guard/loopback-guard.mjs) runs in every test process and every Node
// child they start: a packet or connection aimed outside loopback fails the run.
const guard = pathToFileURL(resolve('test/guard/loopback-guard.mjs')).href
const logDir = mkdtempSync(join(tmpdir(), 'mt-loopback-'))
const log = join(logDir, 'violations.log')
const env = {
  ...process.env,
  MT_LOOPBACK_LOG: log,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${guard}`.trim(),
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...flags, ...files],
  { stdio: 'inherit', env },
)
let violations = ''
try {
  violations = readFileSync(log, 'utf8')
} catch {
  // No violation was written.
}
rmSync(logDir, { recursive: true, force: true })
if (violations !== '') {
  process.stderr.write(
    `\nloopback guard: traffic aimed outside loopback during the tests:\n${violations}`,
  )
  process.exit(1)
}
process.exit(result.status ?? 1)
