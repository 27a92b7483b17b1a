import {
  type NodeRecord,
  type SignedRecord,
  decodeRecord,
  encodeSignedRecord,
} from '../../src/wire/record.js'

/** Base time of fake records (Unix seconds), matching ManualClock's default start. */
export const T0 = 1_800_000_000

/** A 32-byte public key made from a number (not a real Ed25519 key: for table tests only). */
export function fakeKey(i: number): Uint8Array {
  const k = new Uint8Array(32)
  new DataView(k.buffer).setUint32(0, i)
  return k
}

/**
 * A record with a zero signature: the table never verifies (the handler does), so table tests
 * can make thousands without signing.
 */
export function fakeRecord(i: number, fields: Partial<NodeRecord> = {}): SignedRecord {
  const rec: NodeRecord = {
    network: 'testnet',
    publicKey: fakeKey(i),
    seq: 1,
    issuedAt: T0,
    expiresAt: T0 + 3600,
    kind: 'peer',
    endpoints: [],
    server: null,
    ...fields,
  }
  return decodeRecord(encodeSignedRecord(rec, new Uint8Array(64)))
}
