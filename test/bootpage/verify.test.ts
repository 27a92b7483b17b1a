import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatBootpage, parseBootpage } from '../../src/bootpage/schema.js'
import { bootpageSigningInput } from '../../src/bootpage/sign.js'
import {
  assertValid,
  type BootpageVerdict,
  majority,
  pinnedAnchor,
  verifyBootpage,
} from '../../src/bootpage/verify.js'
import { naclVerify } from '../../src/crypto/nacl.js'
import { isTrackerError } from '../../src/errors.js'
import { NOW, NOW_S, makePage, operatorHex } from '../helpers/bootpage.js'
import { testKey } from '../helpers/keys.js'
import { loadVerifyJs } from '../helpers/verify-js.js'

const pins = pinnedAnchor(operatorHex)
const codes = (v: BootpageVerdict) => v.problems.map(p => p.code)

test('a page signed by all three operators and the pinned keys is valid', () => {
  const doc = makePage()
  const v = verifyBootpage(doc, { now: NOW, anchor: pins, network: 'demo' })
  assert.deepEqual(v.problems, [])
  assert.equal(v.valid, true)
  assert.equal(v.signed, 3)
  assert.deepEqual(v.anchor, { label: 'pinned', required: 2, signed: 3, of: 3 })
  assert.ok(v.operators.every(o => o.signed))
  assert.equal(v.expiresIn, 365 * 86_400)
  assert.match(v.digest, /^[0-9a-f]{64}$/)
  assertValid(v)
})

test('tweetnacl (the browser implementation) verifies the same signatures', () => {
  const doc = makePage()
  const input = bootpageSigningInput(doc.page)
  for (const s of doc.signatures)
    assert.ok(naclVerify(Buffer.from(s.key, 'hex'), input, Buffer.from(s.signature, 'hex')))
})

test('k-1 signatures are refused', () => {
  const v = verifyBootpage(makePage({ threshold: 3, signers: [0, 2] }), { now: NOW, anchor: pins })
  assert.equal(v.valid, false)
  assert.deepEqual(codes(v), ['BOOTPAGE_THRESHOLD_NOT_MET'])
  assert.equal(v.signed, 2)
  assert.throws(
    () => {
      assertValid(v)
    },
    (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_THRESHOLD_NOT_MET',
  )
  // With k = 2 the same two signatures are enough.
  assert.equal(
    verifyBootpage(makePage({ threshold: 2, signers: [0, 2] }), { now: NOW, anchor: pins }).valid,
    true,
  )
})

test('a signature by a key that is not pinned does not count', () => {
  const keys = [testKey(11), testKey(12), testKey(13), testKey(99)]
  // The page names an outsider (key 3) as an operator; it and one pinned operator sign.
  const doc = makePage({ keys, operators: [0, 1, 3], threshold: 2, signers: [0, 3] })
  const own = verifyBootpage(doc, { now: NOW })
  assert.equal(own.valid, true, 'valid on its own terms')
  const v = verifyBootpage(doc, { now: NOW, anchor: pins })
  assert.deepEqual(codes(v), ['BOOTPAGE_NOT_PINNED'])
  assert.deepEqual(v.anchor, { label: 'pinned', required: 2, signed: 1, of: 3 })
  // An extra valid signature from outside the page's operator set is listed but not counted.
  const extra = makePage({ keys, operators: [0, 1, 2], threshold: 3, signers: [0, 1, 3] })
  const ve = verifyBootpage(extra, { now: NOW, anchor: pins })
  assert.deepEqual(codes(ve), ['BOOTPAGE_THRESHOLD_NOT_MET'])
  assert.equal(ve.signed, 2)
  assert.deepEqual(ve.otherSigners, [Buffer.from(keys[3]!.publicKey).toString('hex')])
})

/** Parse + verify; true only when the result is an acceptable page. */
function accepted(text: string | Uint8Array): boolean {
  try {
    return verifyBootpage(parseBootpage(text), { now: NOW, anchor: pins }).valid
  } catch (err) {
    assert.ok(isTrackerError(err) && err.code.startsWith('BOOTPAGE_'), String(err))
    return false
  }
}

test('one changed byte anywhere in bootpage.json is refused (every position)', () => {
  // threshold 2 of 3, signed by all three: even a spare signature may not be damaged.
  const bytes = new TextEncoder().encode(formatBootpage(makePage({ threshold: 2 })))
  assert.ok(accepted(bytes))
  for (let i = 0; i < bytes.byteLength; i++) {
    // xor 1 turns JSON syntax and whitespace invalid, and changes any digit, hex digit or letter.
    const copy = bytes.slice()
    copy[i] = copy[i]! ^ 0x01
    assert.equal(accepted(copy), false, `byte ${i} (${String.fromCharCode(bytes[i]!)}) changed`)
  }
})

test('a damaged signature is reported by key; the page is refused even when k are still good', () => {
  const doc = makePage({ threshold: 1 })
  const sig = doc.signatures[1]!
  const flipped = (parseInt(sig.signature[10]!, 16) ^ 1).toString(16)
  sig.signature = sig.signature.slice(0, 10) + flipped + sig.signature.slice(11)
  const v = verifyBootpage(doc, { now: NOW })
  assert.deepEqual(codes(v), ['BOOTPAGE_BAD_SIGNATURE'])
  assert.deepEqual(v.badSignatures, [sig.key])
  assert.equal(v.signed, 2)
})

test('a signature moved to another key, or over another page, does not verify', () => {
  const doc = makePage()
  const [a, b] = [doc.signatures[0]!, doc.signatures[1]!]
  ;[a.signature, b.signature] = [b.signature, a.signature]
  assert.deepEqual(codes(verifyBootpage(doc, { now: NOW })), [
    'BOOTPAGE_BAD_SIGNATURE',
    'BOOTPAGE_THRESHOLD_NOT_MET',
  ])
  const other = makePage({ sequence: 2 })
  const mixed = { page: makePage().page, signatures: other.signatures }
  assert.equal(verifyBootpage(mixed, { now: NOW }).signed, 0)
})

test('expiry, issue time in the future and network are checked', () => {
  const expired = makePage({ issuedAt: NOW_S - 10_000, validUntil: NOW_S })
  assert.deepEqual(codes(verifyBootpage(expired, { now: NOW })), ['BOOTPAGE_EXPIRED'])
  assert.equal(verifyBootpage(expired, { now: NOW - 1000 }).valid, true)
  const future = makePage({ issuedAt: NOW_S + 3601, validUntil: NOW_S + 86_400 })
  assert.deepEqual(codes(verifyBootpage(future, { now: NOW })), ['BOOTPAGE_NOT_YET_VALID'])
  assert.equal(verifyBootpage(future, { now: NOW, maxSkew: 7200 }).valid, true)
  const slightlyAhead = makePage({ issuedAt: NOW_S + 600 })
  assert.equal(verifyBootpage(slightlyAhead, { now: NOW }).valid, true)
  assert.deepEqual(codes(verifyBootpage(makePage(), { now: NOW, network: 'other' })), [
    'BOOTPAGE_WRONG_NETWORK',
  ])
})

test('pinned anchors: majority by default, explicit thresholds checked', () => {
  assert.equal(majority(1), 1)
  assert.equal(majority(2), 2)
  assert.equal(majority(3), 2)
  assert.equal(majority(4), 3)
  assert.equal(pinnedAnchor(operatorHex, 3).threshold, 3)
  assert.equal(pinnedAnchor([...operatorHex, operatorHex[0]!.toUpperCase()]).keys.length, 3)
  for (const bad of [
    () => pinnedAnchor([]),
    () => pinnedAnchor(['xyz']),
    () => pinnedAnchor(operatorHex, 4),
    () => pinnedAnchor(operatorHex, 0),
  ])
    assert.throws(bad, (e: unknown) => isTrackerError(e) && e.code === 'BOOTPAGE_BAD_SPEC')
})

test('the browser script reaches the same verdicts as verifyBootpage (tweetnacl in a V8 context)', () => {
  const browser = loadVerifyJs()
  const run = (doc: object, now = NOW) =>
    browser.verifyDocument(browser.parse(JSON.stringify(doc)), browser.nacl, now)
  const good = run(makePage({ threshold: 2 }))
  assert.equal(good.ok, true, good.problems.join('; '))
  assert.equal(good.signed, 3)
  const few = run(makePage({ threshold: 3, signers: [0, 1] }))
  assert.deepEqual([...few.problems], ['signed by only 2 of 3 operators, 3 required'])
  const damaged = makePage({ threshold: 1 })
  damaged.signatures[0]!.signature = damaged.signatures[1]!.signature
  assert.deepEqual([...run(damaged).problems], ['1 signature does not verify'])
  assert.equal(run(makePage(), NOW_S * 1000 + 366 * 86_400_000).expired, true)
  const extraKey = { ...makePage(), extra: 1 }
  assert.match(run(extraKey).problems[0]!, /not a valid bootpage/)
  assert.match(
    run({ page: { ...makePage().page, sequence: 1.5 }, signatures: [] }).problems[0]!,
    /bad sequence/,
  )
})
