import { type KeyObject, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { isStrictPublicKey, strictRefusal } from './strict.js'

/*
 * Ed25519 through node:crypto (about 70x faster than tweetnacl here: see docs/benchmarks.md).
 * Raw 32-byte public keys are imported as JWK (RFC 8037); seeds through a fixed PKCS#8 prefix.
 */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Public KeyObjects are cached: building one costs about as much as a verification. */
const publicKeys = new LRUCache<string, KeyObject>({ max: 16_384 })

/** A KeyObject for a raw public key; null unless it is a strict key (src/crypto/strict.ts). */
export function publicKeyObject(raw: Uint8Array): KeyObject | null {
  if (!isStrictPublicKey(raw)) return null
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1')
  let key = publicKeys.get(id)
  if (key === undefined) {
    try {
      // JWK import is ~15x faster than DER/SPKI import here (scripts/bench-wire.ts).
      key = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
        format: 'jwk',
      })
    } catch {
      return null
    }
    publicKeys.set(id, key)
  }
  return key
}

/** A private KeyObject from a 32-byte seed (RFC 8032's "secret key"). */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== 32) throw new TypeError('an Ed25519 seed is 32 bytes')
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  })
}

/** The raw 32-byte public key of a private or public Ed25519 KeyObject. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  const der = pub.export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(der.byteLength - 32))
}

/** The 32-byte seed of a private key (for tweetnacl cross-checks and key files). */
export function rawSeed(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'pkcs8' })
  return new Uint8Array(der.subarray(der.byteLength - 32))
}

export function signBytes(privateKey: KeyObject, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, data, privateKey))
}

/**
 * Verify an Ed25519 signature under the strict rule of docs/protocol.md §7: false for a key or
 * R of small order, a non-canonical key or R, S >= L, or a malformed key or signature; never a
 * throw. The byte checks (src/crypto/strict.ts) run first, then node:crypto's RFC 8032 check.
 */
export function verifyBytes(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (strictRefusal(publicKey, signature) !== null) return false
  const key = publicKeyObject(publicKey)
  if (key === null) return false
  try {
    return verify(null, data, key, signature)
  } catch {
    return false
  }
}
