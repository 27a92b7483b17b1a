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
 * other trackers (Unvanquished#2261: one blocking DNS lookup stopped every heartbeat).
 */
export type Resolver = (host: string) => Promise<ResolvedHost>

/** Literals are returned as they are; names go through the system resolver (getaddrinfo). */
export const systemResolver: Resolver = async host => {
  const literal = parseIp(host)
  if (literal !== null) return { address: host, family: literal.byteLength === 4 ? 4 : 6 }
  try {
    const r = await lookup(host)
    return { address: r.address, family: r.family === 6 ? 6 : 4 }
  } catch (cause) {
    throw new TrackerError('CLIENT_UNREACHABLE', `cannot resolve ${host}`, { cause })
  }
}

/** Run `resolve`, turning any failure into CLIENT_UNREACHABLE (injected resolvers included). */
export async function resolveHost(resolve: Resolver, host: string): Promise<ResolvedHost> {
  try {
    return await resolve(host)
  } catch (cause) {
    if (cause instanceof TrackerError) throw cause
    throw new TrackerError('CLIENT_UNREACHABLE', `cannot resolve ${host}`, { cause })
  }
}
