import { createHmac } from 'node:crypto'

/** Derive the per-asker sample key from the cookie secret (a separate use, a separate key). */
export function deriveSampleKey(cookieSecret: Uint8Array): Uint8Array {
  return createHmac('sha256', cookieSecret).update('metatracker/v1/sample-seed').digest()
}

/** What one sample seed depends on. */
export interface SampleSeedInput {
  /** The source address as 16 bytes (IPv4 as IPv4-mapped IPv6); never the port. */
  ip16: Uint8Array
  family: 4 | 6
  /** floor(now / sampleWindow). */
  window: number
  kind: 'peer' | 'server'
  count: number
  network: string
}

/**
 * The asker part of a seed: the source address as 16 bytes, of an IPv6 source only its /64 (the
 * rest zero), so a scraper gains no fresh sample by changing ports or addresses within its /64.
 */
export function sampleAsker(ip16: Uint8Array, family: 4 | 6): Buffer {
  const asker = Buffer.alloc(16)
  asker.set(family === 6 ? ip16.subarray(0, 8) : ip16, 0)
  return asker
}

/**
 * Seed of one asker's sample (docs/protocol.md §8.5): HMAC-SHA256(sampleKey, asker[16] ||
 * u48 window || u8 kind (server 1, peer 0) || u8 count || network). The same asker asking the
 * same thing within one window gets the same sample; another address or the next window another.
 */
export function sampleSeed(sampleKey: Uint8Array, input: SampleSeedInput): Uint8Array {
  const head = Buffer.alloc(16 + 8 + 2)
  head.set(sampleAsker(input.ip16, input.family), 0)
  head.writeUIntBE(input.window, 16, 6)
  head.writeUInt8(input.kind === 'server' ? 1 : 0, 24)
  head.writeUInt8(input.count, 25)
  return createHmac('sha256', sampleKey).update(head).update(input.network).digest()
}
