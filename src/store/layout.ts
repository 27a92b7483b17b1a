import { createHmac } from 'node:crypto'
import { blocksOf } from '../table/blocks.js'
import type { Endpoint } from '../wire/endpoint.js'

/*
 * Key names and the stored value of the Redis store (docs/scale-out.md §2). Every key of a bucket
 * carries the hash tag `{prefix:b}`, so one bucket lives in one cluster slot and one script call
 * touches one slot. The bucket of a table key is a keyed hash (the salt is made once, in Redis),
 * so nobody can grind keys that all land in one bucket.
 */

/** The seven keys the store script takes, in its order (script.ts). */
export function bucketKeys(prefix: string, b: number): string[] {
  const t = `{${prefix}:${b}}`
  return ['h', 'l', 'e', 'q', 'z', 'c', 'x'].map(s => `${t}${s}`)
}

export function streamKey(prefix: string, b: number): string {
  return `{${prefix}:${b}}x`
}

export function metaKey(prefix: string): string {
  return `{${prefix}}meta`
}

export function secretKey(prefix: string): string {
  return `{${prefix}}secret`
}

/** The bucket of a table key (latin1 string of network and public key). */
export function bucketOf(salt: Uint8Array, key: string, buckets: number): number {
  const d = createHmac('sha256', salt).update(key, 'latin1').digest()
  return d.readUInt32BE(0) % buckets
}

/** What a stored value holds besides the record. */
export interface StoredValue {
  observed: Endpoint
  seenMs: number
  /** The observed endpoint was proven by the request that stored it (a UDP cookie). */
  proven: boolean
  record: Uint8Array
}

/** The value stored for a record: a short text header (block, wide, where, when) and the bytes. */
export function encodeValue(v: StoredValue): Buffer {
  const [blk, wide] = blocksOf(v.observed.address)
  const o = v.observed
  const head = `${blk}\t${wide}\t${o.family}\t${o.address}\t${o.port}\t${v.seenMs}\t${v.proven ? 1 : 0}\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), v.record])
}

/** The inverse of encodeValue; null when the value is not one (never trusted blindly). */
export function decodeValue(buf: Buffer): StoredValue | null {
  const nl = buf.indexOf(0x0a)
  if (nl < 0) return null
  const f = buf.subarray(0, nl).toString('latin1').split('\t')
  if (f.length !== 7) return null
  const family = Number(f[2])
  const port = Number(f[4])
  const seenMs = Number(f[5])
  if ((family !== 4 && family !== 6) || !Number.isInteger(port) || !Number.isFinite(seenMs)) {
    return null
  }
  return {
    observed: { family, address: f[3] ?? '', port },
    seenMs,
    proven: f[6] === '1',
    record: new Uint8Array(buf.subarray(nl + 1)),
  }
}
