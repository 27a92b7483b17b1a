import { WireError } from '../errors.js'
import { Limits, MessageType, PROTOCOL_VERSION } from './constants.js'
import { parseIPv6 } from './endpoint.js'
import { type AnnounceStatus, INTRODUCTIONS_HEADER } from './messages.js'

/*
 * Direct encoders for the two replies on the hot path, from what the table holds (record bytes
 * as latin1 text, the observed address as canonical text). They produce exactly the bytes
 * `encodeMessage` would (test/wire/fast-replies.test.ts checks it on random input) but in one
 * allocation, without re-parsing addresses through the generic Writer: on a sample query that
 * was most of the time spent. An address that does not parse throws WIRE_BAD_ENDPOINT, as the
 * codec does: nothing is ever sent to a made-up address.
 */

/** A held entry as the encoders read it (the table's Entry has these fields). */
export interface HeldEntry {
  /** Observed source address, canonical text (dotted quad, or RFC 5952 IPv6). */
  readonly ip: string
  readonly port: number
  /** Unix seconds of the last announce. */
  readonly seen: number
  /** The signed record bytes as latin1 text. */
  readonly rec: string
  /** Unix seconds of the last proof of any endpoint (0 = never; §8.6 proofAge). */
  readonly provenAt: number
}

const STATUS: Readonly<Record<AnnounceStatus, number>> = {
  new: 0,
  refreshed: 1,
  replaced: 2,
  withdrawn: 3,
}

/** Bytes of an encoded endpoint (§4) for a canonical address text. */
function endpointSize(address: string): number {
  return address.includes(':') ? 19 : 7
}

/**
 * Write an endpoint (§4) at `at`; returns the offset after it. `address` is canonical text as
 * stored (dotted quad, or RFC 5952 IPv6), so the IPv4 case is a digit scan.
 */
function writeEndpoint(buf: Buffer, at: number, address: string, port: number): number {
  if (address.includes(':')) {
    const bytes = parseIPv6(address)
    if (bytes === null) throw badAddress(address)
    buf[at] = 6
    buf.set(bytes, at + 1)
    buf.writeUInt16BE(port, at + 17)
    return at + 19
  }
  buf[at] = 4
  let octet = 0
  let digits = 0
  let i = at + 1
  for (let c = 0; c < address.length; c++) {
    const ch = address.charCodeAt(c)
    if (ch === 46) {
      if (digits === 0 || i === at + 4) throw badAddress(address)
      buf[i++] = octet
      octet = 0
      digits = 0
    } else if (ch >= 48 && ch <= 57 && digits < 3 && (digits === 0 || octet !== 0)) {
      octet = octet * 10 + (ch - 48)
      digits++
      if (octet > 255) throw badAddress(address)
    } else throw badAddress(address)
  }
  if (digits === 0 || i !== at + 4) throw badAddress(address)
  buf[i] = octet
  buf.writeUInt16BE(port, at + 5)
  return at + 7
}

function badAddress(address: string): WireError {
  return new WireError('WIRE_BAD_ENDPOINT', `held address ${JSON.stringify(address)}`)
}

function header(buf: Buffer, type: number, txid: number): void {
  buf[0] = (PROTOCOL_VERSION << 4) | type
  buf.writeUInt32BE(txid >>> 0, 1)
}

/** §8.4 announce-reply. */
export function encodeAnnounceReply(
  txid: number,
  status: AnnounceStatus,
  interval: number,
  address: string,
  port: number,
): Uint8Array {
  const buf = Buffer.allocUnsafe(5 + 1 + 2 + endpointSize(address))
  header(buf, MessageType.ANNOUNCE_REPLY, txid)
  buf[5] = STATUS[status]
  buf.writeUInt16BE(interval, 6)
  writeEndpoint(buf, 8, address, port)
  return buf
}

/**
 * §8.6 introductions from held entries: as many leading entries as fit in `maxBytes` (UDP:
 * MAX_DATAGRAM), `total` saturating at 65535, ages in whole seconds (saturating).
 */
export function encodeIntroductions(
  txid: number,
  total: number,
  entries: readonly HeldEntry[],
  nowSeconds: number,
  maxBytes: number,
  proven?: readonly number[],
): Uint8Array {
  let size = INTRODUCTIONS_HEADER
  let n = 0
  for (const e of entries) {
    if (n >= Limits.QUERY_COUNT_MAX) break
    const proof = (proven?.[n] ?? 0) !== 0 ? 3 : 0
    const s = endpointSize(e.ip) + 5 + proof + e.rec.length
    if (size + s > maxBytes) break
    size += s
    n++
  }
  const buf = Buffer.allocUnsafe(size)
  header(buf, MessageType.INTRODUCTIONS, txid)
  buf.writeUInt16BE(Math.min(0xffff, Math.max(0, total)), 5)
  buf[7] = n
  let at = INTRODUCTIONS_HEADER
  for (let i = 0; i < n; i++) {
    const e = entries[i] as HeldEntry
    at = writeEndpoint(buf, at, e.ip, e.port)
    const mask = proven?.[i] ?? 0
    if (mask !== 0) {
      // §8.6: verified, proof details follow (the mask, seconds since the last proof).
      buf[at] = 0x03
      buf[at + 1] = mask & 0xff
      buf.writeUInt16BE(Math.min(0xffff, Math.max(0, nowSeconds - e.provenAt)), at + 2)
      at += 3
    } else {
      buf[at] = 0
    }
    buf.writeUInt16BE(Math.min(0xffff, Math.max(0, nowSeconds - e.seen)), at + 1)
    buf.writeUInt16BE(e.rec.length, at + 3)
    at += 5
    at += buf.write(e.rec, at, 'latin1')
  }
  return buf
}
