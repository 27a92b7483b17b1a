import { WireError } from '../errors.js'
import type { Reader } from './reader.js'
import type { Writer } from './writer.js'

/**
 * An IP endpoint (§4). `address` is the canonical text form: dotted quad for IPv4, RFC 5952
 * lower-case compressed form for IPv6. An unspecified address (0.0.0.0 or ::) in an announced
 * endpoint means "the address the tracker observes, with this port".
 */
export interface Endpoint {
  family: 4 | 6
  address: string
  port: number
}

/** Parse an IPv4 or IPv6 literal to bytes; null when it is neither. Pure, no DNS. */
export function parseIp(text: string): Uint8Array | null {
  return parseIPv4(text) ?? parseIPv6(text)
}

export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const out = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? ''
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null
    const n = Number(p)
    if (n > 255) return null
    out[i] = n
  }
  return out
}

export function parseIPv6(input: string): Uint8Array | null {
  let text = input
  if (text.length > 45 || text.length < 2) return null
  const out = new Uint8Array(16)
  // An embedded IPv4 tail (::ffff:1.2.3.4) fills the last 4 bytes.
  let tail: Uint8Array | null = null
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1))
    if (tail === null) return null
    text = text.slice(0, lastColon + 1) + '0:0'
  }
  const halves = text.split('::')
  if (halves.length > 2) return null
  const groups = (s: string): string[] | null => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0] ?? '')
  const rest = halves.length === 2 ? groups(halves[1] ?? '') : []
  if (head === null || rest === null) return null
  const total = head.length + rest.length
  if (halves.length === 2 ? total > 7 : total !== 8) return null
  const words = [...head, ...Array<string>(8 - total).fill('0'), ...rest]
  for (let i = 0; i < 8; i++) {
    const w = words[i] ?? ''
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return null
    const n = parseInt(w, 16)
    out[i * 2] = n >> 8
    out[i * 2 + 1] = n & 0xff
  }
  if (tail !== null) out.set(tail, 12)
  return out
}

export function formatIp(bytes: Uint8Array): string {
  if (bytes.byteLength === 4) return bytes.join('.')
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0))
  // RFC 5952: compress the longest run (length >= 2) of zero words, the first one on a tie.
  let bestAt = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (ws: number[]): string => ws.map(w => w.toString(16)).join(':')
  if (bestAt < 0) return hex(words)
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`
}

/**
 * True for an IPv4-mapped IPv6 address (::ffff:0:0/96, RFC 4291 §2.5.5.2). §4: such an address
 * is never sent on the wire; it is the IPv4 address of its last four bytes.
 */
export function isIPv4Mapped(bytes: Uint8Array): boolean {
  if (bytes.byteLength !== 16) return false
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

/**
 * Normalise an address as sockets report it: an IPv4-mapped IPv6 address, in either text form
 * (::ffff:192.0.2.1 or ::ffff:c000:201), becomes IPv4 (§4); zone ids are dropped.
 */
export function endpointFrom(address: string, port: number): Endpoint | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const text = mapped?.[1] ?? address
  let bytes = parseIp(text.replace(/%.*$/, ''))
  if (bytes === null || !Number.isInteger(port) || port < 0 || port > 0xffff) return null
  if (isIPv4Mapped(bytes)) bytes = bytes.subarray(12)
  return { family: bytes.byteLength === 4 ? 4 : 6, address: formatIp(bytes), port }
}

/**
 * §4: an endpoint on the wire. IPv4 is always family 4: a family-6 endpoint holding an
 * IPv4-mapped address is refused both ways (WIRE_BAD_ENDPOINT), so one address has one encoding.
 */
export function writeEndpoint(w: Writer, ep: Endpoint, field: string): void {
  const bytes = ep.family === 4 ? parseIPv4(ep.address) : parseIPv6(ep.address)
  if (bytes === null) throw new WireError('WIRE_BAD_ENDPOINT', `${field} address`)
  if (isIPv4Mapped(bytes)) {
    throw new WireError('WIRE_BAD_ENDPOINT', `${field} is IPv4-mapped: send it as family 4`)
  }
  if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 0xffff) {
    throw new WireError('WIRE_BAD_ENDPOINT', `${field} port`)
  }
  w.u8(ep.family, field)
  w.raw(bytes)
  w.u16(ep.port, field)
}

export function readEndpoint(r: Reader, field: string): Endpoint {
  const family = r.u8(field)
  if (family !== 4 && family !== 6)
    throw new WireError('WIRE_BAD_ENDPOINT', `${field} family ${family}`)
  const raw = r.bytes(family === 4 ? 4 : 16, field)
  if (isIPv4Mapped(raw)) {
    throw new WireError('WIRE_BAD_ENDPOINT', `${field} is IPv4-mapped: IPv4 is family 4`)
  }
  const address = formatIp(raw)
  const port = r.u16(field)
  if (port === 0) throw new WireError('WIRE_BAD_ENDPOINT', `${field} port 0`)
  return { family, address, port }
}

export function endpointToString(ep: Endpoint): string {
  return ep.family === 6 ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`
}
