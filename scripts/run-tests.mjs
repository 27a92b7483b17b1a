#!/usr/bin/env node
// Gathers test/**/*.test.ts and runs them with node:test through tsx. Node 20's --test takes
// paths, not globs, so the list is built here. Extra arguments are passed to node --test
// (for example: --test-name-pattern=cookie). Files may also be given: scripts/run-tests.mjs test/wire
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...flags, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
