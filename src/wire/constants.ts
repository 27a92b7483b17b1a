/**
 * Protocol version 1 constants. docs/protocol.md is normative; section numbers in comments
 * refer to it.
 */

/** §2: the high nibble of the first byte. */
export const PROTOCOL_VERSION = 1

/** §2: the low nibble of the first byte. */
export const MessageType = {
  COOKIE_REQUEST: 0x0,
  COOKIE_REPLY: 0x1,
  ANNOUNCE: 0x2,
  ANNOUNCE_REPLY: 0x3,
  QUERY: 0x4,
  INTRODUCTIONS: 0x5,
  ERROR: 0x6,
  CHALLENGE: 0x7,
  CHALLENGE_REPLY: 0x8,
  STATS_REQUEST: 0x9,
  STATS_REPLY: 0xa,
} as const
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType]

/** §3: limits. Every count and length read from the wire is checked against one of these. */
export const Limits = {
  /** Largest UDP datagram we send or accept. */
  MAX_DATAGRAM: 1200,
  /** Largest TCP frame payload (replies may be larger than datagrams). */
  MAX_FRAME: 256 * 1024,
  /** Largest request a tracker accepts on TCP. */
  MAX_REQUEST: 2048,
  /** Bytes in a cookie (4-byte time + 8-byte MAC). */
  COOKIE_BYTES: 12,
  /** A cookie request is exactly this long: no cookie reply is ever larger than it. */
  COOKIE_REQUEST_BYTES: 24,
  NETWORK_MAX: 32,
  ENDPOINTS_MAX: 8,
  SERVER_NAME_MAX: 64,
  WORLD_MAX: 64,
  VERSION_MAX: 32,
  TAGS_MAX: 8,
  TAG_MAX: 24,
  QUERY_TAGS_MAX: 4,
  /** Most entries one query may ask for. */
  QUERY_COUNT_MAX: 100,
  /** Longest record lifetime (expiresAt - issuedAt), seconds. */
  RECORD_LIFETIME_MAX: 86_400,
  /** Largest encoded record (the format's own maximum is 667 bytes). */
  RECORD_MAX: 700,
  STATS_MAX: 128,
  STAT_NAME_MAX: 48,
  CHALLENGE_TOKEN_BYTES: 16,
  PUBLIC_KEY_BYTES: 32,
  SIGNATURE_BYTES: 64,
} as const

/** §7: the signing domain of a node record. */
export const RECORD_SIGNING_DOMAIN = 'metatracker/v1/node-record'

/** §6: numeric error codes carried by ERROR messages, each with a fixed short reason. */
export const WireErrorCode = {
  MALFORMED: 1,
  BAD_SIGNATURE: 2,
  STALE_SEQUENCE: 3,
  EXPIRED: 4,
  BAD_TIME: 5,
  DENIED: 6,
  RATE_LIMITED: 7,
  TABLE_FULL: 8,
  BLOCK_FULL: 9,
  OVERLOADED: 10,
  UNSUPPORTED: 11,
  UNKNOWN_NETWORK: 12,
  INTERNAL: 13,
} as const
export type WireErrorNumber = (typeof WireErrorCode)[keyof typeof WireErrorCode]

export const WIRE_ERROR_REASONS: Readonly<Record<WireErrorNumber, string>> = {
  1: 'malformed request',
  2: 'bad signature',
  3: 'sequence lower than the one held',
  4: 'record expired',
  5: 'record time out of range',
  6: 'denied',
  7: 'rate limited',
  8: 'table full',
  9: 'address block full',
  10: 'overloaded',
  11: 'unsupported',
  12: 'unknown network',
  13: 'internal error',
}

export function wireErrorReason(code: number): string {
  return (WIRE_ERROR_REASONS as Record<number, string | undefined>)[code] ?? 'unknown error'
}
