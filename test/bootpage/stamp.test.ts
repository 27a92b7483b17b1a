import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import nacl from 'tweetnacl'
import { factRows } from '../../src/bootpage/render.js'
import { type BootpagePage, BootpageLimits, validatePage } from '../../src/bootpage/schema.js'
import { bootpageSigningInput, pageDigest } from '../../src/bootpage/sign.js'
import {
  type BootpageStamp,
  chooseStamp,
  createStamp,
  formatStamp,
  parseStamp,
  signStamp,
  STAMP_SIGNING_DOMAIN,
  stampSigningInput,
  stampSourceFor,
  verifyStamp,
} from '../../src/bootpage/stamp.js'
import { signBytes } from '../../src/crypto/ed25519.js'
import { toHex } from '../../src/crypto/keys.js'
import { isTrackerError, TrackerError } from '../../src/errors.js'
import { signingInput } from '../../src/wire/signing.js'
import {
  NOW,
  NOW_S,
  freshnessOf,
  makePage,
  makeStamp,
  operatorHex,
  operatorKeys,
  stampHex,
  stampKeys,
} from '../helpers/bootpage.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

const js = loadVerifyJs()
const page = makePage({ freshness: true }).page
const codes = (s: BootpageStamp, p: BootpagePage = page, now = NOW, notBefore?: number) =>
  verifyStamp(s, p, { now, ...(notBefore === undefined ? {} : { notBefore }) }).problems.map(
    x => x.code,
  )
/** The browser verifier on the same stamp (parsed in its own realm, as a page would). */
const inBrowser = (s: BootpageStamp, p: BootpagePage = page, now = NOW) =>
  js.verifyStamp(js.parse(JSON.stringify(s)), js.parse(JSON.stringify(p)), js.nacl, now)

test('a fresh stamp verifies, in TypeScript and in bootpage/verify.js', () => {
  const stamp = makeStamp(page)
  const v = verifyStamp(stamp, page, { now: NOW })
  assert.equal(v.valid, true)
  assert.equal(v.status, 'fresh')
  assert.equal(v.signed, 1)
  assert.equal(v.expiresAt, NOW_S - 60 + 86_400)
  assert.equal(stamp.stamp.page, pageDigest(page))
  const b = inBrowser(stamp)
  assert.equal(b.status, 'fresh', b.problems.join('; '))
  // Round trip through the file format.
  assert.deepEqual(parseStamp(formatStamp(stamp)), stamp)
})

test('freeze: an expired stamp is stale (BOOTPAGE_STAMP_EXPIRED), the page alone is not enough', () => {
  const stamp = makeStamp(page, { issuedAt: NOW_S - 7200, lifetime: 3600 })
  const v = verifyStamp(stamp, page, { now: NOW })
  assert.equal(v.status, 'stale')
  assert.deepEqual(codes(stamp), ['BOOTPAGE_STAMP_EXPIRED'])
  assert.equal(inBrowser(stamp).status, 'stale')
  // One second before its expiry it still holds.
  assert.equal(verifyStamp(stamp, page, { now: (NOW_S - 3601) * 1000 }).valid, true)
})

test('a stamp never outlives its page: expiry is cut at the page validUntil', () => {
  const short = makePage({ freshness: true, validUntil: NOW_S + 600 }).page
  const stamp = makeStamp(short)
  assert.equal(stamp.stamp.expiresAt, NOW_S + 600)
  assert.equal(verifyStamp(stamp, short, { now: (NOW_S + 601) * 1000 }).status, 'stale')
})

test('mix-and-match and rollback: a stamp for another page is refused (WRONG_PAGE)', () => {
  const older = makePage({ freshness: true, sequence: 1 }).page
  const newer = makePage({ freshness: true, sequence: 2 }).page
  // The old page's stamp beside the new page, and the new page's stamp beside the old one.
  assert.deepEqual(codes(makeStamp(older), newer), ['BOOTPAGE_STAMP_WRONG_PAGE'])
  assert.deepEqual(codes(makeStamp(newer), older), ['BOOTPAGE_STAMP_WRONG_PAGE'])
  // Same sequence, other content (one tracker changed): the digest differs.
  const other = makePage({
    freshness: true,
    trackers: [{ name: 'evil', operator: 'X', host: '127.0.0.2', udp: 1 }],
  }).page
  assert.deepEqual(codes(makeStamp(other), page), ['BOOTPAGE_STAMP_WRONG_PAGE'])
  const otherNet = makePage({ freshness: true, network: 'other' }).page
  assert.deepEqual(codes(makeStamp(otherNet), page), ['BOOTPAGE_STAMP_WRONG_PAGE'])
  for (const [s, p] of [
    [makeStamp(older), newer],
    [makeStamp(other), page],
  ] as const)
    assert.equal(inBrowser(s, p).status, 'invalid')
})

test('forged stamps: a changed byte, an undeclared key, too few keys, the page domain', () => {
  const stamp = makeStamp(page)
  // Another expiry pasted in: the signature no longer covers the body.
  const edited = { ...stamp, stamp: { ...stamp.stamp, expiresAt: stamp.stamp.expiresAt - 60 } }
  assert.deepEqual(codes(edited), [
    'BOOTPAGE_STAMP_BAD_SIGNATURE',
    'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
  ])
  assert.equal(inBrowser(edited).status, 'invalid')
  // A good signature by a key the page does not delegate (an operator's, or another online key).
  const byOperator = signStamp(
    createStamp(page, NOW_S - 60),
    operatorKeys[0]!.privateKey,
    operatorKeys[0]!.publicKey,
  )
  assert.deepEqual(codes(byOperator), [
    'BOOTPAGE_STAMP_BAD_SIGNATURE',
    'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
  ])
  assert.deepEqual(codes(makeStamp(page, { signers: [1] })), [
    'BOOTPAGE_STAMP_BAD_SIGNATURE',
    'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
  ])
  assert.equal(inBrowser(byOperator).status, 'invalid')
  // k of n: 2 of 3 stamp keys declared, one signed.
  const twoOfThree = makePage({ freshness: freshnessOf([0, 1, 2], 2) }).page
  assert.deepEqual(codes(makeStamp(twoOfThree, { signers: [2] }), twoOfThree), [
    'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
  ])
  assert.deepEqual(codes(makeStamp(twoOfThree, { signers: [2, 0] }), twoOfThree), [])
  assert.equal(inBrowser(makeStamp(twoOfThree, { signers: [1] }), twoOfThree).status, 'invalid')
  assert.equal(inBrowser(makeStamp(twoOfThree, { signers: [0, 1] }), twoOfThree).status, 'fresh')
  // The stamp key's signature over the same body in the page's domain is not a stamp signature.
  const body = createStamp(page, NOW_S - 60)
  const wrongDomain = signBytes(
    stampKeys[0]!.privateKey,
    signingInput('metatracker/v1/bootpage', new TextEncoder().encode(JSON.stringify(body.stamp))),
  )
  const crossed = { ...body, signatures: [{ key: stampHex[0]!, signature: toHex(wrongDomain) }] }
  assert.ok(codes(crossed).includes('BOOTPAGE_STAMP_BAD_SIGNATURE'))
  assert.equal(STAMP_SIGNING_DOMAIN, 'metatracker/v1/bootpage-stamp')
  assert.equal(stampSigningInput(body.stamp)[0], STAMP_SIGNING_DOMAIN.length)
})

test('a stamp longer than the page allows, or issued in the future, is refused', () => {
  assert.throws(
    () => createStamp(page, NOW_S, 86_401),
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_STAMP_TOO_LONG',
  )
  // Hand-made: a body living 2 days under a page allowing 1.
  const long = createStamp(page, NOW_S - 60)
  long.stamp.expiresAt = long.stamp.issuedAt + 2 * 86_400
  const signed = signStamp(long, stampKeys[0]!.privateKey, stampKeys[0]!.publicKey)
  assert.deepEqual(codes(signed), ['BOOTPAGE_STAMP_TOO_LONG'])
  assert.equal(inBrowser(signed).status, 'invalid')
  const future = makeStamp(page, { issuedAt: NOW_S + 7200, lifetime: 3600 })
  assert.deepEqual(codes(future), ['BOOTPAGE_STAMP_NOT_YET_VALID'])
  assert.equal(inBrowser(future).status, 'invalid')
  // Within the clock skew allowed (3,600 s) it holds.
  assert.deepEqual(codes(makeStamp(page, { issuedAt: NOW_S + 600, lifetime: 3600 })), [])
})

test('an older stamp than the one accepted for the page is refused (BOOTPAGE_STAMP_ROLLBACK)', () => {
  const old = makeStamp(page, { issuedAt: NOW_S - 600 })
  assert.deepEqual(codes(old, page, NOW, NOW_S - 300), ['BOOTPAGE_STAMP_ROLLBACK'])
  assert.deepEqual(codes(old, page, NOW, NOW_S - 600), [])
})

test('small-order stamp keys: refused in the page, and a forgery for one never verifies', () => {
  const identity = '01' + '00'.repeat(31)
  assert.throws(
    () =>
      validatePage({
        ...page,
        freshness: { keys: [{ name: 'x', key: identity }], threshold: 1, maxLifetime: 3600 },
      }),
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_BAD_SHAPE',
  )
  // Even a page object that skipped the shape rules gets nothing from the forgery
  // (A = identity, R = identity, S = 0), which plain RFC 8032 verification accepts.
  const forgedPage: BootpagePage = {
    ...page,
    freshness: { keys: [{ name: 'x', key: identity }], threshold: 1, maxLifetime: 86_400 },
  }
  const body = createStamp(forgedPage, NOW_S - 60)
  const signature = identity + '00'.repeat(32)
  const forged: BootpageStamp = { ...body, signatures: [{ key: identity, signature }] }
  assert.equal(
    nacl.sign.detached.verify(
      stampSigningInput(body.stamp),
      Buffer.from(signature, 'hex'),
      Buffer.from(identity, 'hex'),
    ),
    true,
    'tweetnacl alone accepts the forgery',
  )
  assert.deepEqual(codes(forged, forgedPage), [
    'BOOTPAGE_STAMP_BAD_SIGNATURE',
    'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
  ])
  assert.equal(js.isStrictKeyHex(identity), false)
  assert.equal(inBrowser(forged, forgedPage).status, 'invalid')
})

test('the page shape: stamp keys are not operator keys, unique, bounded; threshold and lifetime in range', () => {
  const bad = (freshness: unknown) => {
    assert.throws(
      () => validatePage({ ...page, freshness }),
      (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_BAD_SHAPE',
      JSON.stringify(freshness).slice(0, 80),
    )
  }
  const good = freshnessOf()
  bad({ ...good, keys: [{ name: 'op', key: operatorHex[0] }] })
  bad({ ...good, keys: [good.keys[0], good.keys[0]] })
  bad({ ...good, threshold: 2 })
  bad({ ...good, maxLifetime: 59 })
  bad({ ...good, maxLifetime: BootpageLimits.STAMP_LIFETIME_MAX + 1 })
  bad({ ...good, url: 'http://x' })
  bad({ ...good, keys: [] })
  assert.deepEqual(validatePage({ ...page, freshness: good }).freshness, good)
  // verify.js holds the same rules (it sees the declaration in every page it checks).
  const browserDoc = (f: unknown) =>
    js.parse(JSON.stringify({ page: { ...page, freshness: f }, signatures: [] }))
  assert.match(
    js.verifyDocument(
      browserDoc({ ...good, keys: [{ name: 'op', key: operatorHex[0] }] }),
      js.nacl,
      NOW,
    ).problems[0] ?? '',
    /not a valid bootpage/,
  )
  assert.doesNotMatch(
    js.verifyDocument(browserDoc(good), js.nacl, NOW).problems[0] ?? '',
    /not a valid/,
  )
})

test('stamp files: size cap, JSON, shape', () => {
  const is = (code: string) => (e: unknown) => isTrackerError(e) && e.code === code
  assert.throws(
    () => parseStamp('x'.repeat(BootpageLimits.STAMP_MAX_BYTES + 1)),
    is('BOOTPAGE_TOO_LARGE'),
  )
  assert.throws(() => parseStamp('{'), is('BOOTPAGE_BAD_JSON'))
  assert.throws(() => parseStamp(Uint8Array.of(0xff, 0xfe)), is('BOOTPAGE_BAD_JSON'))
  const s = makeStamp(page)
  assert.throws(() => parseStamp(JSON.stringify({ ...s, extra: 1 })), is('BOOTPAGE_BAD_SHAPE'))
  assert.throws(
    () => parseStamp(JSON.stringify({ ...s, stamp: { ...s.stamp, expiresAt: s.stamp.issuedAt } })),
    is('BOOTPAGE_BAD_SHAPE'),
  )
})

test('the stamp lives beside its page: stampSourceFor', () => {
  assert.equal(stampSourceFor('site/bootpage.json'), 'site/bootpage.stamp.json')
  assert.equal(stampSourceFor('/x/list'), '/x/list.stamp.json')
  assert.equal(
    stampSourceFor('https://example.org/a/bootpage.json?v=3#x'),
    'https://example.org/a/bootpage.stamp.json',
  )
  assert.equal(stampSourceFor('http://example.org/'), 'http://example.org/bootpage.stamp.json')
  assert.throws(
    () => stampSourceFor('http://[bad/bootpage.json'),
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_STAMP_MISSING',
  )
})

test('chooseStamp: the stamp just read, else a cached one for the same page that holds', () => {
  const now = { now: NOW }
  const fresh = makeStamp(page, { issuedAt: NOW_S - 60 })
  const older = makeStamp(page, { issuedAt: NOW_S - 3600 })
  const missing = new TrackerError('BOOTPAGE_STAMP_MISSING', 'gone')
  assert.equal(chooseStamp(page, fresh, null, now).from, 'source')
  assert.equal(chooseStamp(page, fresh, older, now).from, 'source')
  const fallback = chooseStamp(page, missing, fresh, now)
  assert.equal(fallback.from, 'cache')
  assert.equal(fallback.sourceError?.code, 'BOOTPAGE_STAMP_MISSING')
  // An older stamp than the cached one: refused, the cached one stands.
  const kept = chooseStamp(page, older, fresh, now)
  assert.equal(kept.from, 'cache')
  assert.equal(kept.sourceError?.code, 'BOOTPAGE_STAMP_ROLLBACK')
  // A cached stamp for another page is no proof for this one.
  const otherPage = makePage({ freshness: true, sequence: 2 }).page
  assert.throws(
    () => chooseStamp(page, missing, makeStamp(otherPage), now),
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_STAMP_MISSING',
  )
})

test('verify.js: SHA-256 equals node:crypto; the Freshness row equals the renderer', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const bytes = randomBytes(n)
    assert.equal(
      js.sha256Hex(new Uint8Array(bytes)),
      createHash('sha256').update(bytes).digest('hex'),
      `length ${n}`,
    )
  }
  assert.equal(
    pageDigest(page),
    createHash('sha256').update(bootpageSigningInput(page)).digest('hex'),
  )
  const p = makePage({ freshness: freshnessOf([0, 2], 2, 7200) }).page
  assert.deepEqual(
    JSON.parse(JSON.stringify(js.factRows(js.parse(JSON.stringify(p)) as BootpagePage))),
    factRows(p),
  )
  assert.equal(factRows(p).at(-1)?.[0], 'Freshness')
  assert.equal(factRows(makePage().page).length, 5, 'a page without stamps shows no row')
})
