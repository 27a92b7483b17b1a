import type { KeyObject } from 'node:crypto'
import { Limits } from '../wire/constants.js'
import {
  type NodeRecord,
  type SignedRecord,
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  recordSigningInput,
} from '../wire/record.js'
import { signBytes, verifyBytes } from './ed25519.js'

/** Sign a record's fields with the node's key; the result carries the exact bytes to send. */
export function signRecord(record: NodeRecord, privateKey: KeyObject): SignedRecord {
  const body = encodeRecordBody(record)
  const signature = signBytes(privateKey, recordSigningInput(body))
  return decodeRecord(encodeSignedRecord(record, signature))
}

/**
 * Verify the signature over the exact bytes received (never a re-encoding) with the public key
 * the record names.
 */
export function verifyRecord(signed: SignedRecord): boolean {
  const body = signed.bytes.subarray(0, signed.bytes.byteLength - Limits.SIGNATURE_BYTES)
  return verifyBytes(signed.record.publicKey, recordSigningInput(body), signed.signature)
}
