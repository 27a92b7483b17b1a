import { z } from 'zod'
import { isStrictPublicKeyHex } from '../crypto/strict.js'
import { TrackerError } from '../errors.js'
import { parseIp } from '../wire/endpoint.js'
import { isValidNetwork } from '../wire/record.js'

/** docs/bootpage.md §3: every cap of the format. */
export const BootpageLimits = {
  /** Largest bootpage.json accepted, in bytes (a full page is about 60 KiB). */
  MAX_BYTES: 256 * 1024,
  TRACKERS_MAX: 64,
  OPERATORS_MAX: 16,
  /** The page's own operators plus, during a rotation, the previous set. */
  SIGNATURES_MAX: 32,
  NAME_MAX: 64,
  OPERATOR_MAX: 128,
  LOCATION_MAX: 128,
  CONTACT_MAX: 256,
  NOTES_MAX: 256,
  HOST_MAX: 253,
  /** Times are Unix seconds that fit a u32 (as in node records). */
  TIME_MAX: 0xffff_ffff,
  /** Freshness stamps (docs/bootpage.md §9): online keys a page may delegate. */
  STAMP_KEYS_MAX: 8,
  /** Largest bootpage.stamp.json accepted, in bytes (TUF's timestamp cap). */
  STAMP_MAX_BYTES: 16 * 1024,
  /** Bounds of a page's maxLifetime for its stamps, seconds (1 minute .. 7 days). */
  STAMP_LIFETIME_MIN: 60,
  STAMP_LIFETIME_MAX: 7 * 86_400,
} as const

export const BOOTPAGE_VERSION = 1

/** One tracker as the page lists it. Absent ports are not offered. */
export interface BootpageTracker {
  name: string
  operator: string
  host: string
  udp?: number
  tcp?: number
  http?: number
  /** The tracker's Ed25519 public key, 64 lowercase hex digits. */
  key?: string
  location?: string
  contact?: string
  notes?: string
}

export interface BootpageOperator {
  name: string
  /** Ed25519 public key, 64 lowercase hex digits. */
  key: string
}

/**
 * The optional freshness declaration (docs/bootpage.md §9): clients then require a stamp signed
 * by `threshold` of these online keys, at most `maxLifetime` seconds long.
 */
export interface BootpageFreshness {
  keys: BootpageOperator[]
  threshold: number
  /** Seconds. */
  maxLifetime: number
}

/** The signed part of a bootpage. */
export interface BootpagePage {
  version: number
  network: string
  sequence: number
  issuedAt: number
  validUntil: number
  threshold: number
  operators: BootpageOperator[]
  trackers: BootpageTracker[]
  freshness?: BootpageFreshness
}

export interface BootpageSignature {
  key: string
  signature: string
}

/** bootpage.json: the page and the operators' signatures over its canonical bytes. */
export interface BootpageDocument {
  page: BootpagePage
  signatures: BootpageSignature[]
}

// Control characters and the bidirectional overrides/isolates (which can make a listing read
// differently from what it says) are refused in every string.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/** True when `host` is a lowercase DNS name or an IPv4/IPv6 literal (without brackets). */
export function isValidHost(host: string): boolean {
  if (host.length > BootpageLimits.HOST_MAX) return false
  if (host.includes(':')) return parseIp(host) !== null
  if (/^[0-9.]+$/.test(host)) return parseIp(host) !== null
  return HOSTNAME.test(host)
}

const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine(s => s.isWellFormed() && !FORBIDDEN_CHARS.test(s), {
      message: 'holds a control character, a bidi override or a lone surrogate',
    })
const port = z.number().int().min(1).max(65535)
const time = z.number().int().min(0).max(BootpageLimits.TIME_MAX)
const hexKey = z.string().regex(HEX64, 'must be 64 lowercase hex digits')
/** A key the page names (operator, tracker): also a usable Ed25519 key (docs/bootpage.md §4). */
const publicKey = hexKey.refine(isStrictPublicKeyHex, {
  message: 'is not a usable Ed25519 public key (small order or non-canonical)',
})

const trackerSchema = z
  .strictObject({
    name: text(1, BootpageLimits.NAME_MAX),
    operator: text(1, BootpageLimits.OPERATOR_MAX),
    host: z.string().max(BootpageLimits.HOST_MAX).refine(isValidHost, {
      message: 'must be a lowercase DNS name or an IP address',
    }),
    udp: port.optional(),
    tcp: port.optional(),
    http: port.optional(),
    key: publicKey.optional(),
    location: text(1, BootpageLimits.LOCATION_MAX).optional(),
    contact: text(1, BootpageLimits.CONTACT_MAX).optional(),
    notes: text(1, BootpageLimits.NOTES_MAX).optional(),
  })
  .refine(t => t.udp !== undefined || t.tcp !== undefined, {
    message: 'a tracker needs a udp or a tcp port',
  })

const operatorSchema = z.strictObject({
  name: text(1, BootpageLimits.NAME_MAX),
  key: publicKey,
})

const unique = <T>(items: readonly T[], id: (item: T) => string): boolean =>
  new Set(items.map(id)).size === items.length

const freshnessSchema = z
  .strictObject({
    keys: z.array(operatorSchema).min(1).max(BootpageLimits.STAMP_KEYS_MAX),
    threshold: z.number().int().min(1).max(BootpageLimits.STAMP_KEYS_MAX),
    maxLifetime: z
      .number()
      .int()
      .min(BootpageLimits.STAMP_LIFETIME_MIN)
      .max(BootpageLimits.STAMP_LIFETIME_MAX),
  })
  .refine(f => f.threshold <= f.keys.length, {
    message: 'threshold exceeds the number of stamp keys',
    path: ['threshold'],
  })
  .refine(f => unique(f.keys, k => k.key), {
    message: 'a stamp key is listed twice',
    path: ['keys'],
  })

export const pageSchema = z
  .strictObject({
    version: z.literal(BOOTPAGE_VERSION),
    network: z.string().refine(isValidNetwork, {
      message: 'must be 1-32 characters of [a-z0-9._-], starting with a letter or digit',
    }),
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    issuedAt: time,
    validUntil: time,
    threshold: z.number().int().min(1).max(BootpageLimits.OPERATORS_MAX),
    operators: z.array(operatorSchema).min(1).max(BootpageLimits.OPERATORS_MAX),
    trackers: z.array(trackerSchema).min(1).max(BootpageLimits.TRACKERS_MAX),
    freshness: freshnessSchema.optional(),
  })
  .refine(p => p.validUntil > p.issuedAt, {
    message: 'validUntil must be after issuedAt',
    path: ['validUntil'],
  })
  .refine(p => p.threshold <= p.operators.length, {
    message: 'threshold exceeds the number of operators',
    path: ['threshold'],
  })
  .refine(p => unique(p.operators, o => o.key), {
    message: 'an operator key is listed twice',
    path: ['operators'],
  })
  .refine(p => unique(p.trackers, t => t.name), {
    message: 'a tracker name is listed twice',
    path: ['trackers'],
  })
  // The stamp keys are online; the operator keys stay offline (docs/bootpage.md §9).
  .refine(p => !(p.freshness?.keys ?? []).some(k => p.operators.some(o => o.key === k.key)), {
    message: 'a stamp key is also an operator key',
    path: ['freshness', 'keys'],
  })

const signatureSchema = z.strictObject({
  key: hexKey,
  signature: z.string().regex(HEX128, 'must be 128 lowercase hex digits'),
})

export const documentSchema = z.strictObject({
  page: pageSchema,
  signatures: z
    .array(signatureSchema)
    .max(BootpageLimits.SIGNATURES_MAX)
    .refine(s => unique(s, x => x.key), { message: 'a key signed twice' }),
})

/** A short, bounded description of the first problem zod found (never echoes long input). */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid'
  const path = issue.path.map(p => String(p).slice(0, 40)).join('.')
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''
  return `${path === '' ? '(top)' : path}: ${issue.message.slice(0, 160)}${more}`
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (!result.success) {
    throw new TrackerError('BOOTPAGE_BAD_SHAPE', `${what}: ${describeIssue(result.error)}`)
  }
  return result.data
}

/** Drop keys whose value is undefined (zod may add them) so objects canonicalise cleanly. */
function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T
}

function normalisePage(p: z.infer<typeof pageSchema>): BootpagePage {
  const { freshness, ...rest } = p
  const page: BootpagePage = {
    ...rest,
    operators: p.operators.map(o => ({ name: o.name, key: o.key })),
    trackers: p.trackers.map(t => compact(t) as BootpageTracker),
  }
  if (freshness !== undefined) {
    page.freshness = {
      keys: freshness.keys.map(k => ({ name: k.name, key: k.key })),
      threshold: freshness.threshold,
      maxLifetime: freshness.maxLifetime,
    }
  }
  return page
}

/** Validate a parsed value as a bootpage page (the signed part). */
export function validatePage(value: unknown): BootpagePage {
  return normalisePage(check(pageSchema, value, 'page'))
}

/** Validate a parsed value as a whole bootpage document. */
export function validateDocument(value: unknown): BootpageDocument {
  const doc = check(documentSchema, value, 'bootpage')
  return {
    page: normalisePage(doc.page),
    signatures: doc.signatures.map(s => ({ key: s.key, signature: s.signature })),
  }
}

/**
 * Parse bootpage.json from text or bytes. Throws only TrackerError: BOOTPAGE_TOO_LARGE,
 * BOOTPAGE_BAD_JSON (not UTF-8 or not JSON) or BOOTPAGE_BAD_SHAPE.
 */
export function parseBootpage(input: string | Uint8Array): BootpageDocument {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength
  if (size > BootpageLimits.MAX_BYTES) {
    throw new TrackerError(
      'BOOTPAGE_TOO_LARGE',
      `bootpage is ${size} bytes, the cap is ${BootpageLimits.MAX_BYTES}`,
    )
  }
  let textInput: string
  if (typeof input === 'string') {
    textInput = input
  } else {
    try {
      textInput = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input)
    } catch {
      throw new TrackerError('BOOTPAGE_BAD_JSON', 'bootpage is not valid UTF-8')
    }
  }
  let value: unknown
  try {
    value = JSON.parse(textInput)
  } catch {
    throw new TrackerError('BOOTPAGE_BAD_JSON', 'bootpage is not valid JSON')
  }
  return validateDocument(value)
}

/** bootpage.json as written by the tools: two-space indentation, a final newline. */
export function formatBootpage(doc: BootpageDocument): string {
  return JSON.stringify(doc, null, 2) + '\n'
}
