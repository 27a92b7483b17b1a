import { readFile } from 'node:fs/promises'
import { writeBootpageFile } from '../../bootpage/build.js'
import type { BootpageDocument, BootpageFreshness } from '../../bootpage/schema.js'
import {
  type BootpageStamp,
  type StampVerdict,
  createStamp,
  formatStamp,
  parseStamp,
  signStamp,
  stampSourceFor,
  verifyStamp,
} from '../../bootpage/stamp.js'
import { pageDigest } from '../../bootpage/sign.js'
import { isoTime, verifyBootpage } from '../../bootpage/verify.js'
import { readBootpageSource, readStampSource } from '../../client/bootpage-source.js'
import { systemClock } from '../../clock.js'
import { keyPairFrom, readPrivateKeyFile, toHex } from '../../crypto/keys.js'
import { isTrackerError, TrackerError } from '../../errors.js'
import type { CliIo } from '../io.js'
import { readKeyList } from '../key-list.js'

/**
 * The freshness-stamp side of `metatracker bootpage` (docs/bootpage.md §9): the `--stamp-*`
 * options of `init`, the `stamp` command and the stamp check of `verify`.
 */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `3600`, `3600s`, `90m`, `36h`, `2d` → seconds (1 s .. 7 days). */
export function parseDuration(name: string) {
  return (value: string): number => {
    const m = /^([0-9]{1,7})([smhd]?)$/.exec(value)
    const seconds = m === null ? NaN : Number(m[1]) * (UNITS[m[2] || 's'] ?? NaN)
    if (!(seconds >= 1 && seconds <= 7 * 86_400))
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `${name} must be like 36h, 2d, 90m or 3600s`)
    return seconds
  }
}

export interface FreshnessOptions {
  stampKey: string[]
  stampThreshold?: number
  stampLifetime?: number
}

/** The `freshness` of a draft from `init`'s options, else the previous page's (or none). */
export async function freshnessFromOptions(
  opts: FreshnessOptions,
  previous: BootpageFreshness | undefined,
): Promise<BootpageFreshness | undefined> {
  const keys = await readKeyList(opts.stampKey, 'stamp key')
  if (keys.length === 0) {
    if (opts.stampThreshold === undefined && opts.stampLifetime === undefined) return previous
    if (previous === undefined)
      throw new TrackerError(
        'BOOTPAGE_BAD_SPEC',
        '--stamp-threshold and --stamp-lifetime need --stamp-key',
      )
  }
  return {
    keys: keys.length > 0 ? keys : (previous?.keys ?? []),
    threshold: opts.stampThreshold ?? (keys.length > 0 ? 1 : (previous?.threshold ?? 1)),
    maxLifetime: opts.stampLifetime ?? previous?.maxLifetime ?? 86_400,
  }
}

export interface StampOptions {
  key: string
  lifetime?: number
  add?: string
  out?: string
}

/** `bootpage stamp PAGE --key K`: write (or co-sign) a freshness stamp for a valid page. */
export async function stampCommand(io: CliIo, source: string, opts: StampOptions): Promise<void> {
  const doc = await readBootpageSource(source)
  const now = systemClock.now()
  const verdict = verifyBootpage(doc, { now })
  if (!verdict.valid) {
    for (const p of verdict.problems) io.err(`NOT VALID: ${p.code}: ${p.message}`)
    throw new TrackerError('BOOTPAGE_NOT_VALID', `refusing to stamp ${source}`)
  }
  const freshness = doc.page.freshness
  if (freshness === undefined)
    throw new TrackerError('BOOTPAGE_BAD_SPEC', `${source} declares no freshness stamps`)
  const pair = keyPairFrom(await readPrivateKeyFile(opts.key))
  const me = toHex(pair.publicKey)
  const named = freshness.keys.find(k => k.key === me)
  if (named === undefined)
    throw new TrackerError('BOOTPAGE_BAD_SPEC', `${me} is not a stamp key of this page`)
  let base: BootpageStamp
  if (opts.add === undefined) {
    base = createStamp(doc.page, Math.floor(now / 1000), opts.lifetime)
  } else {
    base = parseStamp(await readFileOrFail(opts.add))
    if (base.stamp.page !== pageDigest(doc.page))
      throw new TrackerError('BOOTPAGE_STAMP_WRONG_PAGE', `${opts.add} stamps another page`)
  }
  const stamp = signStamp(base, pair.privateKey, pair.publicKey)
  const out = opts.out ?? opts.add ?? (/^https?:/i.test(source) ? null : stampSourceFor(source))
  if (out === null) throw new TrackerError('BOOTPAGE_BAD_SPEC', 'stamping a URL needs --out')
  await writeBootpageFile(out, formatStamp(stamp))
  const v = verifyStamp(stamp, doc.page, { now })
  io.out(
    `stamp ${out}: ${doc.page.network} sequence ${doc.page.sequence} (digest ${pageDigest(doc.page).slice(0, 16)}), ` +
      `issued ${isoTime(v.issuedAt)}, expires ${isoTime(v.expiresAt)}; signed by ${named.name}, ` +
      `${v.signed} of ${v.keys.length} stamp keys have signed, ${v.threshold} required`,
  )
}

async function readFileOrFail(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (cause) {
    throw new TrackerError('BOOTPAGE_STAMP_MISSING', `cannot read ${path}`, { cause })
  }
}

/** What `verify` reports about the stamp of a page that declares stamps. */
export interface StampReport {
  status: 'fresh' | 'stale' | 'missing' | 'invalid'
  source: string
  problems: { code: string; message: string }[]
  verdict: StampVerdict | null
}

/** Read and check the stamp of `doc` (which declares stamps); never throws for content. */
export async function checkStamp(
  doc: BootpageDocument,
  source: string,
  timeoutMs: number,
): Promise<StampReport> {
  let stamp: BootpageStamp
  try {
    stamp = await readStampSource(source, { timeoutMs })
  } catch (err) {
    if (!isTrackerError(err)) throw err
    const status = err.code === 'BOOTPAGE_STAMP_MISSING' ? 'missing' : 'invalid'
    return { status, source, problems: [{ code: err.code, message: err.message }], verdict: null }
  }
  const verdict = verifyStamp(stamp, doc.page, { now: systemClock.now() })
  return { status: verdict.status, source, problems: verdict.problems, verdict }
}

/** The human lines of a stamp report. */
export function describeStamp(report: StampReport): string[] {
  const v = report.verdict
  const lines: string[] = []
  if (v !== null) {
    const hours = Math.floor(Math.abs(v.expiresIn) / 3600)
    lines.push(
      `freshness stamp ${report.source}: issued ${isoTime(v.issuedAt)}, expires ${isoTime(v.expiresAt)} ` +
        (v.expiresIn > 0 ? `(in ${hours} h)` : `(EXPIRED ${hours} h ago)`) +
        `, signed by ${v.signed} of ${v.keys.length} stamp keys, ${v.threshold} required`,
    )
  } else {
    lines.push(`freshness stamp ${report.source}: ${report.status.toUpperCase()}`)
  }
  if (report.status === 'fresh') lines.push('FRESH: the stamp holds')
  else for (const p of report.problems) lines.push(`NOT FRESH: ${p.code}: ${p.message}`)
  return lines
}
