import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createDraft,
  parseOperatorList,
  parseBootpageTrackerSpec,
} from '../../src/bootpage/draft.js'
import { mergeBootpages, pageDigest, samePage, signBootpage } from '../../src/bootpage/sign.js'
import { verifyBootpage } from '../../src/bootpage/verify.js'
import { isTrackerError } from '../../src/errors.js'
import {
  NOW,
  NOW_S,
  makePage,
  operatorHex,
  operatorKeys,
  sampleTrackers,
} from '../helpers/bootpage.js'

const codeIs = (code: string) => (err: unknown) => isTrackerError(err) && err.code === code

test('signing adds one signature and keeps the others byte for byte, sorted by key', () => {
  const two = makePage({ signers: [0, 2] })
  const [k1] = [operatorKeys[1]!]
  const three = signBootpage(two, k1.privateKey, k1.publicKey)
  assert.equal(three.signatures.length, 3)
  for (const s of two.signatures)
    assert.ok(three.signatures.some(t => t.key === s.key && t.signature === s.signature))
  const keys = three.signatures.map(s => s.key)
  assert.deepEqual(keys, [...keys].sort())
  assert.equal(verifyBootpage(three, { now: NOW }).valid, true)
})

test('signing a signed page again replaces only that operator signature', () => {
  const full = makePage()
  const k0 = operatorKeys[0]!
  const again = signBootpage(full, k0.privateKey, k0.publicKey)
  assert.deepEqual(again, full, 'Ed25519 is deterministic: same page, same signature')
  // A stale signature (over another page) from operator 0 is replaced; others stay untouched.
  const stale = { page: full.page, signatures: full.signatures.map(s => ({ ...s })) }
  const mine = stale.signatures.find(s => s.key === operatorHex[0])!
  mine.signature = makePage({ sequence: 9 }).signatures.find(
    s => s.key === operatorHex[0],
  )!.signature
  assert.equal(verifyBootpage(stale, { now: NOW }).badSignatures.length, 1)
  const fixed = signBootpage(stale, k0.privateKey, k0.publicKey)
  assert.deepEqual(fixed, full)
})

test('merge combines parallel signatures of one page; different pages are refused', () => {
  const a = makePage({ signers: [0] })
  const b = makePage({ signers: [1, 2] })
  const merged = mergeBootpages([a, b, a])
  assert.deepEqual(merged, makePage())
  assert.throws(
    () => mergeBootpages([a, makePage({ sequence: 2, signers: [1] })]),
    codeIs('BOOTPAGE_PAGES_DIFFER'),
  )
  assert.throws(() => mergeBootpages([]), codeIs('BOOTPAGE_PAGES_DIFFER'))
  const forged = makePage({ signers: [0] })
  forged.signatures[0]!.signature = b.signatures[0]!.signature
  assert.throws(() => mergeBootpages([a, forged]), codeIs('BOOTPAGE_PAGES_DIFFER'))
})

test('samePage and pageDigest ignore key order and signatures', () => {
  const a = makePage()
  const reordered = JSON.parse(JSON.stringify({ ...a.page, version: undefined })) as Record<
    string,
    unknown
  >
  const b = { version: 1, ...reordered } as unknown as typeof a.page
  assert.ok(samePage(a.page, b))
  assert.equal(pageDigest(a.page), pageDigest(b))
  assert.notEqual(pageDigest(a.page), pageDigest(makePage({ sequence: 2 }).page))
})

test('tracker specs: fields, port=, escaped commas, defaults and errors', () => {
  assert.deepEqual(
    parseBootpageTrackerSpec(
      'name=alpha,host=198.51.100.7,port=3520,http=3521,location=Santa Clara\\, CA,key=' +
        'ab'.repeat(32),
      'Alice',
    ),
    {
      name: 'alpha',
      host: '198.51.100.7',
      udp: 3520,
      tcp: 3520,
      http: 3521,
      location: 'Santa Clara, CA',
      key: 'ab'.repeat(32),
      operator: 'Alice',
    },
  )
  assert.deepEqual(parseBootpageTrackerSpec('name=b,operator=Bob,host=::1,udp=1,port=9'), {
    name: 'b',
    operator: 'Bob',
    host: '::1',
    udp: 1,
    tcp: 9,
  })
  for (const bad of [
    'host=a',
    'name=a',
    'name=a,host=b,udp=x',
    'name=a,host=b,udp=123456',
    'name=a,host=b,colour=red',
    'name=a,name=b,host=c',
    'name=a,host=b,oops',
  ])
    assert.throws(() => parseBootpageTrackerSpec(bad, 'Op'), codeIs('BOOTPAGE_BAD_SPEC'), bad)
  assert.throws(() => parseBootpageTrackerSpec('name=a,host=b,udp=1'), codeIs('BOOTPAGE_BAD_SPEC'))
})

test('operator lists: files with comments, name=HEX and comma lists', () => {
  const [a, b, c] = operatorHex as [string, string, string]
  assert.deepEqual(
    parseOperatorList(`# operators\n${a}  Alice Example\n\n${b.toUpperCase()} bob # lead\n${c}\n`),
    [
      { key: a, name: 'Alice Example' },
      { key: b, name: 'bob' },
      { key: c, name: c.slice(0, 8) },
    ],
  )
  assert.deepEqual(parseOperatorList(`alice=${a},${b}`), [
    { key: a, name: 'alice' },
    { key: b, name: b.slice(0, 8) },
  ])
  assert.throws(() => parseOperatorList('not-a-key'), codeIs('BOOTPAGE_BAD_SPEC'))
})

test('drafts are validated, with a majority threshold by default', () => {
  const draft = createDraft({
    network: 'demo',
    trackers: sampleTrackers,
    operators: operatorHex.map((key, i) => ({ name: `op${i}`, key })),
    issuedAt: NOW_S,
    validUntil: NOW_S + 86_400,
  })
  assert.equal(draft.page.threshold, 2)
  assert.equal(draft.page.sequence, 1)
  assert.deepEqual(draft.signatures, [])
  assert.throws(
    () => createDraft({ network: 'demo', trackers: [], operators: [], issuedAt: 1, validUntil: 2 }),
    codeIs('BOOTPAGE_BAD_SHAPE'),
  )
})
