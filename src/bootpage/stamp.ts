import type { KeyObject } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import { signBytes, verifyBytes } from '../crypto/ed25519.js'
import { toHex } from '../crypto/keys.js'
import { TrackerError } from '../errors.js'
import { signingInput } from '../wire/signing.js'
import { canonicalBytes } from './canonical.js'
import {
  BOOTPAGE_VERSION,
  type BootpagePage,
  type BootpageSignature,
  BootpageLimits,
} from './schema.js'
import { pageDigest } from './sign.js'
import { BOOTPAGE_MAX_SKEW, type BootpageProblem, isoTime } from './verify.js'

/**
 * Freshness stamps (docs/bootpage.md §9), TUF's timestamp role: a small document signed by the
 * online keys a page delegates, binding that exact page (its digest, sequence and network) to a
 * short expiry. A client that requires one cannot be kept on an old page for longer than a
 * stamp lives, though the page itself is valid for months.
 */

/** docs/bootpage.md §9: the signing domain of a stamp (never a page's or a record's). */
export const STAMP_SIGNING_DOMAIN = 'metatracker/v1/bootpage-stamp'

/** The signed part of a stamp. */
export interface StampBody {
  version: number
  network: string
  /** The stamped page's sequence. */
  sequence: number
  /** The stamped page's digest: SHA-256 of its signing input, 64 hex digits (§4). */
  page: string
  /** Unix seconds. */
  issuedAt: number
  /** Unix seconds, after issuedAt. */
  expiresAt: number
}

/** bootpage.stamp.json. */
export interface BootpageStamp {
  stamp: StampBody
  signatures: BootpageSignature[]
}

const HEX64 = /^[0-9a-f]{64}$/
const time = z.number().int().min(0).max(BootpageLimits.TIME_MAX)

const stampSchema = z.strictObject({
  stamp: z
    .strictObject({
      version: z.literal(BOOTPAGE_VERSION),
      network: z.string().min(1).max(32),
      sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
      page: z.string().regex(HEX64, 'must be 64 lowercase hex digits'),
      issuedAt: time,
      expiresAt: time,
    })
    .refine(s => s.expiresAt > s.issuedAt, {
      message: 'expiresAt must be after issuedAt',
      path: ['expiresAt'],
    }),
  signatures: z
    .array(
      z.strictObject({
        key: z.string().regex(HEX64, 'must be 64 lowercase hex digits'),
        signature: z.string().regex(/^[0-9a-f]{128}$/, 'must be 128 lowercase hex digits'),
      }),
    )
    .max(BootpageLimits.STAMP_KEYS_MAX)
    .refine(s => new Set(s.map(x => x.key)).size === s.length, { message: 'a key signed twice' }),
})

/**
 * Parse bootpage.stamp.json (not verify). Throws BOOTPAGE_TOO_LARGE (over 16 KiB),
 * BOOTPAGE_BAD_JSON or BOOTPAGE_BAD_SHAPE, each message starting with "stamp".
 */
export function parseStamp(input: string | Uint8Array): BootpageStamp {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input
  if (bytes.byteLength > BootpageLimits.STAMP_MAX_BYTES) {
    throw new TrackerError(
      'BOOTPAGE_TOO_LARGE',
      `stamp is ${bytes.byteLength} bytes, the cap is ${BootpageLimits.STAMP_MAX_BYTES}`,
    )
  }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes))
  } catch {
    throw new TrackerError('BOOTPAGE_BAD_JSON', 'stamp is not UTF-8 JSON')
  }
  const result = stampSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    const path = issue?.path.map(p => String(p).slice(0, 40)).join('.') ?? ''
    throw new TrackerError(
      'BOOTPAGE_BAD_SHAPE',
      `stamp: ${path === '' ? '(top)' : path}: ${(issue?.message ?? 'invalid').slice(0, 160)}`,
    )
  }
  const { stamp, signatures } = result.data
  return {
    stamp: { ...stamp },
    signatures: signatures.map(s => ({ key: s.key, signature: s.signature })),
  }
}

/** bootpage.stamp.json as the tools write it: two-space indentation, a final newline. */
export function formatStamp(stamp: BootpageStamp): string {
  return JSON.stringify(stamp, null, 2) + '\n'
}

/** u8(len(domain)) || domain || JCS(stamp body). */
export function stampSigningInput(body: StampBody): Uint8Array {
  return signingInput(STAMP_SIGNING_DOMAIN, canonicalBytes(body))
}

/**
 * An unsigned stamp for `page`, issued at `issuedAt` (Unix seconds) for `lifetime` seconds,
 * cut at the page's validUntil. Throws BOOTPAGE_BAD_SPEC when the page declares no stamps, and
 * BOOTPAGE_STAMP_TOO_LONG when the lifetime exceeds the page's maxLifetime.
 */
export function createStamp(
  page: BootpagePage,
  issuedAt: number,
  lifetime?: number,
): BootpageStamp {
  const freshness = page.freshness
  if (freshness === undefined)
    throw new TrackerError('BOOTPAGE_BAD_SPEC', 'the page declares no freshness stamps')
  const seconds = lifetime ?? freshness.maxLifetime
  if (!Number.isSafeInteger(seconds) || seconds < 1)
    throw new TrackerError('BOOTPAGE_BAD_SPEC', 'a stamp lifetime is a positive number of seconds')
  if (seconds > freshness.maxLifetime) {
    throw new TrackerError(
      'BOOTPAGE_STAMP_TOO_LONG',
      `a lifetime of ${seconds} s exceeds the page's maxLifetime of ${freshness.maxLifetime} s`,
    )
  }
  const expiresAt = Math.min(issuedAt + seconds, page.validUntil)
  if (expiresAt <= issuedAt)
    throw new TrackerError('BOOTPAGE_EXPIRED', `the page expired at ${isoTime(page.validUntil)}`)
  const stamp: StampBody = {
    version: BOOTPAGE_VERSION,
    network: page.network,
    sequence: page.sequence,
    page: pageDigest(page),
    issuedAt,
    expiresAt,
  }
  return { stamp, signatures: [] }
}

/** Add (or replace) one stamp key's signature; signatures stay sorted by key. */
export function signStamp(
  stamp: BootpageStamp,
  privateKey: KeyObject,
  publicKey: Uint8Array,
): BootpageStamp {
  const key = toHex(publicKey)
  const signature = toHex(signBytes(privateKey, stampSigningInput(stamp.stamp)))
  const signatures = [...stamp.signatures.filter(s => s.key !== key), { key, signature }].sort(
    (x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0),
  )
  return { stamp: stamp.stamp, signatures }
}

export interface StampVerifyOptions {
  /** Milliseconds since the epoch (from the injected Clock). */
  now: number
  /** Seconds issuedAt may lie in the future (default 3600). */
  maxSkew?: number
  /** The issuedAt of the newest stamp already accepted for this page: older ones are refused. */
  notBefore?: number
}

export interface StampVerdict {
  valid: boolean
  /** 'fresh': valid; 'stale': only expired; 'invalid': anything else wrong. */
  status: 'fresh' | 'stale' | 'invalid'
  /** Empty when valid; otherwise every reason, most important first. */
  problems: BootpageProblem[]
  issuedAt: number
  /** min(stamp expiresAt, page validUntil), Unix seconds. */
  expiresAt: number
  /** Seconds until expiresAt (negative once expired). */
  expiresIn: number
  threshold: number
  keys: { name: string; key: string; signed: boolean }[]
  signed: number
}

/**
 * Check a stamp against the (already verified) page it should stamp: it names this page
 * (network, sequence, digest), every signature verifies under the strict rule and is by a stamp
 * key the page declares, `threshold` of them signed, it is no longer than the page allows, not
 * issued in the future, not older than `notBefore`, and not expired. Never throws for content.
 */
export function verifyStamp(
  stamp: BootpageStamp,
  page: BootpagePage,
  options: StampVerifyOptions,
): StampVerdict {
  const problems: BootpageProblem[] = []
  const body = stamp.stamp
  const freshness = page.freshness
  const declared = freshness?.keys ?? []
  const nowSeconds = Math.floor(options.now / 1000)
  const expiresAt = Math.min(body.expiresAt, page.validUntil)
  const fail = (code: BootpageProblem['code'], message: string) => problems.push({ code, message })

  if (freshness === undefined) fail('BOOTPAGE_STAMP_WRONG_PAGE', 'the page declares no stamps')
  const digest = pageDigest(page)
  if (body.network !== page.network || body.sequence !== page.sequence || body.page !== digest) {
    fail(
      'BOOTPAGE_STAMP_WRONG_PAGE',
      `the stamp is for ${body.network.slice(0, 32)} sequence ${body.sequence} (digest ` +
        `${body.page.slice(0, 16)}), the page is ${page.network} sequence ${page.sequence} ` +
        `(digest ${digest.slice(0, 16)})`,
    )
  }
  const input = stampSigningInput(body)
  const good = new Set<string>()
  const bad: string[] = []
  for (const s of stamp.signatures) {
    const known = declared.some(k => k.key === s.key)
    const ok =
      known && verifyBytes(Buffer.from(s.key, 'hex'), input, Buffer.from(s.signature, 'hex'))
    if (ok) good.add(s.key)
    else bad.push(s.key)
  }
  if (bad.length > 0) {
    fail(
      'BOOTPAGE_STAMP_BAD_SIGNATURE',
      `${bad.length} stamp signature(s) do not verify or are by no stamp key of the page: ` +
        bad.map(k => k.slice(0, 16)).join(', '),
    )
  }
  const keys = declared.map(k => ({ name: k.name, key: k.key, signed: good.has(k.key) }))
  const signed = keys.filter(k => k.signed).length
  const threshold = freshness?.threshold ?? 1
  if (signed < threshold) {
    fail(
      'BOOTPAGE_STAMP_THRESHOLD_NOT_MET',
      `stamp signed by ${signed} of ${keys.length} stamp keys, ${threshold} required`,
    )
  }
  if (freshness !== undefined && body.expiresAt - body.issuedAt > freshness.maxLifetime) {
    fail(
      'BOOTPAGE_STAMP_TOO_LONG',
      `the stamp lives ${body.expiresAt - body.issuedAt} s, the page allows ${freshness.maxLifetime} s`,
    )
  }
  if (body.issuedAt > nowSeconds + (options.maxSkew ?? BOOTPAGE_MAX_SKEW)) {
    fail('BOOTPAGE_STAMP_NOT_YET_VALID', `stamp issued at ${isoTime(body.issuedAt)}, in the future`)
  }
  if (options.notBefore !== undefined && body.issuedAt < options.notBefore) {
    fail(
      'BOOTPAGE_STAMP_ROLLBACK',
      `stamp issued at ${isoTime(body.issuedAt)}, older than the accepted one of ${isoTime(options.notBefore)}`,
    )
  }
  const expiresIn = expiresAt - nowSeconds
  if (expiresIn <= 0) fail('BOOTPAGE_STAMP_EXPIRED', `stamp expired at ${isoTime(expiresAt)}`)
  const onlyExpired = problems.length === 1 && problems[0]?.code === 'BOOTPAGE_STAMP_EXPIRED'
  return {
    valid: problems.length === 0,
    status: problems.length === 0 ? 'fresh' : onlyExpired ? 'stale' : 'invalid',
    problems,
    issuedAt: body.issuedAt,
    expiresAt,
    expiresIn,
    threshold,
    keys,
    signed,
  }
}

/**
 * Where the stamp of a page source is (docs/bootpage.md §9): beside it, named after it with
 * `.json` replaced by `.stamp.json` (`bootpage.json` → `bootpage.stamp.json`); `.stamp.json`
 * is appended to other names, and a URL path ending in `/` gets `bootpage.stamp.json`. A URL's
 * query and fragment are dropped. An unparsable URL is BOOTPAGE_STAMP_MISSING.
 */
export function stampSourceFor(source: string): string {
  const rename = (name: string): string =>
    name === ''
      ? 'bootpage.stamp.json'
      : name.endsWith('.json')
        ? `${name.slice(0, -'.json'.length)}.stamp.json`
        : `${name}.stamp.json`
  if (/^https?:\/\//i.test(source)) {
    let url: URL
    try {
      url = new URL(source)
    } catch {
      throw new TrackerError('BOOTPAGE_STAMP_MISSING', `no stamp beside ${source.slice(0, 200)}`)
    }
    const cut = url.pathname.lastIndexOf('/')
    url.pathname = url.pathname.slice(0, cut + 1) + rename(url.pathname.slice(cut + 1))
    url.search = ''
    url.hash = ''
    return url.href
  }
  return join(dirname(source), rename(basename(source)))
}

/** The stamp that makes a page fresh, and where it came from. */
export interface ChosenStamp {
  stamp: BootpageStamp
  verdict: StampVerdict
  /** 'source' when the stamp just read holds; 'cache' when the one kept from before does. */
  from: 'source' | 'cache'
  /** Why the stamp just read was not used (when from is 'cache'). */
  sourceError?: TrackerError
}

/**
 * Choose the stamp that proves `page` fresh (docs/bootpage.md §9): the stamp just read (or the
 * error reading it), unless it fails; then the cached stamp, if it is for this page and still
 * holds. A stamp older than the cached one for the same page is refused (BOOTPAGE_STAMP_ROLLBACK).
 * Throws the first reason the stamp just read failed when neither holds.
 */
export function chooseStamp(
  page: BootpagePage,
  read: BootpageStamp | TrackerError,
  cached: BootpageStamp | null,
  options: { now: number; maxSkew?: number },
): ChosenStamp {
  const forPage = cached !== null && cached.stamp.page === pageDigest(page) ? cached : null
  let error: TrackerError
  if (read instanceof TrackerError) {
    error = read
  } else {
    const verdict = verifyStamp(read, page, {
      ...options,
      ...(forPage === null ? {} : { notBefore: forPage.stamp.issuedAt }),
    })
    if (verdict.valid) return { stamp: read, verdict, from: 'source' }
    const first = verdict.problems[0]
    error = new TrackerError(first?.code ?? 'BOOTPAGE_STAMP_MISSING', first?.message)
  }
  if (forPage !== null) {
    const verdict = verifyStamp(forPage, page, options)
    if (verdict.valid) return { stamp: forPage, verdict, from: 'cache', sourceError: error }
  }
  throw error
}
