import { type Clock, systemClock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { parseIPv4, parseIPv6 } from '../wire/endpoint.js'
import { decodeRecord } from '../wire/record.js'
import type { DenyPolicy } from './policy.js'

/**
 * The parsed rules of a deny list. Address blocks are kept per prefix length, as the masked
 * prefix, so a lookup costs one set probe per distinct prefix length in the list (at most 33
 * for IPv4, 129 for IPv6), whatever the number of rules.
 */
export interface DenyRules {
  /** Public keys, lower-case hex. */
  readonly keys: ReadonlySet<string>
  /** IPv4: prefix length -> set of `address >>> (32 - length)`. */
  readonly v4: ReadonlyMap<number, ReadonlySet<number>>
  /** IPv6: prefix length -> set of the masked prefix bytes in hex. */
  readonly v6: ReadonlyMap<number, ReadonlySet<string>>
  /** Address rules (single addresses and blocks) in all. */
  readonly addresses: number
}

export const EMPTY_RULES: DenyRules = {
  keys: new Set(),
  v4: new Map(),
  v6: new Map(),
  addresses: 0,
}

const KEY_RE = /^[0-9a-fA-F]{64}$/

/**
 * Parse a deny list: one public key (64 hex digits), IP address or CIDR block per line, IPv4
 * or IPv6; `#` starts a comment; blank lines are ignored. Any other line is refused with its
 * line number (DENY_BAD_LINE) and nothing of the file is used.
 *
 * Written by hand (on the bytes from src/wire/endpoint.ts) rather than with a CIDR package:
 * it is a few lines, it reuses the one IP parser the wire uses, and it refuses what a lenient
 * parser would guess at (a block with host bits set).
 */
export function parseDenyList(text: string, source = 'deny list'): DenyRules {
  const keys = new Set<string>()
  const v4 = new Map<number, Set<number>>()
  const v6 = new Map<number, Set<string>>()
  let addresses = 0
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    const hash = raw.indexOf('#')
    const line = (hash < 0 ? raw : raw.slice(0, hash)).trim()
    if (line === '') continue
    const bad = (why: string): TrackerError =>
      new TrackerError('DENY_BAD_LINE', `${source}:${i + 1}: ${why}: ${JSON.stringify(clip(line))}`)
    if (KEY_RE.test(line)) {
      keys.add(line.toLowerCase())
      continue
    }
    const slash = line.indexOf('/')
    const addressText = slash < 0 ? line : line.slice(0, slash)
    const lengthText = slash < 0 ? null : line.slice(slash + 1)
    const bytes = parseAddress(addressText)
    if (bytes === null) throw bad('not a key, IP or CIDR')
    const bits = bytes.byteLength * 8
    let length = bits
    if (lengthText !== null) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > bits) {
        throw bad(`not a key, IP or CIDR (prefix length must be 0-${bits})`)
      }
      length = Number(lengthText)
    }
    if (!hostBitsClear(bytes, length)) throw bad(`host bits set after /${length}`)
    addresses++
    if (bytes.byteLength === 4) {
      let set = v4.get(length)
      if (set === undefined) v4.set(length, (set = new Set()))
      set.add(v4Prefix(u32(bytes), length))
    } else {
      let set = v6.get(length)
      if (set === undefined) v6.set(length, (set = new Set()))
      set.add(v6Prefix(bytes, length))
    }
  }
  return { keys, v4, v6, addresses }
}

/** Deny-hit log lines allowed per minute; the rest are counted and reported with the next. */
const HIT_LINES_PER_MINUTE = 10

export interface DenyListDeps {
  logger?: Logger
  clock?: Clock
}

/**
 * The deny policy the handlers consult. Its rules are replaced as a whole (on SIGHUP), so a
 * lookup never sees half a list. A hit is logged (`deny_hit`), at most ten lines a minute: a
 * denied source keeps sending, and the log must not become the flood.
 */
export class DenyList implements DenyPolicy {
  #rules: DenyRules
  readonly #logger: Logger
  readonly #clock: Clock
  #logWindow = 0
  #logLines = 0
  #suppressed = 0
  readonly counts = { keyHits: 0, addressHits: 0 }

  constructor(rules: DenyRules = EMPTY_RULES, deps: DenyListDeps = {}) {
    this.#rules = rules
    this.#logger = deps.logger ?? silentLogger
    this.#clock = deps.clock ?? systemClock
  }

  get rules(): DenyRules {
    return this.#rules
  }

  replace(rules: DenyRules): void {
    this.#rules = rules
  }

  deniesKey(publicKey: Uint8Array): boolean {
    if (!this.matchesKey(publicKey)) return false
    this.counts.keyHits++
    this.#logHit({ key: hex(publicKey) })
    return true
  }

  deniesAddress(ip: string): boolean {
    if (!this.matchesAddress(ip)) return false
    this.counts.addressHits++
    this.#logHit({ address: ip })
    return true
  }

  /** deniesKey without counting or logging (for sweeping held entries). */
  matchesKey(publicKey: Uint8Array): boolean {
    if (this.#rules.keys.size === 0) return false
    return this.#rules.keys.has(hex(publicKey))
  }

  /** deniesAddress without counting or logging. */
  matchesAddress(ip: string): boolean {
    const rules = this.#rules
    if (rules.addresses === 0) return false
    const bytes = parseAddress(ip.replace(/%.*$/, ''))
    if (bytes === null) return false
    if (bytes.byteLength === 4) {
      const n = u32(bytes)
      for (const [length, set] of rules.v4) if (set.has(v4Prefix(n, length))) return true
      return false
    }
    for (const [length, set] of rules.v6) if (set.has(v6Prefix(bytes, length))) return true
    return false
  }

  /** The same rules as a policy that neither counts nor logs. */
  get quiet(): DenyPolicy {
    return {
      deniesKey: k => this.matchesKey(k),
      deniesAddress: ip => this.matchesAddress(ip),
    }
  }

  #logHit(what: Record<string, unknown>): void {
    const window = Math.floor(this.#clock.now() / 60_000)
    if (window !== this.#logWindow) {
      this.#logWindow = window
      this.#logLines = 0
    }
    if (this.#logLines >= HIT_LINES_PER_MINUTE) {
      this.#suppressed++
      return
    }
    this.#logLines++
    const fields: Record<string, unknown> = { event: 'deny_hit', ...what }
    if (this.#suppressed > 0) fields.suppressed = this.#suppressed
    this.#suppressed = 0
    this.#logger.info(fields, 'denied')
  }
}

/** What the table holds per entry, as far as the deny list cares (EntrySnapshot fits). */
export interface DenyCandidate {
  record: Uint8Array
  observed: { address: string }
  /** The record's key when the caller has it already (the table's EntryView). */
  publicKey?: Uint8Array
}

/**
 * Whether a held entry falls under the policy: its key is denied, or the address it was
 * announced from. The Daemon's `table.dropWhere` applies this after a reload.
 */
export function entryDenied(policy: DenyPolicy, entry: DenyCandidate): boolean {
  if (policy.deniesAddress(entry.observed.address)) return true
  if (entry.publicKey !== undefined) return policy.deniesKey(entry.publicKey)
  try {
    return policy.deniesKey(decodeRecord(entry.record).record.publicKey)
  } catch {
    // The table holds only records that decoded when they arrived; one that no longer does
    // has no business being served either.
    return true
  }
}

/** An IP literal to bytes; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address. */
function parseAddress(text: string): Uint8Array | null {
  const v4 = parseIPv4(text)
  if (v4 !== null) return v4
  const v6 = parseIPv6(text)
  if (v6 === null) return null
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) return v6
  return v6[10] === 0xff && v6[11] === 0xff ? v6.slice(12) : v6
}

function u32(b: Uint8Array): number {
  return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0
}

// `>>> 32` is `>>> 0` in JavaScript, so /0 is special-cased.
function v4Prefix(n: number, length: number): number {
  return length === 0 ? 0 : n >>> (32 - length)
}

function v6Prefix(b: Uint8Array, length: number): string {
  const whole = length >> 3
  let out = ''
  for (let i = 0; i < whole; i++) out += (b[i] ?? 0).toString(16).padStart(2, '0')
  const rest = length & 7
  if (rest !== 0) {
    const masked = (b[whole] ?? 0) & (0xff << (8 - rest)) & 0xff
    out += masked.toString(16).padStart(2, '0')
  }
  return out
}

function hostBitsClear(b: Uint8Array, length: number): boolean {
  for (let bit = length; bit < b.byteLength * 8; bit++) {
    if ((((b[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) !== 0) return false
  }
  return true
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}
