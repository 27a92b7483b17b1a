import { lookup } from 'node:dns/promises'
import { TrackerError } from '../errors.js'
import { parseIp } from '../wire/endpoint.js'

/** A resolved tracker host: an address literal a socket can send to. */
export interface ResolvedHost {
  address: string
  family: 4 | 6
}

/**
 * Host name resolution, asynchronous and per tracker: a slow or failing name never holds up the
 * other trackers (Unvanquished#2261: one blocking DNS lookup stopped every heartbeat). A
 * resolver may give one address or several; every one is tried (see eyeballs.ts).
 */
export type Resolver = (host: string) => Promise<ResolvedHost | readonly ResolvedHost[]>

/** Most addresses of one name that are tried. */
export const MAX_ADDRESSES = 8

/** Literals are returned as they are; names go through the system resolver (getaddrinfo). */
export const systemResolver: Resolver = async host => {
  const literal = parseIp(host)
  if (literal !== null) return { address: host, family: literal.byteLength === 4 ? 4 : 6 }
  try {
    const all = await lookup(host, { all: true })
    return all.map(r => ({ address: r.address, family: r.family === 6 ? 6 : 4 }))
  } catch (cause) {
    throw new TrackerError('CLIENT_UNREACHABLE', `cannot resolve ${host}`, { cause })
  }
}

/**
 * Every address of `host`, in Happy Eyeballs order (RFC 8305 §4): the resolver's first address
 * first, then the families interleaved (IPv6, IPv4, IPv6, … when the first is IPv6), duplicates
 * dropped, at most MAX_ADDRESSES. Any failure is CLIENT_UNREACHABLE (injected resolvers too).
 */
export async function resolveAll(resolve: Resolver, host: string): Promise<ResolvedHost[]> {
  let got: ResolvedHost | readonly ResolvedHost[]
  try {
    got = await resolve(host)
  } catch (cause) {
    if (cause instanceof TrackerError) throw cause
    throw new TrackerError('CLIENT_UNREACHABLE', `cannot resolve ${host}`, { cause })
  }
  const list = Array.isArray(got) ? (got as readonly ResolvedHost[]) : [got as ResolvedHost]
  const seen = new Set<string>()
  const unique = list.filter(a => {
    if (seen.has(a.address)) return false
    seen.add(a.address)
    return true
  })
  if (unique.length === 0) throw new TrackerError('CLIENT_UNREACHABLE', `${host} has no address`)
  return interleave(unique).slice(0, MAX_ADDRESSES)
}

/** RFC 8305 §4: alternate the families, starting with the family of the first address. */
export function interleave(addresses: readonly ResolvedHost[]): ResolvedHost[] {
  const first = addresses[0]
  if (first === undefined) return []
  const lead = addresses.filter(a => a.family === first.family)
  const other = addresses.filter(a => a.family !== first.family)
  const out: ResolvedHost[] = []
  for (let i = 0; i < Math.max(lead.length, other.length); i++) {
    const a = lead[i]
    const b = other[i]
    if (a !== undefined) out.push(a)
    if (b !== undefined) out.push(b)
  }
  return out
}
