import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import fc from 'fast-check'
import { canonicalize, CANONICAL_MAX_DEPTH } from '../../src/bootpage/canonical.js'
import { bootpageSigningInput } from '../../src/bootpage/sign.js'
import { validatePage } from '../../src/bootpage/schema.js'
import { privateKeyFromSeed, signBytes, verifyBytes } from '../../src/crypto/ed25519.js'
import { isTrackerError } from '../../src/errors.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

interface Vectors {
  canonical: { name: string; json: string; canonical: string; utf8Hex: string }[]
  rejected: { name: string; json: string }[]
  signing: {
    seedHex: string
    publicKeyHex: string
    page: unknown
    canonical: string
    signingInputHex: string
    signatureHex: string
  }
}

const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/bootpage/vectors.json', import.meta.url), 'utf8'),
) as Vectors
const browser = loadVerifyJs()

const isCanonicalError = (err: unknown) =>
  isTrackerError(err) && err.code === 'BOOTPAGE_NOT_CANONICAL'

test('golden vectors: canonical text and UTF-8 bytes (TypeScript and the browser script)', () => {
  assert.ok(vectors.canonical.length >= 9)
  for (const v of vectors.canonical) {
    const value: unknown = JSON.parse(v.json)
    const text = canonicalize(value)
    assert.equal(text, v.canonical, v.name)
    assert.equal(Buffer.from(text, 'utf8').toString('hex'), v.utf8Hex, v.name)
    assert.equal(browser.canonicalize(value), v.canonical, `verify.js: ${v.name}`)
  }
})

test('golden vectors: values outside the restricted JSON are refused', () => {
  for (const v of vectors.rejected) {
    const value: unknown = JSON.parse(v.json)
    assert.throws(() => canonicalize(value), isCanonicalError, v.name)
    assert.throws(() => browser.canonicalize(value), `verify.js: ${v.name}`)
  }
  for (const bad of [NaN, Infinity, undefined, () => 1, Symbol('x'), 10n, new Date(0), new Map()]) {
    assert.throws(() => canonicalize([bad]), isCanonicalError)
  }
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => canonicalize([1, , 2]), isCanonicalError)
  let deep: unknown = 'x'
  for (let i = 0; i <= CANONICAL_MAX_DEPTH; i++) deep = [deep]
  assert.throws(() => canonicalize(deep), isCanonicalError)
})

test('golden signing vector: canonical page, signing input and Ed25519 signature', () => {
  const s = vectors.signing
  const page = validatePage(s.page)
  const input = bootpageSigningInput(page)
  assert.equal(canonicalize(page), s.canonical)
  assert.equal(Buffer.from(input).toString('hex'), s.signingInputHex)
  const key = privateKeyFromSeed(Buffer.from(s.seedHex, 'hex'))
  assert.equal(Buffer.from(signBytes(key, input)).toString('hex'), s.signatureHex)
  assert.ok(
    verifyBytes(Buffer.from(s.publicKeyHex, 'hex'), input, Buffer.from(s.signatureHex, 'hex')),
  )
  assert.equal(Buffer.from(browser.signingInput(s.page)).toString('hex'), s.signingInputHex)
})

/** Restricted JSON values: well-formed strings, safe integers, arrays and plain objects. */
const jsonValue = fc.letrec(tie => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 6 }),
    fc.maxSafeInteger(),
    fc.integer({ min: -1000, max: 1000 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('value'), {
      maxKeys: 6,
      noNullPrototype: true,
    }),
  ),
})).value

/** The same value with every object's keys inserted in a shuffled order. */
function reorder(value: unknown, rng: () => number): unknown {
  if (Array.isArray(value)) return value.map(v => reorder(v, rng))
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
    for (let i = entries.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      ;[entries[i], entries[j]] = [entries[j]!, entries[i]!]
    }
    const out: Record<string, unknown> = {}
    for (const [k, v] of entries) out[k] = reorder(v, rng)
    return out
  }
  return value
}

test('property: canonicalisation is stable under key reordering and a JSON round trip', () => {
  fc.assert(
    fc.property(jsonValue, fc.integer(), (value, seed) => {
      let state = seed >>> 0
      const rng = () => (state = (state * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32
      const text = canonicalize(value)
      assert.equal(canonicalize(reorder(value, rng)), text)
      assert.equal(canonicalize(JSON.parse(text)), text)
      assert.equal(canonicalize(JSON.parse(JSON.stringify(value, null, 2))), text)
    }),
    { numRuns: 300 },
  )
})

test('property: the browser script canonicalises exactly like the TypeScript', () => {
  fc.assert(
    fc.property(jsonValue, value => {
      assert.equal(browser.canonicalize(value), canonicalize(value))
    }),
    { numRuns: 300 },
  )
})
