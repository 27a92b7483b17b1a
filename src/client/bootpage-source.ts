import { createHash } from 'node:crypto'
import { mkdir, open } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type Clock, systemClock } from '../clock.js'
import { isTrackerError, TrackerError } from '../errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import {
  type BootpageDocument,
  BootpageLimits,
  formatBootpage,
  parseBootpage,
} from '../bootpage/schema.js'
import { samePage } from '../bootpage/sign.js'
import {
  type BootpageStamp,
  type ChosenStamp,
  chooseStamp,
  formatStamp,
  parseStamp,
  stampSourceFor,
} from '../bootpage/stamp.js'
import {
  type BootpageVerdict,
  type TrustAnchor,
  assertValid,
  currentAnchor,
  pinnedAnchor,
  verifyBootpage,
} from '../bootpage/verify.js'
import type { TrackerAddress } from './trackers.js'

/**
 * Client acceptance of a bootpage (docs/bootpage.md §6): load it from a file or URL, accept it
 * only when the current operator set (the cached page's, else the pinned keys) signed it to
 * its threshold, its own operators signed it to the page's threshold, it has not expired and
 * its sequence is not lower than the cached one. The last good page is cached and used when
 * the source is unreachable or serves something unacceptable.
 */
export interface BootpageSourceOptions {
  /** A file path, or an http(s) URL. */
  source: string
  /** Pinned operator public keys (64 hex digits each): the trust root without a cache. */
  pins: readonly string[]
  /** How many pinned keys must have signed (default: a majority of them). */
  pinThreshold?: number
  /** Where the last accepted page is kept; null or absent: no cache. */
  cacheDir?: string | null
  /** Refuse a page for another network. */
  network?: string
  clock?: Clock
  /** Fetch timeout, ms (default 10 s). */
  timeoutMs?: number
  /** Size cap, bytes (default BootpageLimits.MAX_BYTES). */
  maxBytes?: number
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof globalThis.fetch
  /**
   * Where the freshness stamp is, for a page that declares stamps (docs/bootpage.md §9).
   * Default: beside the source (stampSourceFor: `bootpage.json` → `bootpage.stamp.json`).
   */
  stampSource?: string
}

/** The freshness stamp that made a page that declares stamps acceptable. */
export type LoadedStamp = ChosenStamp

export interface LoadedBootpage {
  trackers: TrackerAddress[]
  document: BootpageDocument
  verdict: BootpageVerdict
  /** 'source' when the file or URL gave an acceptable page; 'cache' when the cache did. */
  from: 'source' | 'cache'
  /** Why the source was not used (when from is 'cache'). */
  sourceError?: TrackerError
  /** Set when the accepted page could not be written to the cache (it is still used). */
  cacheError?: Error
  /** Present when the page declares freshness stamps (then it is always fresh). */
  stamp?: LoadedStamp
}

export const DEFAULT_BOOTPAGE_TIMEOUT_MS = 10_000

/** The trackers of a verified page, as the client's addresses. */
export function bootpageTrackers(doc: BootpageDocument): TrackerAddress[] {
  return doc.page.trackers.map(t => {
    const address: TrackerAddress = {
      host: t.host,
      udp: t.udp ?? null,
      tcp: t.tcp ?? null,
      name: t.name,
    }
    if (t.key !== undefined) address.key = t.key
    return address
  })
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source)
}

async function readCapped(path: string, maxBytes: number): Promise<Uint8Array> {
  return readCappedAs(path, maxBytes, 'BOOTPAGE_READ_FAILED')
}

async function readCappedAs(
  path: string,
  maxBytes: number,
  failure: 'BOOTPAGE_READ_FAILED' | 'BOOTPAGE_STAMP_MISSING',
): Promise<Uint8Array> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (cause) {
    throw new TrackerError(failure, `cannot read ${path}`, { cause })
  }
  try {
    const buf = new Uint8Array(maxBytes + 1)
    let filled = 0
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.byteLength - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
      if (filled > maxBytes) {
        throw new TrackerError('BOOTPAGE_TOO_LARGE', `${path} exceeds ${maxBytes} bytes`)
      }
    }
    return buf.subarray(0, filled)
  } catch (cause) {
    if (isTrackerError(cause)) throw cause
    throw new TrackerError(failure, `cannot read ${path}`, { cause })
  } finally {
    await fh.close()
  }
}

async function fetchCapped(
  url: string,
  maxBytes: number,
  timeoutMs: number,
  fetchImpl: typeof globalThis.fetch,
  failure: 'BOOTPAGE_FETCH_FAILED' | 'BOOTPAGE_STAMP_MISSING' = 'BOOTPAGE_FETCH_FAILED',
): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs)
  const where = url.slice(0, 200)
  try {
    const res = await fetchImpl(url, {
      signal,
      redirect: 'follow',
      headers: { accept: 'application/json' },
    })
    if (!res.ok) {
      await res.body?.cancel()
      throw new TrackerError(failure, `${where}: HTTP ${res.status}`)
    }
    const declared = Number(res.headers.get('content-length') ?? '0')
    if (declared > maxBytes) {
      await res.body?.cancel()
      throw new TrackerError(
        'BOOTPAGE_TOO_LARGE',
        `${where} declares ${declared} bytes, cap ${maxBytes}`,
      )
    }
    const chunks: Uint8Array[] = []
    let total = 0
    if (res.body !== null) {
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.byteLength
        if (total > maxBytes) {
          await reader.cancel()
          throw new TrackerError('BOOTPAGE_TOO_LARGE', `${where} exceeds ${maxBytes} bytes`)
        }
        chunks.push(value)
      }
    }
    const out = new Uint8Array(total)
    let at = 0
    for (const c of chunks) {
      out.set(c, at)
      at += c.byteLength
    }
    return out
  } catch (cause) {
    if (isTrackerError(cause)) throw cause
    const reason = signal.aborted ? `timed out after ${timeoutMs} ms` : 'unreachable'
    throw new TrackerError(failure, `${where}: ${reason}`, { cause })
  }
}

/** The cache file for one trust root: a change of pins (or network) starts a new chain. */
export function bootpageCachePath(
  cacheDir: string,
  pins: TrustAnchor,
  network: string | undefined,
): string {
  const id = createHash('sha256')
    .update(JSON.stringify({ keys: [...pins.keys].sort(), k: pins.threshold, network }))
    .digest('hex')
    .slice(0, 16)
  return join(cacheDir, `bootpage-${id}.json`)
}

async function readCache(path: string, maxBytes: number): Promise<BootpageDocument | null> {
  try {
    const doc = parseBootpage(await readCapped(path, maxBytes))
    // The cache is local state, but a damaged file must not become the trust anchor: it
    // must at least be a page its own operators signed.
    const verdict = verifyBootpage(doc, { now: 0 })
    return verdict.badSignatures.length === 0 && verdict.signed >= doc.page.threshold ? doc : null
  } catch {
    return null
  }
}

async function writeCache(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  await writeFileAtomic(path, text, { mode: 0o644 })
}

/** The cached stamp sits beside the cached page: `bootpage-<id>.stamp.json`. */
function stampCachePath(cachePath: string): string {
  return cachePath.replace(/\.json$/, '.stamp.json')
}

async function readStampCache(path: string): Promise<BootpageStamp | null> {
  try {
    return parseStamp(await readCapped(path, BootpageLimits.STAMP_MAX_BYTES))
  } catch {
    return null
  }
}

export interface ReadSourceOptions {
  /** Size cap, bytes (default and most: BootpageLimits.MAX_BYTES). */
  maxBytes?: number
  /** Fetch timeout, ms (default 10 s). */
  timeoutMs?: number
  fetch?: typeof globalThis.fetch
}

/**
 * Read and parse (not verify) a bootpage from a file path or an http(s) URL, with a size cap
 * and a timeout. Throws BOOTPAGE_READ_FAILED / BOOTPAGE_FETCH_FAILED / BOOTPAGE_TOO_LARGE or
 * a parse error (BOOTPAGE_BAD_JSON, BOOTPAGE_BAD_SHAPE).
 */
export async function readBootpageSource(
  source: string,
  options: ReadSourceOptions = {},
): Promise<BootpageDocument> {
  const maxBytes = Math.min(options.maxBytes ?? BootpageLimits.MAX_BYTES, BootpageLimits.MAX_BYTES)
  const bytes = isUrl(source)
    ? await fetchCapped(
        source,
        maxBytes,
        options.timeoutMs ?? DEFAULT_BOOTPAGE_TIMEOUT_MS,
        options.fetch ?? globalThis.fetch,
      )
    : await readCapped(source, maxBytes)
  return parseBootpage(bytes)
}

/**
 * Read and parse (not verify) a freshness stamp from a file or URL (16 KiB cap, timeout). A
 * stamp that cannot be read at all (no file, HTTP error, unreachable) is BOOTPAGE_STAMP_MISSING;
 * otherwise BOOTPAGE_TOO_LARGE / BOOTPAGE_BAD_JSON / BOOTPAGE_BAD_SHAPE.
 */
export async function readStampSource(
  source: string,
  options: ReadSourceOptions = {},
): Promise<BootpageStamp> {
  const cap = BootpageLimits.STAMP_MAX_BYTES
  const bytes = isUrl(source)
    ? await fetchCapped(
        source,
        cap,
        options.timeoutMs ?? DEFAULT_BOOTPAGE_TIMEOUT_MS,
        options.fetch ?? globalThis.fetch,
        'BOOTPAGE_STAMP_MISSING',
      )
    : await readCappedAs(source, cap, 'BOOTPAGE_STAMP_MISSING')
  return parseStamp(bytes)
}

/** Accept `doc` against the anchor and the cached page, or throw the first reason not to. */
function accept(
  doc: BootpageDocument,
  anchor: TrustAnchor,
  cached: BootpageDocument | null,
  options: BootpageSourceOptions,
  now: number,
): BootpageVerdict {
  const verdict = verifyBootpage(doc, {
    now,
    anchor,
    ...(options.network === undefined ? {} : { network: options.network }),
  })
  assertValid(verdict)
  if (cached !== null) {
    if (doc.page.sequence < cached.page.sequence) {
      throw new TrackerError(
        'BOOTPAGE_ROLLBACK',
        `sequence ${doc.page.sequence} is lower than the accepted ${cached.page.sequence}`,
      )
    }
    if (doc.page.sequence === cached.page.sequence && !samePage(doc.page, cached.page)) {
      throw new TrackerError(
        'BOOTPAGE_SEQUENCE_REUSED',
        `sequence ${doc.page.sequence} was already accepted with different content`,
      )
    }
  }
  return verdict
}

/**
 * Load, verify and cache a bootpage. Throws a TrackerError (BOOTPAGE_*) when neither the
 * source nor the cache gives an acceptable page; the source's reason is the one thrown.
 */
export async function loadBootpage(options: BootpageSourceOptions): Promise<LoadedBootpage> {
  const clock = options.clock ?? systemClock
  const maxBytes = Math.min(options.maxBytes ?? BootpageLimits.MAX_BYTES, BootpageLimits.MAX_BYTES)
  const pins = pinnedAnchor(options.pins, options.pinThreshold)
  const cachePath =
    options.cacheDir == null ? null : bootpageCachePath(options.cacheDir, pins, options.network)
  const cached = cachePath === null ? null : await readCache(cachePath, maxBytes)
  // Key chaining: once a page is accepted, its operator set is the one that must sign the next.
  const anchor = cached === null ? pins : currentAnchor(cached)
  const readOptions: ReadSourceOptions = {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  }

  // Freshness (docs/bootpage.md §9): a page that declares stamps needs one that holds now. The
  // stamp source is read at most once per load, whichever page (source or cache) it is for.
  const stampCache = cachePath === null ? null : stampCachePath(cachePath)
  const cachedStamp = stampCache === null ? null : await readStampCache(stampCache)
  const cachedStampText = cachedStamp === null ? null : formatStamp(cachedStamp)
  let stampRead: Promise<BootpageStamp | TrackerError> | null = null
  const freshStamp = async (doc: BootpageDocument): Promise<LoadedStamp | undefined> => {
    if (doc.page.freshness === undefined) return undefined
    stampRead ??= Promise.resolve()
      .then(() =>
        readStampSource(options.stampSource ?? stampSourceFor(options.source), readOptions),
      )
      .catch((err: unknown) => {
        if (isTrackerError(err)) return err
        throw err
      })
    return chooseStamp(doc.page, await stampRead, cachedStamp, { now: clock.now() })
  }
  const keep = async (result: LoadedBootpage, write: boolean): Promise<LoadedBootpage> => {
    const stamp = result.stamp
    const writes: [string, string][] = []
    if (write && cachePath !== null) writes.push([cachePath, formatBootpage(result.document)])
    const stampText = stamp === undefined ? null : formatStamp(stamp.stamp)
    if (stampText !== null && stampCache !== null && stampText !== cachedStampText)
      writes.push([stampCache, stampText])
    for (const [path, text] of writes) {
      try {
        await writeCache(path, text)
      } catch (err) {
        result.cacheError = err instanceof Error ? err : new Error(String(err))
      }
    }
    return result
  }

  let sourceError: TrackerError
  try {
    const doc = await readBootpageSource(options.source, { maxBytes, ...readOptions })
    const verdict = accept(doc, anchor, cached, options, clock.now())
    const stamp = await freshStamp(doc)
    const result: LoadedBootpage = {
      trackers: bootpageTrackers(doc),
      document: doc,
      verdict,
      from: 'source',
      ...(stamp === undefined ? {} : { stamp }),
    }
    return await keep(result, cached === null || formatBootpage(cached) !== formatBootpage(doc))
  } catch (err) {
    if (!isTrackerError(err)) throw err
    sourceError = err
  }

  if (cached !== null) {
    const verdict = verifyBootpage(cached, {
      now: clock.now(),
      ...(options.network === undefined ? {} : { network: options.network }),
    })
    let stamp: LoadedStamp | undefined
    let unusable = verdict.problems[0]?.message ?? null
    if (unusable === null) {
      try {
        stamp = await freshStamp(cached)
      } catch (err) {
        if (!isTrackerError(err)) throw err
        // The source's page was this one and failed for the same stamp: say it once.
        if (err.message === sourceError.message) throw sourceError
        unusable = `no fresh stamp: ${err.message}`
      }
    }
    if (unusable === null) {
      const result: LoadedBootpage = {
        trackers: bootpageTrackers(cached),
        document: cached,
        verdict,
        from: 'cache',
        sourceError,
        ...(stamp === undefined ? {} : { stamp }),
      }
      return await keep(result, false)
    }
    throw new TrackerError(
      sourceError.code,
      `${sourceError.message}; the cached bootpage is not usable either (${unusable})`,
      { cause: sourceError },
    )
  }
  throw sourceError
}
