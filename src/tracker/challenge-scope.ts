import { networkInterfaces } from 'node:os'
import { type AddressMatcher, createAddressMatcher } from './handlers/allow-list.js'

/*
 * Where a tracker may send a reachability challenge (docs/protocol.md §9, docs/security.md):
 * the scope is explicit, so a challenge can never be aimed at a range the operator did not mean
 * to reach. A tracker whose every listener is on loopback challenges loopback addresses only
 * (127.0.0.0/8, ::1) and never sends a datagram anywhere else. Any other tracker challenges
 * global unicast addresses only: loopback, private, shared, link-local, multicast, reserved and
 * documentation ranges are left out unless the operator lists them in `challengeAllow`.
 */

/** Loopback: the whole scope of a tracker that listens on loopback only. */
export const LOOPBACK_RANGES: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128'])

/** Never challenged by a tracker on a non-loopback address unless allowed (IANA special-purpose). */
export const SPECIAL_RANGES: readonly string[] = Object.freeze([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/96',
  '::1/128',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:2::/48',
  '2001:10::/28',
  '2001:20::/28',
  '2001:db8::/32',
  '2002::/16',
  '3fff::/20',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
])

/** IPv6 global unicast (RFC 4291 §2.4): the only IPv6 a non-loopback tracker challenges. */
const GLOBAL_UNICAST_6 = '2000::/3'

const LOOPBACK_HOST = /^(127\.|::1$|::ffff:127\.)/i

/** Is a listening host (literal address) on loopback? */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOST.test(host)
}

export interface ChallengeScope {
  /** `loopback`: only loopback addresses; `global`: global unicast plus `challengeAllow`. */
  readonly kind: 'loopback' | 'global'
  /** May a challenge go to `ip` (canonical text form)? */
  allows(ip: string): boolean
}

/**
 * The scope of a tracker listening on `hosts`, widened by the operator's `allow` list (CIDR
 * blocks). A loopback-only tracker ignores `allow` outside loopback: it has no route anywhere
 * else worth a packet, and a test or demo must never send one.
 */
export function challengeScope(hosts: readonly string[], allow: readonly string[]): ChallengeScope {
  const loopback = createAddressMatcher(LOOPBACK_RANGES, 'challengeAllow')
  if (hosts.length > 0 && hosts.every(isLoopbackHost)) {
    return { kind: 'loopback', allows: ip => loopback.matches(ip) }
  }
  const special: AddressMatcher = createAddressMatcher(SPECIAL_RANGES, 'challengeAllow')
  const global6: AddressMatcher = createAddressMatcher([GLOBAL_UNICAST_6], 'challengeAllow')
  const extra: AddressMatcher = createAddressMatcher(allow, 'challengeAllow')
  // The tracker's own addresses (its listeners, and every interface's when it listens on a
  // wildcard): a record must not aim challenges at services on the tracker's host.
  const own = new Set(hosts.filter(h => h !== '0.0.0.0' && h !== '::'))
  if (hosts.some(h => h === '0.0.0.0' || h === '::')) for (const a of localAddresses()) own.add(a)
  return {
    kind: 'global',
    allows: ip => {
      if (own.has(ip)) return false
      if (extra.matches(ip)) return true
      if (special.matches(ip)) return false
      // IPv6: global unicast only. NAT64 and 6to4, which carry an IPv4 address a per-/48 share
      // would not bound, are special above.
      return !ip.includes(':') || global6.matches(ip)
    },
  }
}

/** Every address of this host's interfaces (canonical text). */
function localAddresses(): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address.toLowerCase().replace(/%.*$/, ''))
  }
  return out
}
