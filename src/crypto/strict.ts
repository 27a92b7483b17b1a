/*
 * The strict Ed25519 acceptance rule of docs/protocol.md §7, as byte comparisons that run before
 * any curve arithmetic. Every verifier goes through here: verifyBytes (node:crypto: tracker,
 * client, bootpage, checkpoints) and naclVerify (tweetnacl); bootpage/verify.js repeats the same
 * tables for browsers.
 *
 * RFC 8032's cofactorless check, as OpenSSL and tweetnacl implement it, lets anyone "sign" for a
 * public key of small order: with A the identity, R the identity and S = 0 verify for every
 * message, and the other torsion points work for a share of messages. The rule here is
 * libsodium's (crypto_sign_verify_detached without ED25519_COMPAT): refuse
 *  - A or R whose y coordinate (the low 255 bits) is one of the 7 values a point of order 1, 2,
 *    4 or 8 can encode, whatever the sign bit. That covers the 8 torsion points in all 14 of
 *    their encodings, including y = p and y = p + 1 and x = 0 with the sign bit set;
 *  - A or R whose y is not below p (a non-canonical field element);
 *  - S not below the group order L (tweetnacl does not check it: S + L would verify there).
 * Keys with a torsion component but a large order are not refused (telling them apart costs a
 * scalar multiplication); making a signature for one still needs its private key.
 */

/** Why the strict rule refuses a (public key, signature) pair before verifying it. */
export type StrictRefusal =
  | 'key-length'
  | 'signature-length'
  | 'key-small-order'
  | 'key-non-canonical'
  | 'r-small-order'
  | 'r-non-canonical'
  | 's-not-reduced'

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'))

/**
 * The y coordinates (little-endian, top bit clear) of the points of order 1, 2, 4 and 8,
 * including the two non-canonical ones below 2^255. The sign bit is ignored when comparing, so
 * these 7 rows stand for 14 encodings.
 */
export const SMALL_ORDER_Y: readonly Uint8Array[] = [
  // y = 0: the two points of order 4 (x = ±sqrt(-1))
  hexBytes('0000000000000000000000000000000000000000000000000000000000000000'),
  // y = 1: the identity (order 1); with the sign bit set, x = 0 encoded as negative
  hexBytes('0100000000000000000000000000000000000000000000000000000000000000'),
  // y = p - 1: the point of order 2 (x = 0)
  hexBytes('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  // y = p: non-canonical encoding of y = 0 (order 4)
  hexBytes('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  // y = p + 1: non-canonical encoding of y = 1 (the identity)
  hexBytes('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  // the two y coordinates of the four points of order 8
  hexBytes('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'),
  hexBytes('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'),
]

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
export const GROUP_ORDER_L = hexBytes(
  'edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010',
)

/**
 * First byte → row of SMALL_ORDER_Y plus one (0: no row starts with it). The 7 rows start with
 * 7 different bytes, so one lookup settles all but 7 in 256 random encodings.
 */
const BY_FIRST_BYTE = new Uint8Array(256)
SMALL_ORDER_Y.forEach((row, i) => {
  const first = row[0] ?? 0
  if (BY_FIRST_BYTE[first] !== 0) throw new Error('small-order table: first bytes collide')
  BY_FIRST_BYTE[first] = i + 1
})

/** True when the 32-byte point encoding at `at` has the y coordinate of a small-order point. */
export function isSmallOrderEncoding(b: Uint8Array, at = 0): boolean {
  const row = BY_FIRST_BYTE[b[at] ?? 0] ?? 0
  const y = row === 0 ? undefined : SMALL_ORDER_Y[row - 1]
  if (y === undefined) return false
  for (let i = 1; i < 31; i++) if (b[at + i] !== y[i]) return false
  return ((b[at + 31] ?? 0) & 0x7f) === y[31]
}

/** True when the y coordinate of the 32-byte point encoding at `at` is below p = 2^255 - 19. */
export function isCanonicalEncoding(b: Uint8Array, at = 0): boolean {
  // y >= p only when y = 2^255 - 19 + k, 0 <= k < 19: bytes ed..ff, then ff × 30, then 7f.
  if (((b[at + 31] ?? 0) & 0x7f) !== 0x7f) return true
  for (let i = 30; i > 0; i--) if (b[at + i] !== 0xff) return true
  return (b[at] ?? 0) < 0xed
}

/** True when the 32-byte little-endian scalar at `at` is below the group order L. */
export function isReducedScalar(b: Uint8Array, at = 0): boolean {
  for (let i = 31; i >= 0; i--) {
    const v = b[at + i] ?? 0
    const l = GROUP_ORDER_L[i] ?? 0
    if (v !== l) return v < l
  }
  return false // equal to L
}

/** Why a 32-byte public key is refused as a key (null: acceptable). */
export function publicKeyRefusal(
  publicKey: Uint8Array,
): 'key-length' | 'key-small-order' | 'key-non-canonical' | null {
  if (publicKey.byteLength !== 32) return 'key-length'
  if (isSmallOrderEncoding(publicKey)) return 'key-small-order'
  if (!isCanonicalEncoding(publicKey)) return 'key-non-canonical'
  return null
}

/** True when `publicKey` may name a signer: 32 bytes, canonical, not of small order. */
export function isStrictPublicKey(publicKey: Uint8Array): boolean {
  return publicKeyRefusal(publicKey) === null
}

/** True when `hex` is 64 hex digits naming a strict public key. */
export function isStrictPublicKeyHex(hex: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(hex) && isStrictPublicKey(hexBytes(hex))
}

/**
 * Why the strict rule refuses this key and signature before any verification (null: the pair
 * may go on to the curve check). Costs a few array reads: see scripts/bench-wire.ts.
 */
export function strictRefusal(publicKey: Uint8Array, signature: Uint8Array): StrictRefusal | null {
  const key = publicKeyRefusal(publicKey)
  if (key !== null) return key
  if (signature.byteLength !== 64) return 'signature-length'
  if (isSmallOrderEncoding(signature, 0)) return 'r-small-order'
  if (!isCanonicalEncoding(signature, 0)) return 'r-non-canonical'
  if (!isReducedScalar(signature, 32)) return 's-not-reduced'
  return null
}
