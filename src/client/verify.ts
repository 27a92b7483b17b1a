import { toHex } from '../crypto/keys.js'
import { compareNames, roomOf } from '../wire/collate.js'
import { verifyRecord } from '../crypto/record-sign.js'
import { WireError } from '../errors.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { IntroEntry, QuerySort } from '../wire/messages.js'
import { type NodeKind, type NodeRecord, decodeRecord, isWithdrawal } from '../wire/record.js'

/** One introduction the client has decoded and verified itself (§8.6: never trust a tracker). */
export interface VerifiedEntry {
  /** The record's fields, from the verified bytes. */
  record: NodeRecord
  /** Hex public key: the node's identity, and the dedupe key. */
  key: string
  /** The signed record bytes exactly as the node announced them. */
  bytes: Uint8Array
  /** The source endpoint the tracker saw the announce come from. */
  observed: Endpoint
  /** The tracker proved at least one endpoint reachable (§9): its word, not the node's. */
  verified: boolean
  /** Which endpoints (bit i = connect endpoint i, §8.6); 0 when none or not said. */
  proven: number
  /** Seconds since the tracker's last proof (with `proven`), else null. */
  proofAge: number | null
  /** Seconds since the tracker last received the record. */
  age: number
  /** Label of the tracker that handed the entry out. */
  tracker: string
}

/** Why entries were dropped by the client. */
export interface DropCounts {
  /** The record bytes did not decode. */
  malformed: number
  /**
   * The signature does not verify over the bytes received under the strict rule (§7: a key or
   * R of small order or non-canonical, or S >= L, never verifies).
   */
  badSignature: number
  wrongNetwork: number
  wrongKind: number
  /** expiresAt is not in the future (by the client's clock). */
  expired: number
  /** A server that does not match the filters the client asked for. */
  filtered: number
}

export function emptyDrops(): DropCounts {
  return { malformed: 0, badSignature: 0, wrongNetwork: 0, wrongKind: 0, expired: 0, filtered: 0 }
}

export function addDrops(into: DropCounts, from: DropCounts): void {
  for (const k of Object.keys(into) as (keyof DropCounts)[]) into[k] += from[k]
}

export function totalDrops(d: DropCounts): number {
  let n = 0
  for (const v of Object.values(d) as number[]) n += v
  return n
}

/** Server filters the client re-checks on every entry (a tracker may not apply them). */
export interface ServerFilter {
  /** Only servers with this world ('' or absent: any). Not applied to `best`. */
  world?: string
  version?: string
  notFull?: boolean
  /** Every tag listed must be on the server. */
  tags?: readonly string[]
}

export interface VerifyExpectation {
  network: string
  kind: NodeKind
  /** Client clock, ms since the epoch. */
  now: number
  filter?: ServerFilter
  tracker: string
}

/**
 * Decode and verify every entry; keep only those that verify, name the expected network and
 * kind, have not expired and (for servers) pass the filter. Drops are counted in `drops`.
 */
export function verifyEntries(
  entries: readonly IntroEntry[],
  expect: VerifyExpectation,
  drops: DropCounts,
): VerifiedEntry[] {
  const out: VerifiedEntry[] = []
  const nowSec = Math.floor(expect.now / 1000)
  for (const e of entries) {
    let signed
    try {
      signed = decodeRecord(e.record)
    } catch (err) {
      // A bad record is the tracker's fault and is dropped; anything else is a bug (docs/errors.md).
      if (!(err instanceof WireError)) throw err
      drops.malformed++
      continue
    }
    const r = signed.record
    if (r.network !== expect.network) {
      drops.wrongNetwork++
      continue
    }
    if (r.kind !== expect.kind) {
      drops.wrongKind++
      continue
    }
    // A withdrawal (§5) is never an entry: a tracker that hands one out is wrong; drop it.
    if (r.expiresAt <= nowSec || isWithdrawal(r)) {
      drops.expired++
      continue
    }
    // Signature last: it is the expensive check, and the cheap ones already threw out junk.
    // verifyRecord applies the strict rule of docs/protocol.md §7 (src/crypto/strict.ts), so a
    // record forged under a small-order key is dropped here even if a tracker passed it on.
    if (!verifyRecord(signed)) {
      drops.badSignature++
      continue
    }
    if (expect.filter !== undefined && !matchesFilter(r, expect.filter)) {
      drops.filtered++
      continue
    }
    out.push({
      record: r,
      key: toHex(r.publicKey),
      bytes: signed.bytes,
      observed: e.observed,
      verified: e.verified,
      proven: e.proven ?? 0,
      proofAge: e.proofAge ?? null,
      age: e.age,
      tracker: expect.tracker,
    })
  }
  return out
}

export function matchesFilter(r: NodeRecord, f: ServerFilter): boolean {
  const s = r.server
  if (s === null) return false
  if (f.world !== undefined && f.world !== '' && s.world !== f.world) return false
  if (f.version !== undefined && f.version !== '' && s.version !== f.version) return false
  if (f.notFull === true && s.players >= s.maxPlayers) return false
  if (f.tags !== undefined && !f.tags.every(t => s.tags.includes(t))) return false
  return true
}

/**
 * Merge answers (several trackers, or several pages) into one list with one entry per key: the
 * highest `seq` wins; on equal seq the most recently seen (lowest age) is kept. Order is that
 * of first appearance.
 */
export function mergeEntries(lists: Iterable<readonly VerifiedEntry[]>): VerifiedEntry[] {
  const byKey = new Map<string, VerifiedEntry>()
  for (const list of lists) {
    for (const e of list) {
      const held = byKey.get(e.key)
      if (
        held === undefined ||
        e.record.seq > held.record.seq ||
        (e.record.seq === held.record.seq && e.age < held.age)
      ) {
        // Map.set on an existing key keeps its original position.
        byKey.set(e.key, e)
      }
    }
  }
  return [...byKey.values()]
}

/** §8.5: free slots, never negative (players above the maximum count as full). */
function room(e: VerifiedEntry): number {
  const s = e.record.server
  return s === null ? 0 : roomOf(s.players, s.maxPlayers)
}

/**
 * §8.5 `list` order, applied again on the client after merging: `players` (most first),
 * `name` (code point order, which is UTF-8 byte order), `room` (most free slots first); ties
 * broken by public key, lowest first.
 */
export function sortServers(entries: VerifiedEntry[], sort: QuerySort): VerifiedEntry[] {
  const cmpKey = (a: VerifiedEntry, b: VerifiedEntry): number =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0
  return entries.slice().sort((a, b) => {
    const sa = a.record.server
    const sb = b.record.server
    let d: number
    if (sort === 'players') d = (sb?.players ?? 0) - (sa?.players ?? 0)
    else if (sort === 'room') d = room(b) - room(a)
    else {
      d = compareNames(sa?.name ?? '', sb?.name ?? '')
    }
    return d !== 0 ? d : cmpKey(a, b)
  })
}

/**
 * §8.5 `best`: the server that already hosts `world` with the most room; if none hosts it, the
 * server with the most room. Full servers are never best. Null when there is none.
 */
export function pickBest(entries: readonly VerifiedEntry[], world: string): VerifiedEntry | null {
  const open = entries.filter(e => room(e) > 0)
  const hosting = world === '' ? [] : open.filter(e => e.record.server?.world === world)
  const pool = hosting.length > 0 ? hosting : open
  const sorted = sortServers(pool, 'room')
  return sorted[0] ?? null
}

/**
 * Where to reach a node: its announced endpoints, with an unspecified address (0.0.0.0 or ::)
 * replaced by the address the tracker observed (§4); the observed endpoint when none was given.
 */
export function connectEndpoints(e: VerifiedEntry): Endpoint[] {
  if (e.record.endpoints.length === 0) return [e.observed]
  return e.record.endpoints.map(ep =>
    ep.address === '0.0.0.0' || ep.address === '::'
      ? { family: e.observed.family, address: e.observed.address, port: ep.port }
      : ep,
  )
}
