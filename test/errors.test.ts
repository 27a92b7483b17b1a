import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { ERROR_CODES, TrackerError } from '../src/errors.js'
import { WIRE_ERROR_REASONS, WireErrorCode } from '../src/wire/constants.js'

/**
 * The number of error codes, pinned (as fastify pins its own): adding or retiring a code is a
 * deliberate change of the registry, of docs/errors.md and of this line.
 */
const CODE_COUNT = 92

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
const documented = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map(m => m[1] ?? ''))

test('every error code is documented in docs/errors.md, and nothing else is', () => {
  const codes = Object.keys(ERROR_CODES)
  for (const code of codes) assert.ok(documented.has(code), `${code} missing from docs/errors.md`)
  for (const code of documented)
    assert.ok(code in ERROR_CODES, `${code} documented but not defined`)
})

test(`the registry holds exactly ${CODE_COUNT} codes`, () => {
  assert.equal(Object.keys(ERROR_CODES).length, CODE_COUNT)
  assert.equal(documented.size, CODE_COUNT)
})

test('every error carries its code and a default message', () => {
  for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
    const err = new TrackerError(code)
    assert.equal(err.code, code)
    assert.equal(err.message, ERROR_CODES[code])
  }
})

test('every numeric wire error code has a fixed reason, documented in docs/protocol.md', () => {
  const protocol = readFileSync(new URL('../docs/protocol.md', import.meta.url), 'utf8')
  const numbers = Object.values(WireErrorCode)
  assert.equal(new Set(numbers).size, numbers.length, 'numbers are unique')
  for (const [name, n] of Object.entries(WireErrorCode)) {
    const reason = WIRE_ERROR_REASONS[n]
    assert.ok(
      protocol.includes(`| ${n} | \`${name}\` | ${reason} |`),
      `${n} ${name} not in protocol.md`,
    )
  }
})
