import { Limits } from '../wire/constants.js'
import { type SignedRecord, recordSigningInput } from '../wire/record.js'
import { verifyBytes } from './ed25519.js'

/*
 * The bytes of one batch of the verify pool (src/crypto/verify-pool.ts): one ArrayBuffer,
 * transferred to a worker, never copied per record nor cloned as objects. Per record:
 *   u8 key length, u8 signature length, u16 body length (big-endian), key, signature, body
 * where body, key and signature are exactly what `verifyRecord` (src/crypto/record-sign.ts)
 * checks: the record's bytes without the signature, the public key the record names, and its
 * signature. The worker checks them with the same `verifyBytes` (strict rule of
 * docs/protocol.md §7 included), so pool and `verifyRecord` agree on every record.
 */

const HEAD = 4

function bodyOf(signed: SignedRecord): Uint8Array {
  return signed.bytes.subarray(0, signed.bytes.byteLength - Limits.SIGNATURE_BYTES)
}

/** The batch buffer for these records (fresh, so it can be transferred). */
export function packBatch(records: readonly SignedRecord[]): ArrayBuffer {
  let size = 0
  for (const r of records) {
    size += HEAD + r.record.publicKey.byteLength + r.signature.byteLength + bodyOf(r).byteLength
  }
  const buf = new ArrayBuffer(size)
  const out = new Uint8Array(buf)
  const view = new DataView(buf)
  let at = 0
  for (const r of records) {
    const key = r.record.publicKey
    const sig = r.signature
    const body = bodyOf(r)
    // Decoded records hold 32, 64 and at most RECORD_MAX bytes: a u8/u8/u16 head always fits.
    if (key.byteLength > 0xff || sig.byteLength > 0xff || body.byteLength > 0xffff) {
      throw new RangeError('record too large for a verify batch')
    }
    out[at] = key.byteLength
    out[at + 1] = sig.byteLength
    view.setUint16(at + 2, body.byteLength)
    at += HEAD
    out.set(key, at)
    at += key.byteLength
    out.set(sig, at)
    at += sig.byteLength
    out.set(body, at)
    at += body.byteLength
  }
  return buf
}

/** Verify every record of a packed batch: one byte per record, 1 = the signature verifies. */
export function verifyPacked(buf: ArrayBuffer): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(buf)
  const view = new DataView(buf)
  const results: number[] = []
  let at = 0
  while (at + HEAD <= bytes.byteLength) {
    const keyLen = bytes[at] ?? 0
    const sigLen = bytes[at + 1] ?? 0
    const bodyLen = view.getUint16(at + 2)
    at += HEAD
    const key = bytes.subarray(at, at + keyLen)
    at += keyLen
    const sig = bytes.subarray(at, at + sigLen)
    at += sigLen
    const body = bytes.subarray(at, at + bodyLen)
    at += bodyLen
    results.push(verifyBytes(key, recordSigningInput(body), sig) ? 1 : 0)
  }
  return Uint8Array.from(results)
}
