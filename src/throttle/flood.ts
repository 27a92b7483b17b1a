import { LRUCache } from 'lru-cache'
import { type Clock, systemClock } from '../clock.js'
import { type Logger, silentLogger } from '../log.js'
import { formatIp, parseIPv6 } from '../wire/endpoint.js'
import { type CookieGate, type FloodGate, type FloodVerdict, openFloodGate } from './types.js'

export interface FloodOptions {
  /** Tokens added per second to each source's bucket (requests per second it may sustain). */
  rate: number
  /** Bucket size: the burst a quiet source may send at once. */
  burst: number
  /** Most sources tracked at once (an LRU: the least recently seen is forgotten first). */
  sources: number
}

export interface FloodDeps {
  clock?: Clock
  logger?: Logger
}

export const DEFAULT_FLOOD: FloodOptions = { rate: 20, burst: 40, sources: 10_000 }

/** Offender log lines allowed per minute; the rest are counted and reported with the next one. */
const OFFENDER_LINES_PER_MINUTE = 10

interface Bucket {
  tokens: number
  at: number
  /** Warned and not yet back under the limit: requests are dropped silently. */
  offending: boolean
}

/**
 * The key a source is bucketed under: an IPv4 address as is, an IPv6 address by its /64 (one
 * subscriber usually holds a whole /64, so per-address buckets would be free to multiply).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address. Unparseable text is its own key.
 */
export function floodKey(ip: string): string {
  if (!ip.includes(':')) return ip
  return fastV6Key(ip) ?? slowV6Key(ip)
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/**
 * The /64 key straight from the text, without building the address bytes: this runs for every
 * IPv6 datagram (scripts/bench-throttle.ts: ~5x faster than parse + format). Returns null for
 * what it does not handle (embedded IPv4, zone ids, anything odd), which takes the full parse.
 */
function fastV6Key(ip: string): string | null {
  if (ip.includes('.') || ip.includes('%')) return null
  const gap = ip.indexOf('::')
  let groups: string[]
  if (gap < 0) {
    groups = ip.split(':')
    if (groups.length !== 8) return null
  } else {
    if (ip.indexOf('::', gap + 1) >= 0) return null
    const head = gap === 0 ? [] : ip.slice(0, gap).split(':')
    const tail = gap + 2 === ip.length ? [] : ip.slice(gap + 2).split(':')
    const missing = 8 - head.length - tail.length
    if (missing < 1) return null
    groups = head.length >= 4 ? head : [...head, ...Array<string>(missing).fill('0'), ...tail]
    // Only the prefix matters, but the tail must still be a valid address.
    for (const g of tail) if (!HEX_GROUP.test(g)) return null
  }
  let key = ''
  for (let i = 0; i < 4; i++) {
    const g = groups[i] ?? ''
    if (!HEX_GROUP.test(g)) return null
    key += `${parseInt(g, 16).toString(16)}:`
  }
  if (key === '0:0:0:0:') return null // ::ffff:a.b.c.d written in hex, or :: itself
  return `${key}:/64`
}

function slowV6Key(ip: string): string {
  const bytes = parseIPv6(ip.replace(/%.*$/, ''))
  if (bytes === null) return ip
  if (isMappedV4(bytes)) return formatIp(bytes.subarray(12))
  let key = ''
  for (let i = 0; i < 8; i += 2)
    key += `${(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16)}:`
  return `${key}:/64`
}

function isMappedV4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return b[10] === 0xff && b[11] === 0xff
}

/**
 * Flood control (docs/design.md §4; MetaServerII's flood control, dpmaster's throttle, stdiscosrv's
 * per-IP token bucket in an LRU of limiters): a token bucket per source in a bounded LRU.
 *
 * A source with tokens is served. The first request it makes without tokens gets `warn` with a
 * retry-after hint (seconds until it would have a token again). After that it is silenced:
 * every request is dropped and still costs tokens, down to a debt of one whole burst, so a
 * source that keeps flooding never gets through, and one that waits out `retryAfter` (or slows
 * below `rate`) is served again and forgiven. State per source is a few numbers; memory is
 * bounded by `sources`.
 */
export class FloodControl implements FloodGate {
  readonly #rate: number
  readonly #burst: number
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #buckets: LRUCache<string, Bucket>
  readonly counts = { passed: 0, warned: 0, dropped: 0, released: 0, evicted: 0 }
  #logWindow = 0
  #logLines = 0
  #suppressed = 0

  constructor(options: FloodOptions, deps: FloodDeps = {}) {
    // The ranges are the option table's (flood.* in src/ops/options.ts); this only catches a
    // caller passing something that is not a usable number at all.
    for (const name of ['rate', 'burst', 'sources'] as const) {
      if (!(options[name] > 0) || !Number.isFinite(options[name])) {
        throw new TypeError(`flood ${name} must be a finite positive number`)
      }
    }
    this.#rate = options.rate
    this.#burst = options.burst
    this.#clock = deps.clock ?? systemClock
    this.#logger = deps.logger ?? silentLogger
    this.#buckets = new LRUCache<string, Bucket>({
      max: options.sources,
      dispose: (_b, _k, reason) => {
        if (reason === 'evict') this.counts.evicted++
      },
    })
  }

  check(ip: string, cost = 1): FloodVerdict {
    const key = floodKey(ip)
    const now = this.#clock.now()
    let b = this.#buckets.get(key)
    if (b === undefined) {
      b = { tokens: this.#burst, at: now, offending: false }
      this.#buckets.set(key, b)
    } else {
      const elapsed = Math.max(0, now - b.at)
      b.tokens = Math.min(this.#burst, b.tokens + (elapsed / 1000) * this.#rate)
      b.at = now
    }
    if (b.tokens >= cost) {
      b.tokens -= cost
      if (b.offending) {
        b.offending = false
        this.counts.released++
      }
      this.counts.passed++
      return { action: 'pass' }
    }
    if (!b.offending) {
      b.offending = true
      this.counts.warned++
      const retryAfter = Math.min(0xffff, Math.max(1, Math.ceil((cost - b.tokens) / this.#rate)))
      this.#logOffender(key, retryAfter, now)
      return { action: 'warn', retryAfter }
    }
    b.tokens = Math.max(-this.#burst, b.tokens - cost)
    this.counts.dropped++
    return { action: 'drop' }
  }

  /** Sources currently tracked. */
  get sources(): number {
    return this.#buckets.size
  }

  /** Named counters (snake_case) for the daemon's stats. */
  counters(): { name: string; value: number }[] {
    return [
      { name: 'flood_passed', value: this.counts.passed },
      { name: 'flood_warned', value: this.counts.warned },
      { name: 'flood_dropped', value: this.counts.dropped },
      { name: 'flood_released', value: this.counts.released },
      { name: 'flood_sources', value: this.#buckets.size },
    ]
  }

  // One line per offender, but never a log flood: spoofed UDP sources are free to invent.
  #logOffender(source: string, retryAfter: number, now: number): void {
    const window = Math.floor(now / 60_000)
    if (window !== this.#logWindow) {
      this.#logWindow = window
      this.#logLines = 0
    }
    if (this.#logLines >= OFFENDER_LINES_PER_MINUTE) {
      this.#suppressed++
      return
    }
    this.#logLines++
    const fields: Record<string, unknown> = { event: 'flood_offender', source, retryAfter }
    if (this.#suppressed > 0) fields.suppressed = this.#suppressed
    this.#suppressed = 0
    this.#logger.warn(fields, 'flood offender silenced')
  }
}

/** The gate for a config: rate 0 turns flood control off. */
export function createFloodGate(options: FloodOptions, deps: FloodDeps = {}): FloodGate {
  return options.rate === 0 ? openFloodGate : new FloodControl(options, deps)
}

export interface CookieBudgetOptions {
  /** Cookie replies per second, all unvalidated sources together (the burst is one second). */
  rate: number
  /** Cookie replies per second per /24 (IPv4) or /48 (IPv6) block; 0 = no per-block share. */
  blockRate: number
}

export interface CookieBudgetDeps {
  clock?: Clock
  /** Seed of the block hash (random by default, so nobody can aim at a victim's slot). */
  seed?: number
}

/** Slots of the per-block share: a fixed array, so the state is 16 KiB whatever arrives. */
export const COOKIE_BLOCK_SLOTS = 4096

export const DEFAULT_COOKIE_BUDGET: CookieBudgetOptions = { rate: 20_000, blockRate: 1_000 }

/**
 * The budget of cookie replies, the only answer an unvalidated UDP source can get
 * (docs/protocol.md §8.2). Spoofed sources must not be able to create or evict per-source state,
 * so this is one global token bucket plus, optionally, a per-block share kept in a fixed array of
 * counters indexed by a seeded hash of the block and cleared every second. Nothing in it is ever
 * evicted: a flood from many blocks only fills counters that are zeroed a second later, and
 * two blocks sharing a slot only share that slot's share. Over budget, the caller drops silently.
 */
export class CookieBudget implements CookieGate {
  readonly #rate: number
  readonly #blockRate: number
  readonly #clock: Clock
  readonly #seed: number
  readonly #slots = new Uint32Array(COOKIE_BLOCK_SLOTS)
  #window = -1
  #tokens: number
  #at: number
  readonly counts = { admitted: 0, droppedGlobal: 0, droppedBlock: 0 }

  constructor(options: CookieBudgetOptions, deps: CookieBudgetDeps = {}) {
    this.#rate = options.rate
    this.#blockRate = options.blockRate
    this.#clock = deps.clock ?? systemClock
    this.#seed = (deps.seed ?? Math.floor(Math.random() * 0x1_0000_0000)) >>> 0
    this.#tokens = this.#rate
    this.#at = this.#clock.now()
  }

  admit(ip16: Uint8Array): boolean {
    const now = this.#clock.now()
    const elapsed = Math.max(0, now - this.#at)
    this.#tokens = Math.min(this.#rate, this.#tokens + (elapsed / 1000) * this.#rate)
    this.#at = now
    if (this.#tokens < 1) {
      this.counts.droppedGlobal++
      return false
    }
    if (this.#blockRate > 0) {
      const window = Math.floor(now / 1000)
      if (window !== this.#window) {
        this.#window = window
        this.#slots.fill(0)
      }
      const slot = blockSlot(ip16, this.#seed)
      const used = this.#slots[slot] ?? 0
      if (used >= this.#blockRate) {
        this.counts.droppedBlock++
        return false
      }
      this.#slots[slot] = used + 1
    }
    this.#tokens -= 1
    this.counts.admitted++
    return true
  }
}

/**
 * The slot of a source's block: its /24 when IPv4 (IPv4-mapped in `ip16`), else its /48; FNV-1a
 * over those bytes, from a seeded start.
 */
export function blockSlot(ip16: Uint8Array, seed: number): number {
  let mapped = true
  for (let i = 0; i < 10; i++) if (ip16[i] !== 0) mapped = false
  mapped &&= ip16[10] === 0xff && ip16[11] === 0xff
  const from = mapped ? 12 : 0
  const to = mapped ? 15 : 6
  let h = (0x811c9dc5 ^ seed) >>> 0
  h = Math.imul(h ^ (mapped ? 4 : 6), 0x01000193) >>> 0
  for (let i = from; i < to; i++) h = Math.imul(h ^ (ip16[i] ?? 0), 0x01000193) >>> 0
  return (h ^ (h >>> 16)) & (COOKIE_BLOCK_SLOTS - 1)
}
