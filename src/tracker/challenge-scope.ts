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
  '::/128',
  '::1/128',
  '100::/64',
  '2001:2::/48',
  '2001:10::/28',
  '2001:20::/28',
  '2001:db8::/32',
  '3fff::/20',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
])

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
  const extra: AddressMatcher = createAddressMatcher(allow, 'challengeAllow')
  return { kind: 'global', allows: ip => extra.matches(ip) || !special.matches(ip) }
}
