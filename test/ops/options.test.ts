import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { Command } from 'commander'
import { z } from 'zod'
import { addOptionFlags, showDefault } from '../../src/cli/option-flags.js'
import { DEFAULT_CONFIG, OPTION_FLAGS, configSchema, parseConfig } from '../../src/ops/config.js'
import { OPTION_SHORTHANDS } from '../../src/ops/options.js'
import { DAEMON_OPTION_ROWS, DEFAULT_OPTIONS } from '../../src/tracker/options.js'
import { docDefault, docFlag } from '../helpers/option-docs.js'

const keys = OPTION_FLAGS.map(f => f.key)

/** Dotted keys of a zod object, through optional sections and shorthand unions. */
function schemaKeys(schema: z.ZodObject, at = ''): string[] {
  const out: string[] = []
  for (const [name, inner] of Object.entries(schema.shape)) {
    let s: unknown = inner instanceof z.ZodOptional ? inner.unwrap() : inner
    if (s instanceof z.ZodUnion) s = s.options.find(o => o instanceof z.ZodObject) ?? s
    if (s instanceof z.ZodObject) out.push(...schemaKeys(s, `${at}${name}.`))
    else out.push(`${at}${name}`)
  }
  return out
}

test('every row: its rule accepts its own default, unchanged', () => {
  for (const { key, row } of OPTION_FLAGS) {
    const result = row.rule.safeParse(row.default)
    assert.ok(result.success, `${key}: ${JSON.stringify(result.error?.issues)}`)
    assert.deepEqual(result.data, row.default, key)
  }
  assert.deepEqual(parseConfig({}), DEFAULT_CONFIG)
  for (const key of Object.keys(DAEMON_OPTION_ROWS)) {
    assert.deepEqual(
      DEFAULT_CONFIG[key as keyof typeof DEFAULT_OPTIONS],
      DEFAULT_OPTIONS[key as keyof typeof DEFAULT_OPTIONS],
      key,
    )
  }
})

test('the schema keys, the serve flags and the rows match one to one', () => {
  assert.deepEqual(schemaKeys(configSchema), keys)
  assert.equal(new Set(OPTION_FLAGS.map(f => f.flag)).size, keys.length, 'flags are distinct')
  const serve = addOptionFlags(new Command('serve'))
  assert.deepEqual(
    serve.options.map(o => [o.long, o.attributeName()]),
    OPTION_FLAGS.map(f => [f.flag, f.prop]),
  )
  for (const { flag, key, path, row } of OPTION_FLAGS) {
    // The kebab case of the key path, unless the row keeps an older flag name.
    const kebab = `--${path.map(p => p.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)).join('-')}`
    assert.equal(flag, row.flag ?? kebab, key)
    const help = serve.options.find(o => o.long === flag)
    const shown = showDefault(row.read, row.default)
    const text = `${help?.description ?? ''} ${help?.defaultValueDescription ?? ''}`
    // A flag off by default shows no default (the CLI's help rule); every other shows it.
    if (!(row.read === 'bool' && row.default === false)) {
      assert.equal(text.split(shown).length - 1 >= 1, true, `${flag} shows its default ${shown}`)
    }
    assert.ok(help?.description.startsWith(row.doc), `${flag} shows its doc line`)
  }
  for (const [section, short] of Object.entries(OPTION_SHORTHANDS)) {
    assert.ok(keys.includes(`${section}.${short}`), `${section}: ${short} is a row`)
  }
})

test('every flag given its default as text reads back as the default', () => {
  for (const { key, prop, path, row } of OPTION_FLAGS) {
    const d = row.default
    if (row.read === 'value' || d === null || d === '' || (Array.isArray(d) && d.length === 0)) {
      continue
    }
    const text = Array.isArray(d) ? d.map(String) : showDefault(row.read, d)
    let got: unknown = parseConfig({}, {}, { [prop]: text })
    for (const p of path) got = (got as Record<string, unknown>)[p]
    assert.deepEqual(got, d, key)
  }
})

test('docs/operations.md documents every row with its flag and default, and nothing else', () => {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8')
  const documented = new Map<string, string[]>()
  let inTable = false
  for (const line of doc.split('\n')) {
    // The option tables are the ones headed "| key ...".
    if (line.startsWith('| key')) inTable = true
    if (!line.startsWith('|')) inTable = false
    const m = /^\| `([a-zA-Z.]+)` \|(.*)\|$/.exec(line)
    if (!inTable || m === null) continue
    const first = m[1] ?? ''
    const short = OPTION_SHORTHANDS[first]
    const key = short === undefined ? first : `${first}.${short}`
    const cells = (m[2] ?? '').split(' | ').map(c => c.trim())
    documented.set(key, cells)
    assert.ok(keys.includes(key), `${key} in operations.md has a row`)
  }
  for (const f of OPTION_FLAGS) {
    const cells = documented.get(f.key)
    assert.ok(cells !== undefined, `${f.key} in operations.md`)
    assert.equal(cells[0], docFlag(f), `${f.key}: flag`)
    assert.equal(cells[1], docDefault(f), `${f.key}: default`)
  }
  assert.ok(doc.includes('`--config FILE`'), '--config in operations.md')
})
