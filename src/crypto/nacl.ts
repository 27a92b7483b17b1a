import nacl from 'tweetnacl'
import { Limits } from '../wire/constants.js'
import { type SignedRecord, recordSigningInput } from '../wire/record.js'
import { strictRefusal } from './strict.js'

/**
 * Pure-JS Ed25519 (tweetnacl): the implementation the bootpage uses in browsers, and an
 * independent cross-check of node:crypto. About 70x slower; never on the daemon's hot path.
 * The strict byte checks (src/crypto/strict.ts) run first: tweetnacl alone accepts keys of
 * small order and S >= L.
 */
export function naclVerify(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (strictRefusal(publicKey, signature) !== null) return false
  return nacl.sign.detached.verify(data, signature, publicKey)
}

export function naclSign(seed: Uint8Array, data: Uint8Array): Uint8Array {
  return nacl.sign.detached(data, nacl.sign.keyPair.fromSeed(seed).secretKey)
}

export function naclVerifyRecord(signed: SignedRecord): boolean {
  const body = signed.bytes.subarray(0, signed.bytes.byteLength - Limits.SIGNATURE_BYTES)
  return naclVerify(signed.record.publicKey, recordSigningInput(body), signed.signature)
}
