import { TrackerError } from '../../errors.js'
import { DenyList, parseDenyList } from '../deny-list.js'

/** A set of addresses and CIDR blocks a source address is tested against. */
export interface AddressMatcher {
  /** `ip` (canonical text; IPv4-mapped IPv6 counts as IPv4) is in the list. */
  matches(ip: string): boolean
}

/** The operator allow-list by default: loopback only. */
export const DEFAULT_OPERATOR_ALLOW: readonly string[] = Object.freeze(['127.0.0.0/8', '::1/128'])

/**
 * A matcher for a list of IP addresses and CIDR blocks (IPv4 or IPv6), such as the
 * `operatorAllow` option (docs/operations.md): stats requests from these addresses skip the
 * per-source flood bucket. The lines are read by the deny list's parser and matched by its
 * prefix sets (src/tracker/deny-list.ts), so both lists accept and refuse the same syntax; a
 * public key, a host name or a block with host bits set is refused (CONFIG_BAD_OPTION).
 */
export function createAddressMatcher(
  list: readonly string[],
  option = 'operatorAllow',
): AddressMatcher {
  if (list.length === 0) return { matches: () => false }
  for (const entry of list) {
    if (
      typeof entry !== 'string' ||
      entry.trim() === '' ||
      entry.includes('\n') ||
      entry.includes('#') ||
      /^[0-9a-fA-F]{64}$/.test(entry.trim())
    ) {
      throw new TrackerError(
        'CONFIG_BAD_OPTION',
        `${option} must list IP addresses or CIDR blocks (got ${JSON.stringify(entry)})`,
      )
    }
  }
  let rules
  try {
    rules = parseDenyList(list.join('\n'), option)
  } catch (err) {
    throw new TrackerError('CONFIG_BAD_OPTION', err instanceof Error ? err.message : String(err), {
      cause: err,
    })
  }
  const matcher = new DenyList(rules)
  return { matches: ip => matcher.matchesAddress(ip) }
}
