import { Limits } from './constants.js'

/*
 * Byte positions other floors read without decoding a whole message or record (docs/protocol.md
 * §5, §7, §8): the hot path looks at a request's cookie and an announce's record in place, and
 * the table keys entries by a record's leading bytes. Every such offset is defined here, beside
 * the codec that writes the same bytes.
 */

/** Every message starts with u8 (version << 4 | type) and u32 txid. */
export const HEADER_BYTES = 1 + 4

/** Where the cookie sits in a request that carries one (announce, query, stats request). */
export const COOKIE_AT = HEADER_BYTES

/** A cookie reply: header and cookie (17 bytes). */
export const COOKIE_REPLY_BYTES = HEADER_BYTES + Limits.COOKIE_BYTES

/** Where the record starts inside an announce: header, then cookie. */
export const ANNOUNCE_RECORD_AT = COOKIE_AT + Limits.COOKIE_BYTES

/** The cookie field of a request (bytes 5..17, a view); null when the request is too short. */
export function requestCookie(data: Uint8Array): Uint8Array | null {
  if (data.byteLength < COOKIE_AT + Limits.COOKIE_BYTES) return null
  return data.subarray(COOKIE_AT, COOKIE_AT + Limits.COOKIE_BYTES)
}

/** The u32 time a cookie carries in its first bytes. */
export function cookieTime(cookie: Uint8Array): number {
  return new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0)
}

/** The record bytes of an announce, as sent (a view; not yet decoded). */
export function announceRecord(data: Uint8Array): Uint8Array {
  return data.subarray(ANNOUNCE_RECORD_AT)
}

/**
 * Length of a record's table key: its first bytes (u8 network length, network, 32-byte public
 * key); -1 when the bytes are too short to hold one.
 */
export function recordKeyLength(record: Uint8Array): number {
  const len = 1 + (record[0] ?? 0) + Limits.PUBLIC_KEY_BYTES
  return record.byteLength >= len ? len : -1
}

/** The public key inside a record's key (a view); the record must hold a whole key. */
export function recordPublicKey(record: Uint8Array): Uint8Array {
  const end = 1 + (record[0] ?? 0) + Limits.PUBLIC_KEY_BYTES
  return record.subarray(end - Limits.PUBLIC_KEY_BYTES, end)
}

/**
 * The network name of a record held as latin1 text (the network is ASCII, §3 charset, so its
 * latin1 text is the name).
 */
export function recordNetworkText(recordText: string): string {
  return recordText.slice(1, 1 + recordText.charCodeAt(0))
}

/** The public key (latin1 text) at the end of a record key (latin1 text). */
export function keyPublicKeyText(keyText: string): string {
  return keyText.slice(keyText.length - Limits.PUBLIC_KEY_BYTES)
}

/**
 * The key, as latin1 text, a record of this network and public key has (u8 length, network,
 * key): null when `publicKey` is not a whole key.
 */
export function recordKeyText(network: string, publicKey: Uint8Array | null): string | null {
  if (publicKey?.byteLength !== Limits.PUBLIC_KEY_BYTES) return null
  return String.fromCharCode(network.length) + network + latin1(publicKey)
}

/** Bytes as latin1 text, one char per byte (how the table holds records and keys). */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}
