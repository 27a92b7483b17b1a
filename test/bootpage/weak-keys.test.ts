import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import fc from 'fast-check'
import { createDraft } from '../../src/bootpage/draft.js'
import {
  type BootpageDocument,
  type BootpagePage,
  validatePage,
} from '../../src/bootpage/schema.js'
import { bootpageSigningInput } from '../../src/bootpage/sign.js'
import { pinnedAnchor, verifyBootpage } from '../../src/bootpage/verify.js'
import { verifyBytes } from '../../src/crypto/ed25519.js'
import { naclVerify } from '../../src/crypto/nacl.js'
import { strictRefusal } from '../../src/crypto/strict.js'
import { isTrackerError } from '../../src/errors.js'
import { NOW, makePage, operatorHex } from '../helpers/bootpage.js'
import {
  forgeSignature,
  plainNaclVerify,
  plainNodeVerify,
  smallOrderEncodings,
} from '../helpers/forged-records.js'
import { hex, unhex } from '../helpers/plain.js'
import { type BootpageRefusalVector, buildBootpageRefusalVectors } from '../helpers/vector-cases.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

interface Vectors {
  signing: { seedHex: string; page: BootpagePage }
  refusedSignatures: BootpageRefusalVector[]
}
const vectors = JSON.parse(
  readFileSync(new URL('../fixtures/bootpage/vectors.json', import.meta.url), 'utf8'),
) as Vectors
const browser = loadVerifyJs()
const weakKeys = smallOrderEncodings()
const isCode = (code: string) => (e: unknown) => isTrackerError(e) && e.code === code

/**
 * A page whose only operator is `keyHex`, threshold 1, "signed" by a forgery made without a
 * private key (sequence raised until one exists). Built directly, past the schema, as an
 * attacker would hand it to a verifier.
 */
function forgedPage(keyHex: string): BootpageDocument {
  const base = makePage().page
  const page = (i: number): BootpagePage => ({
    ...base,
    sequence: 1 + i,
    threshold: 1,
    operators: [{ name: 'mallory', key: keyHex }],
  })
  const found = forgeSignature(unhex(keyHex), i => bootpageSigningInput(page(i)))
  if (found === null) throw new Error(`no forgery for ${keyHex}`)
  return {
    page: page(found.i),
    signatures: [{ key: keyHex, signature: hex(found.signature) }],
  }
}

test('golden refusal vectors: every bootpage verifier refuses them (and they are real forgeries)', () => {
  const v = vectors.refusedSignatures
  assert.equal(v.filter(x => x.reason === 'key-small-order').length, 14)
  assert.deepEqual(
    buildBootpageRefusalVectors(validatePage(vectors.signing.page), unhex(vectors.signing.seedHex)),
    v,
    'npm run vectors regenerates',
  )
  for (const x of v) {
    const page = { ...vectors.signing.page, sequence: x.sequence }
    const input = bootpageSigningInput(page)
    const key = unhex(x.keyHex)
    const sig = unhex(x.signatureHex)
    assert.equal(strictRefusal(key, sig), x.reason, x.name)
    assert.equal(verifyBytes(key, input, sig), false, x.name)
    assert.equal(naclVerify(key, input, sig), false, x.name)
    const inRealm = browser.signingInput(browser.parse(JSON.stringify(page)))
    assert.equal(browser.verifySignature(browser.nacl, inRealm, x.signatureHex, x.keyHex), false)
    // Without the strict rule tweetnacl takes every one of them.
    assert.ok(plainNaclVerify(key, input, sig), `${x.name} is a real forgery for tweetnacl`)
    if (x.reason !== 's-not-reduced') assert.ok(plainNodeVerify(key, input, sig), x.name)
    // As an extra signature on the page, it is a bad signature, never a signer.
    const doc: BootpageDocument = {
      page,
      signatures: [{ key: x.keyHex, signature: x.signatureHex }],
    }
    const verdict = verifyBootpage(doc, { now: NOW })
    assert.deepEqual(verdict.badSignatures, [x.keyHex], x.name)
    assert.deepEqual(verdict.otherSigners, [], x.name)
  }
})

test('a page whose operator key has small order, "signed" without a private key, is not valid', () => {
  for (const w of weakKeys) {
    const doc = forgedPage(w.hex)
    const verdict = verifyBootpage(doc, { now: NOW })
    assert.equal(verdict.valid, false, w.name)
    assert.equal(verdict.signed, 0, w.name)
    assert.ok(
      verdict.problems.some(p => p.code === 'BOOTPAGE_BAD_SIGNATURE'),
      w.name,
    )
    const result = browser.verifyDocument(browser.parse(JSON.stringify(doc)), browser.nacl, NOW)
    assert.equal(result.ok, false, `verify.js: ${w.name}`)
  }
})

test('keys of small order or non-canonical are refused as operator, tracker and pinned keys', () => {
  const nonCanonical = 'f'.repeat(62) + '7f'
  for (const bad of [...weakKeys.map(w => w.hex), nonCanonical]) {
    const page = makePage().page
    assert.throws(
      () => validatePage({ ...page, operators: [{ name: 'x', key: bad }], threshold: 1 }),
      isCode('BOOTPAGE_BAD_SHAPE'),
    )
    assert.throws(
      () => validatePage({ ...page, trackers: [{ ...page.trackers[0]!, key: bad }] }),
      isCode('BOOTPAGE_BAD_SHAPE'),
    )
    assert.throws(
      () =>
        createDraft({
          network: 'demo',
          sequence: 1,
          issuedAt: 1,
          validUntil: 2,
          operators: [{ name: 'x', key: bad }],
          trackers: page.trackers,
        }),
      isCode('BOOTPAGE_BAD_SHAPE'),
    )
    assert.throws(() => pinnedAnchor([bad, ...operatorHex]), isCode('BOOTPAGE_BAD_SPEC'))
    assert.equal(browser.isStrictKeyHex(bad), false)
  }
  for (const good of operatorHex) assert.equal(browser.isStrictKeyHex(good), true)
})

test('property: no signature by a small-order key counts, in TypeScript or in the browser', () => {
  const page = makePage().page
  const input = bootpageSigningInput(page)
  const inRealm = browser.signingInput(browser.parse(JSON.stringify(page)))
  fc.assert(
    fc.property(
      fc.constantFrom(...weakKeys),
      fc.oneof(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc
          .tuple(fc.constantFrom(...weakKeys), fc.uint8Array({ minLength: 32, maxLength: 32 }))
          .map(([r, s]) => Uint8Array.from([...unhex(r.hex), ...s])),
        fc
          .constantFrom(...weakKeys)
          .map(r => Uint8Array.from([...unhex(r.hex), ...new Uint8Array(32)])),
      ),
      (key, sig) => {
        assert.equal(verifyBytes(unhex(key.hex), input, sig), false)
        assert.equal(naclVerify(unhex(key.hex), input, sig), false)
        assert.equal(browser.verifySignature(browser.nacl, inRealm, hex(sig), key.hex), false)
      },
    ),
    { numRuns: 200 },
  )
})
