// Request payloads for scripts/bench-peers.ts, written as payload files for
// scripts/loadgen/loadgen.c: [u16 big-endian length][bytes], one request after another.
import { generateKeyPairSync } from 'node:crypto'
import { rawPublicKey } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import { encodeMessage } from '../../src/wire/messages.js'

/** Network of the 10,000 entries the sample queries draw from. */
export const SAMPLE_NETWORK = 'bench.example'
/** Network of the refreshed and fresh announces (kept apart from the sampled entries). */
export const FRESH_NETWORK = 'load.example'
/** The torrent every throughput announce names (first of opentracker's whitelist). */
export const INFO_HASH = '6d65746174726163b3e6e3a7d1c0ffee00c0ff00'
/** Torrents of the memory fill (opentracker's whitelist holds them all). */
export const INFO_HASHES = Array.from(
  { length: 16 },
  (_, i) => INFO_HASH.slice(0, 38) + i.toString(16).padStart(2, '0'),
)

export function payloadFile(packets: readonly Uint8Array[]): Uint8Array {
  const size = packets.reduce((n, p) => n + 2 + p.byteLength, 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const p of packets) {
    view.setUint16(at, p.byteLength)
    out.set(p, at + 2)
    at += 2 + p.byteLength
  }
  return out
}

/** A metatracker announce (docs/protocol.md §8.3) with a zero cookie: the generator sets it. */
export function announcePacket(record: Uint8Array, txid: number): Uint8Array {
  const out = new Uint8Array(17 + record.byteLength)
  out[0] = 0x12
  new DataView(out.buffer).setUint32(1, txid >>> 0)
  out.set(record, 17)
  return out
}

/** `count` signed peer records with new keys, as announces (for the refresh phase). */
export function signedAnnounces(count: number, at: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const signed = signRecord(
      {
        network: FRESH_NETWORK,
        publicKey: rawPublicKey(privateKey),
        seq: 1,
        issuedAt: at,
        expiresAt: at + 3600,
        kind: 'peer',
        endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
        server: null,
      },
      privateKey,
    )
    return announcePacket(signed.bytes, i + 1)
  })
}

/** A sample query for 8 peers (docs/protocol.md §8.5), zero cookie. */
export function sampleQuery(): Uint8Array {
  return encodeMessage({
    type: 'query',
    txid: 7,
    cookie: new Uint8Array(12),
    network: SAMPLE_NETWORK,
    kind: 'peer',
    mode: 'sample',
    count: 8,
    offset: 0,
    sort: 'players',
    notFull: false,
    world: '',
    version: '',
    tags: [],
    exclude: null,
  })
}

/**
 * BEP 15 announces of `count` distinct peers for a memory fill: opentracker keys a peer by
 * address and port, so each (torrent, port) pair is new: 16 torrents × up to 65,535 ports.
 */
export function bep15Distinct(count: number): Uint8Array {
  const size = 100
  const out = new Uint8Array(count * size)
  const v = new DataView(out.buffer)
  const hashes = INFO_HASHES.map(h => Buffer.from(h, 'hex'))
  for (let i = 0; i < count; i++) {
    const at = i * size
    v.setUint16(at, 98)
    const p = at + 2
    v.setUint32(p + 8, 1)
    v.setUint32(p + 12, i + 1)
    out.set(hashes[i % hashes.length] ?? hashes[0] ?? new Uint8Array(20), p + 16)
    v.setUint32(p + 36, i) // peer id
    v.setBigUint64(p + 64, 1n)
    v.setUint32(p + 88, i + 1)
    v.setInt32(p + 92, 0) // numwant 0
    v.setUint16(p + 96, 1 + Math.floor(i / hashes.length))
  }
  return out
}

/**
 * BEP 15 announces (98 bytes; connection id left zero: the generator sets it): `count` distinct
 * peers (peer id and port) of one torrent, event none, left 1 (a leecher, so it gets peers),
 * numwant 8 like the metatracker sample.
 */
export function bep15Announces(count: number): Uint8Array[] {
  const hash = Buffer.from(INFO_HASH, 'hex')
  return Array.from({ length: count }, (_, i) => {
    const out = new Uint8Array(98)
    const v = new DataView(out.buffer)
    v.setUint32(8, 1) // action: announce
    v.setUint32(12, i + 1) // transaction id
    out.set(hash, 16)
    out.set(Buffer.from(`-MT0001-${String(i).padStart(12, '0')}`, 'latin1'), 36) // peer id
    v.setBigUint64(64, 1n) // left
    v.setUint32(80, 0) // event: none
    v.setUint32(88, i + 1) // key
    v.setInt32(92, 8) // numwant
    v.setUint16(96, 20000 + i) // port
    return out
  })
}

/** An echo payload the size of a metatracker announce. */
export function echoPayload(): Uint8Array {
  return new Uint8Array(150).fill(0x61)
}
