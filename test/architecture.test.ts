import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'

/*
 * The floors of docs/design.md, enforced: a module imports only modules of its own floor or of
 * the floors it may use. `base` is the files directly in src/ (errors, clock, log, version...);
 * src/index.ts is the package's surface and may import anything.
 */
const MAY_USE: Readonly<Record<string, readonly string[]>> = {
  base: [],
  wire: ['base'],
  crypto: ['wire', 'base'],
  net: ['wire', 'base'],
  table: ['wire', 'base'],
  throttle: ['wire', 'base'],
  store: ['table', 'wire', 'crypto', 'base'],
  tracker: ['wire', 'crypto', 'net', 'table', 'store', 'throttle', 'base'],
  observe: ['wire', 'net', 'table', 'throttle', 'base'],
  ops: ['tracker', 'observe', 'wire', 'crypto', 'net', 'table', 'store', 'throttle', 'base'],
  bootpage: ['wire', 'crypto', 'base'],
  client: ['bootpage', 'wire', 'crypto', 'net', 'base'],
  cli: ['ops', 'client', 'bootpage', 'wire', 'crypto', 'net', 'base'],
}

/** Imports that break the floors today, each to be removed (never added to). */
const KNOWN: ReadonlySet<string> = new Set<string>([])

const SRC = resolve(import.meta.dirname, '../src')

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) files(p, out)
    else if (name.endsWith('.ts')) out.push(p)
  }
  return out
}

function floorOf(file: string): string | null {
  const rel = relative(SRC, file)
  if (rel === 'index.ts') return null
  const top = rel.split('/')[0] ?? ''
  return rel.includes('/') ? top : 'base'
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    out.push(resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')))
  }
  return out
}

test('no module imports a floor above its own (docs/design.md)', () => {
  const broken: string[] = []
  for (const file of files(SRC)) {
    const from = floorOf(file)
    if (from === null) continue
    const allowed = MAY_USE[from]
    assert.ok(allowed !== undefined, `${relative(SRC, file)}: unknown floor ${from}`)
    for (const target of importsOf(file)) {
      const to = floorOf(target)
      assert.ok(to !== null, `${relative(SRC, file)} imports the package surface`)
      if (to === from || allowed.includes(to)) continue
      const edge = `${relative(SRC, file)} -> ${relative(SRC, target)}`
      if (!KNOWN.has(edge)) broken.push(edge)
    }
  }
  assert.deepEqual(broken, [])
})

test('base modules import no project module', () => {
  for (const file of files(SRC)) {
    if (floorOf(file) !== 'base') continue
    assert.deepEqual(importsOf(file), [], relative(SRC, file))
  }
})
