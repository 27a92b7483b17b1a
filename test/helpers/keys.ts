import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import type { KeyPair } from '../../src/crypto/keys.js'

/** Deterministic test keys: seed bytes all equal to `n`. Ed25519 signing is deterministic. */
export function testKey(n: number): KeyPair & { seed: Uint8Array } {
  const seed = new Uint8Array(32).fill(n)
  const privateKey = privateKeyFromSeed(seed)
  return { privateKey, publicKey: rawPublicKey(privateKey), seed }
}
