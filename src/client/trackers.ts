import { TrackerError } from '../errors.js'
import { formatIp, parseIPv4, parseIPv6 } from '../wire/endpoint.js'

/**
 * Where one tracker listens. `udp`/`tcp` are null when the tracker offers no listener of that
 * kind. `name` and `key` come from a bootpage when the list was loaded from one.
 */
export interface TrackerAddress {
  host: string
  udp: number | null
  tcp: number | null
  name?: string
  /** The operator's public key, hex, when known. */
  key?: string
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
const HOSTNAME_RE =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/

function bad(spec: string, why: string): TrackerError {
  return new TrackerError('CLIENT_BAD_TRACKER', `${why}: ${JSON.stringify(spec.slice(0, 100))}`)
}

/**
 * Parse `HOST:PORT` or `[IPv6]:PORT` (UDP and TCP on the same port). HOST is an IPv4 literal, a
 * bracketed IPv6 literal or a DNS name; names are resolved later, asynchronously, per tracker.
 */
export function parseTrackerSpec(spec: string): TrackerAddress {
  const text = spec.trim()
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0 || text[close + 1] !== ':') throw bad(spec, 'expected [IPv6]:PORT')
    const bytes = parseIPv6(text.slice(1, close))
    if (bytes === null) throw bad(spec, 'not an IPv6 address')
    host = formatIp(bytes)
    portText = text.slice(close + 2)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon <= 0) throw bad(spec, 'expected HOST:PORT')
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (host.includes(':')) throw bad(spec, 'an IPv6 address needs brackets: [ADDR]:PORT')
    const v4 = parseIPv4(host)
    if (v4 === null) {
      if (/^[0-9.]+$/.test(host)) throw bad(spec, 'not an IPv4 address')
      if (!HOSTNAME_RE.test(host)) throw bad(spec, 'not a host name')
      host = host.toLowerCase().replace(/\.$/, '')
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad(spec, 'the port must be a number 1-65535')
  const port = Number(portText)
  if (port < 1 || port > 65535) throw bad(spec, 'the port must be a number 1-65535')
  return { host, udp: port, tcp: port }
}

/** A short human label: the bootpage name when known, else HOST:PORT. */
export function trackerLabel(t: TrackerAddress): string {
  if (t.name !== undefined && t.name !== '') return t.name
  const host = t.host.includes(':') ? `[${t.host}]` : t.host
  return `${host}:${t.udp ?? t.tcp ?? 0}`
}

/** A stable identity for a tracker within one process (host and both ports). */
export function trackerId(t: TrackerAddress): string {
  return `${t.host}|${t.udp ?? '-'}|${t.tcp ?? '-'}`
}

/**
 * Shuffle a copy of `items` uniformly (Fisher–Yates). Each item appears exactly once, so a caller
 * walking the result asks every tracker at most once.
 */
export function randomOrder<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)))
    const a = out[i] as T
    out[i] = out[j] as T
    out[j] = a
  }
  return out
}
