import type { Endpoint } from '../wire/endpoint.js'
import type { Entry } from './entry.js'

/*
 * Proof of address, per endpoint (docs/protocol.md §9). An entry's endpoints are the ones a
 * client would use: the record's endpoints, each unspecified address (`0.0.0.0`, `::`) replaced
 * by the observed address of the same family; when the record names none, the observed endpoint.
 * Bit i of the entry's masks is endpoint i. An unspecified endpoint of the other family than the
 * observed one cannot be resolved, so it is never challenged and never proven.
 *
 * The state is four small integers on the entry (no per-entry object): `proven` (endpoints that
 * answered), `pending` (endpoints challenged in the last round, `chAt`, not answered yet) and
 * `provenAt`. A pending endpoint that stays silent for the challenge timeout loses its proof:
 * evaluated lazily, so nothing runs per entry while nothing asks.
 */

/** The endpoints of an entry as clients use them (null: cannot be resolved, never proven). */
export function resolveEndpoints(
  endpoints: readonly Endpoint[],
  observed: Endpoint,
): (Endpoint | null)[] {
  if (endpoints.length === 0) return [observed]
  return endpoints.map(e => {
    if (e.address !== '0.0.0.0' && e.address !== '::') return e
    return e.family === observed.family
      ? { family: e.family, address: observed.address, port: e.port }
      : null
  })
}

/** Mask of the endpoints that can be proven. */
export function provableMask(resolved: readonly (Endpoint | null)[]): number {
  let m = 0
  resolved.forEach((r, i) => {
    if (r !== null) m |= 1 << i
  })
  return m
}

/** Mask of the endpoints equal to `ep` (address and port). */
export function maskOf(resolved: readonly (Endpoint | null)[], ep: Endpoint | null): number {
  if (ep === null) return 0
  let m = 0
  resolved.forEach((r, i) => {
    if (r !== null && r.port === ep.port && r.address === ep.address) m |= 1 << i
  })
  return m
}

/** The endpoints proven at `now`: pending ones past the timeout have failed. */
export function provenMask(e: Entry, now: number, timeout: number): number {
  return e.pending !== 0 && now >= e.chAt + timeout ? e.proven & ~e.pending : e.proven
}

/** Record that the endpoints in `mask` answered at `now`. */
export function markProven(e: Entry, mask: number, now: number): void {
  if (mask === 0) return
  e.proven |= mask
  e.pending &= ~mask
  e.provenAt = now
}

/** Settle a finished round: pending endpoints past the timeout lose their proof. */
export function settle(e: Entry, now: number, timeout: number): void {
  if (e.pending !== 0 && now >= e.chAt + timeout) {
    e.proven &= ~e.pending
    e.pending = 0
  }
}

/**
 * Carry the proofs of a replaced entry over to its successor (a higher seq of the same key):
 * an endpoint both name keeps its proof, so a server that re-signs each interval (players
 * changed) is not hidden while nothing about its address changed.
 */
export function carryProofs(
  from: Entry,
  fromResolved: readonly (Endpoint | null)[],
  to: Entry,
  toResolved: readonly (Endpoint | null)[],
  now: number,
  timeout: number,
): number {
  settle(from, now, timeout)
  // Each bit of `from` moves to the endpoints of `to` equal to its endpoint.
  const move = (bits: number): number => {
    let mask = 0
    fromResolved.forEach((r, i) => {
      if (r !== null && (bits & (1 << i)) !== 0) mask |= maskOf(toResolved, r)
    })
    return mask
  }
  // The round interval holds for the endpoints the old record named; the new ones are due now
  // (returned to the caller, which challenges only those within the interval).
  to.chAt = from.chAt
  const fresh = to.want & ~move(from.want)
  const proven = move(from.proven)
  // A round still open for the old record stays open for the same endpoints.
  to.pending = move(from.pending) & ~to.proven
  if (proven !== 0) {
    to.proven |= proven
    to.provenAt = Math.max(to.provenAt, from.provenAt)
  }
  return fresh
}

/** A proof as a checkpoint keeps it: the proven endpoints, their proof time and its bound. */
export interface SavedProof {
  /** Bit i = endpoint i of the saved record. */
  mask: number
  /** Unix seconds of the proof. */
  at: number
  /** Seconds a proof is kept at most (the longest re-check interval of a proven server). */
  maxAge: number
}

/**
 * Put a checkpointed proof back on a restored entry (docs/protocol.md §9): only the bits of
 * endpoints the entry's record has and can prove (`want`: a mask naming others proves
 * nothing), and only when the proof time is not in the future and younger than `maxAge`;
 * otherwise the entry stays unproven. The challenge time becomes the proof time, so the
 * re-check schedule goes on from it. True when a proof was put back.
 */
export function restoreProof(e: Entry, p: SavedProof, now: number): boolean {
  const mask = p.mask & e.want
  if (mask === 0 || p.at <= 0 || p.at > now || now - p.at >= p.maxAge) return false
  e.proven = mask
  e.pending = 0
  e.provenAt = p.at
  e.chAt = p.at
  return true
}
