import { verifyBytes } from '../crypto/ed25519.js'
import { isStrictPublicKeyHex } from '../crypto/strict.js'
import { type ErrorCode, TrackerError } from '../errors.js'
import type { BootpageDocument } from './schema.js'
import { bootpageSigningInput, pageDigest } from './sign.js'

/**
 * A set of keys whose threshold must have signed a page: the pinned keys a client ships with,
 * or the operator set of the page it accepted last (key chaining, docs/bootpage.md §6).
 */
export interface TrustAnchor {
  /** 64-hex Ed25519 public keys. */
  keys: readonly string[]
  threshold: number
  /** How reports name it: 'pinned' or 'current'. */
  label: string
}

/** Default clock skew allowed on issuedAt, seconds. */
export const BOOTPAGE_MAX_SKEW = 3600

export interface VerifyOptions {
  /** Milliseconds since the epoch (from the injected Clock). */
  now: number
  anchor?: TrustAnchor | null
  /** When set, a page for another network is refused. */
  network?: string
  /** Seconds issuedAt may lie in the future (default 3600). */
  maxSkew?: number
}

export interface BootpageProblem {
  code: ErrorCode
  message: string
}

export interface BootpageVerdict {
  valid: boolean
  /** Empty when valid; otherwise every reason, most important first. */
  problems: BootpageProblem[]
  network: string
  sequence: number
  issuedAt: number
  validUntil: number
  /** Seconds until validUntil (negative once expired). */
  expiresIn: number
  threshold: number
  operators: { name: string; key: string; signed: boolean }[]
  /** How many of the page's own operators signed it. */
  signed: number
  /** Keys outside the page's operator set with a valid signature (a previous set, rotating). */
  otherSigners: string[]
  /** Keys whose signature does not verify. */
  badSignatures: string[]
  anchor: { label: string; required: number; signed: number; of: number } | null
  /** SHA-256 of the signing input (hex). */
  digest: string
}

/** Tor's rule: more than half of the pinned keys. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1
}

/** A trust anchor from pinned keys; the threshold defaults to a majority of them. */
export function pinnedAnchor(keys: readonly string[], threshold?: number): TrustAnchor {
  const unique = [...new Set(keys.map(k => k.toLowerCase()))]
  if (unique.length === 0) throw new TrackerError('BOOTPAGE_BAD_SPEC', 'no pinned keys')
  for (const k of unique) {
    if (!/^[0-9a-f]{64}$/.test(k))
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `not a public key: ${k.slice(0, 80)}`)
    // A key of small order could "sign" anything (docs/bootpage.md §4): never pin one.
    if (!isStrictPublicKeyHex(k))
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `not a usable Ed25519 public key: ${k}`)
  }
  const k = threshold ?? majority(unique.length)
  if (!Number.isInteger(k) || k < 1 || k > unique.length) {
    throw new TrackerError(
      'BOOTPAGE_BAD_SPEC',
      `pin threshold must be 1..${unique.length}, got ${String(threshold)}`,
    )
  }
  return { keys: unique, threshold: k, label: 'pinned' }
}

/** The operator set of an accepted page, as the anchor for its successor. */
export function currentAnchor(doc: BootpageDocument): TrustAnchor {
  return {
    keys: doc.page.operators.map(o => o.key),
    threshold: doc.page.threshold,
    label: 'current',
  }
}

/**
 * Check a (shape-valid) bootpage: every signature verifies over the page's signing input under
 * the strict rule (verifyBytes: a key or R of small order or non-canonical, or S >= L, never
 * verifies, docs/bootpage.md §4), at
 * least `threshold` of its own operators signed, the anchor's threshold signed (when given),
 * it is for the expected network, issued (within the skew) and not expired. Never throws for
 * content: everything wrong is a problem in the verdict.
 */
export function verifyBootpage(doc: BootpageDocument, options: VerifyOptions): BootpageVerdict {
  const { page } = doc
  const problems: BootpageProblem[] = []
  const input = bootpageSigningInput(page)
  const good = new Set<string>()
  const badSignatures: string[] = []
  for (const s of doc.signatures) {
    const ok = verifyBytes(Buffer.from(s.key, 'hex'), input, Buffer.from(s.signature, 'hex'))
    if (ok) good.add(s.key)
    else badSignatures.push(s.key)
  }
  if (badSignatures.length > 0) {
    problems.push({
      code: 'BOOTPAGE_BAD_SIGNATURE',
      message: `${badSignatures.length} signature(s) do not verify: ${badSignatures.map(k => k.slice(0, 16)).join(', ')}`,
    })
  }
  const operators = page.operators.map(o => ({ name: o.name, key: o.key, signed: good.has(o.key) }))
  const signed = operators.filter(o => o.signed).length
  const own = new Set(page.operators.map(o => o.key))
  const otherSigners = [...good].filter(k => !own.has(k))
  if (signed < page.threshold) {
    problems.push({
      code: 'BOOTPAGE_THRESHOLD_NOT_MET',
      message: `signed by ${signed} of ${operators.length} operators, ${page.threshold} required`,
    })
  }
  let anchor: BootpageVerdict['anchor'] = null
  if (options.anchor != null) {
    const a = options.anchor
    const anchorSigned = a.keys.filter(k => good.has(k)).length
    anchor = { label: a.label, required: a.threshold, signed: anchorSigned, of: a.keys.length }
    if (anchorSigned < a.threshold) {
      problems.push({
        code: 'BOOTPAGE_NOT_PINNED',
        message: `signed by ${anchorSigned} of ${a.keys.length} ${a.label} keys, ${a.threshold} required`,
      })
    }
  }
  if (options.network !== undefined && page.network !== options.network) {
    problems.push({
      code: 'BOOTPAGE_WRONG_NETWORK',
      message: `the page is for network ${page.network}, expected ${options.network}`,
    })
  }
  const nowSeconds = Math.floor(options.now / 1000)
  const expiresIn = page.validUntil - nowSeconds
  if (expiresIn <= 0) {
    problems.push({
      code: 'BOOTPAGE_EXPIRED',
      message: `expired at ${isoTime(page.validUntil)}`,
    })
  }
  if (page.issuedAt > nowSeconds + (options.maxSkew ?? BOOTPAGE_MAX_SKEW)) {
    problems.push({
      code: 'BOOTPAGE_NOT_YET_VALID',
      message: `issued at ${isoTime(page.issuedAt)}, in the future`,
    })
  }
  return {
    valid: problems.length === 0,
    problems,
    network: page.network,
    sequence: page.sequence,
    issuedAt: page.issuedAt,
    validUntil: page.validUntil,
    expiresIn,
    threshold: page.threshold,
    operators,
    signed,
    otherSigners,
    badSignatures,
    anchor,
    digest: pageDigest(page),
  }
}

/** Throw the verdict's first problem as a TrackerError (no-op when valid). */
export function assertValid(verdict: BootpageVerdict): void {
  const first = verdict.problems[0]
  if (first !== undefined) throw new TrackerError(first.code, first.message)
}

/** Unix seconds as an ISO 8601 UTC time without milliseconds. */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
}
