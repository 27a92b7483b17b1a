import { toHex } from '../../src/crypto/keys.js'
import { createDraft } from '../../src/bootpage/draft.js'
import type {
  BootpageDocument,
  BootpageFreshness,
  BootpagePage,
  BootpageTracker,
} from '../../src/bootpage/schema.js'
import { signBootpage } from '../../src/bootpage/sign.js'
import { type BootpageStamp, createStamp, signStamp } from '../../src/bootpage/stamp.js'
import { testKey } from './keys.js'

/** A fixed "now" for bootpage tests: 2027-01-15T08:00:00Z (ms). */
export const NOW = 1_800_000_000_000
export const NOW_S = NOW / 1000

export const operatorKeys = [testKey(11), testKey(12), testKey(13)]
export const operatorHex = operatorKeys.map(k => toHex(k.publicKey))

export const sampleTrackers: BootpageTracker[] = [
  {
    name: 'alpha',
    operator: 'Alice',
    host: '127.0.0.1',
    udp: 3520,
    tcp: 3520,
    http: 3521,
    location: 'Santa Clara, CA',
    contact: 'alice@example.org',
  },
  { name: 'beta', operator: 'Bob', host: '::1', udp: 4520, tcp: 4521, key: 'ab'.repeat(32) },
  { name: 'gamma', operator: 'Carol', host: 'tracker.example.org', tcp: 5520, notes: 'TCP only' },
]

export interface PageSpec {
  network?: string
  sequence?: number
  issuedAt?: number
  validUntil?: number
  threshold?: number
  /** Indexes into `keys` naming the page's operator set (default 0, 1, 2). */
  operators?: number[]
  /** Indexes into `keys` that sign (default: every operator). */
  signers?: number[]
  trackers?: BootpageTracker[]
  keys?: ReturnType<typeof testKey>[]
  /** The freshness declaration (docs/bootpage.md §9); `true`: stampKeys[0], 1 of 1, 1 day. */
  freshness?: BootpageFreshness | true
}

/** Online freshness-stamp keys (never operator keys). */
export const stampKeys = [testKey(31), testKey(32), testKey(33)]
export const stampHex = stampKeys.map(k => toHex(k.publicKey))

/** A declaration naming stampKeys[indexes], `threshold` of them, stamps up to `maxLifetime` s. */
export function freshnessOf(
  indexes: number[] = [0],
  threshold = 1,
  maxLifetime = 86_400,
): BootpageFreshness {
  return {
    keys: indexes.map(i => ({ name: `stamp${i}`, key: stampHex[i]! })),
    threshold,
    maxLifetime,
  }
}

/** A stamp for `page` issued at `issuedAt` (seconds, default NOW_S - 60), signed by stampKeys[signers]. */
export function makeStamp(
  page: BootpagePage,
  spec: { issuedAt?: number; lifetime?: number; signers?: number[] } = {},
): BootpageStamp {
  let stamp = createStamp(page, spec.issuedAt ?? NOW_S - 60, spec.lifetime)
  for (const i of spec.signers ?? [0])
    stamp = signStamp(stamp, stampKeys[i]!.privateKey, stampKeys[i]!.publicKey)
  return stamp
}

/** A bootpage signed by the given test keys. */
export function makePage(spec: PageSpec = {}): BootpageDocument {
  const keys = spec.keys ?? operatorKeys
  const ops = spec.operators ?? keys.map((_k, i) => i)
  const draft = createDraft({
    network: spec.network ?? 'demo',
    sequence: spec.sequence ?? 1,
    issuedAt: spec.issuedAt ?? NOW_S - 3600,
    validUntil: spec.validUntil ?? NOW_S + 365 * 86_400,
    threshold: spec.threshold ?? ops.length,
    operators: ops.map(i => ({ name: `op${i}`, key: toHex(keys[i]!.publicKey) })),
    trackers: spec.trackers ?? sampleTrackers,
    ...(spec.freshness === undefined
      ? {}
      : { freshness: spec.freshness === true ? freshnessOf() : spec.freshness }),
  })
  let doc = draft
  for (const i of spec.signers ?? ops)
    doc = signBootpage(doc, keys[i]!.privateKey, keys[i]!.publicKey)
  return doc
}
