import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { test } from 'node:test'
import { canonicalize } from '../../src/bootpage/canonical.js'
import { type BootpageDocument, validateDocument } from '../../src/bootpage/schema.js'
import { pageDigest } from '../../src/bootpage/sign.js'
import {
  type BootpageStamp,
  createStamp,
  parseStamp,
  STAMP_SIGNING_DOMAIN,
  signStamp,
  stampSigningInput,
  verifyStamp,
} from '../../src/bootpage/stamp.js'
import { verifyBootpage } from '../../src/bootpage/verify.js'
import { toHex } from '../../src/crypto/keys.js'
import { NOW, NOW_S, freshnessOf, makePage, stampKeys } from '../helpers/bootpage.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

/*
 * Golden vectors for freshness stamps (docs/bootpage.md §9), for another implementation:
 * test/fixtures/vectors/bootpage-stamps.json. Every key is a test key (seed bytes all equal to
 * n); Ed25519 is deterministic, so the file is rebuilt byte for byte here and compared.
 * Regenerate after a deliberate format change: UPDATE_VECTORS=1 node scripts/run-tests.mjs
 * test/bootpage/stamp-vectors.test.ts
 */

const FILE = new URL('../fixtures/vectors/bootpage-stamps.json', import.meta.url)

interface Refused {
  name: string
  code: string
  now: number
  stamp: BootpageStamp
}

function build() {
  const doc = makePage({ freshness: freshnessOf([0, 1], 1, 86_400) })
  const page = doc.page
  const sign = (s: BootpageStamp, i = 0) =>
    signStamp(s, stampKeys[i]!.privateKey, stampKeys[i]!.publicKey)
  const stamp = sign(createStamp(page, NOW_S - 60))
  const body = stamp.stamp
  const resign = (b: typeof body) => sign({ stamp: b, signatures: [] })
  const other = makePage({ freshness: freshnessOf([0, 1], 1, 86_400), sequence: 2 }).page
  const identity = '01' + '00'.repeat(31)
  const refused: Refused[] = [
    { name: 'expired', code: 'BOOTPAGE_STAMP_EXPIRED', now: (body.expiresAt + 1) * 1000, stamp },
    {
      name: 'another-page',
      code: 'BOOTPAGE_STAMP_WRONG_PAGE',
      now: NOW,
      stamp: sign(createStamp(other, NOW_S - 60)),
    },
    {
      name: 'edited-after-signing',
      code: 'BOOTPAGE_STAMP_BAD_SIGNATURE',
      now: NOW,
      stamp: { ...stamp, stamp: { ...body, expiresAt: body.expiresAt - 1 } },
    },
    {
      name: 'undeclared-key',
      code: 'BOOTPAGE_STAMP_BAD_SIGNATURE',
      now: NOW,
      stamp: sign({ stamp: body, signatures: [] }, 2),
    },
    {
      name: 'small-order-key-forgery',
      code: 'BOOTPAGE_STAMP_BAD_SIGNATURE',
      now: NOW,
      stamp: {
        stamp: body,
        signatures: [{ key: identity, signature: identity + '00'.repeat(32) }],
      },
    },
    {
      name: 'unsigned',
      code: 'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
      now: NOW,
      stamp: { stamp: body, signatures: [] },
    },
    {
      name: 'too-long',
      code: 'BOOTPAGE_STAMP_TOO_LONG',
      now: NOW,
      stamp: resign({ ...body, expiresAt: body.issuedAt + 86_401 }),
    },
    {
      name: 'issued-in-the-future',
      code: 'BOOTPAGE_STAMP_NOT_YET_VALID',
      now: NOW,
      stamp: resign({ ...body, issuedAt: NOW_S + 3601, expiresAt: NOW_S + 7200 }),
    },
  ]
  return {
    comment:
      'Freshness stamp vectors (docs/bootpage.md §9). page: a signed bootpage with a freshness declaration; valid: a stamp for it with its canonical body, signing input and signature by the key of seed stampSeedHex, valid at `now` (ms); refused: stamps a verifier MUST refuse at `now` against the same page, with the code metatracker reports first. Rebuilt by test/bootpage/stamp-vectors.test.ts.',
    domain: STAMP_SIGNING_DOMAIN,
    page: { document: doc, digest: pageDigest(page) },
    stampSeedHex: toHex(stampKeys[0]!.seed),
    stampPublicKey: toHex(stampKeys[0]!.publicKey),
    valid: {
      now: NOW,
      stamp,
      canonical: canonicalize(body),
      signingInputHex: toHex(stampSigningInput(body)),
    },
    refused,
  }
}

const built = build()
const text = JSON.stringify(built, null, 2) + '\n'
if (process.env.UPDATE_VECTORS === '1') writeFileSync(FILE, text)
const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as typeof built

test('the stamp vectors file is what the code produces (format pinned byte for byte)', () => {
  assert.equal(readFileSync(FILE, 'utf8'), text)
})

test('the vectors verify as stated, in TypeScript and in bootpage/verify.js', () => {
  const doc: BootpageDocument = validateDocument(vectors.page.document)
  assert.equal(verifyBootpage(doc, { now: vectors.valid.now }).valid, true)
  assert.equal(pageDigest(doc.page), vectors.page.digest)
  const stamp = parseStamp(JSON.stringify(vectors.valid.stamp))
  assert.equal(canonicalize(stamp.stamp), vectors.valid.canonical)
  assert.equal(
    vectors.valid.signingInputHex,
    toHex(new TextEncoder().encode(`\u001d${vectors.domain}${vectors.valid.canonical}`)),
  )
  assert.equal(verifyStamp(stamp, doc.page, { now: vectors.valid.now }).valid, true)
  const js = loadVerifyJs()
  const jsPage = js.parse(JSON.stringify(doc.page))
  assert.equal(
    js.verifyStamp(js.parse(JSON.stringify(stamp)), jsPage, js.nacl, vectors.valid.now).status,
    'fresh',
  )
  assert.ok(vectors.refused.length >= 8)
  for (const r of vectors.refused) {
    const s = parseStamp(JSON.stringify(r.stamp))
    const v = verifyStamp(s, doc.page, { now: r.now })
    assert.equal(v.problems[0]?.code, r.code, r.name)
    assert.notEqual(
      js.verifyStamp(js.parse(JSON.stringify(s)), jsPage, js.nacl, r.now).status,
      'fresh',
      r.name,
    )
  }
})
