// Forged Ed25519 signatures for keys of small order, made without any private key, and the
// edwards25519 arithmetic (BigInt, reference speed) that finds them and checks the tables of
// src/crypto/strict.ts independently. Test code only: slow, variable-time, never for real keys.
import { createHash, createPublicKey, verify } from 'node:crypto'
import nacl from 'tweetnacl'
import {
  type NodeRecord,
  type SignedRecord,
  decodeRecord,
  encodeRecordBody,
  encodeSignedRecord,
  recordSigningInput,
} from '../../src/wire/record.js'

export const P = 2n ** 255n - 19n
export const L = 2n ** 252n + 27742317777372353535851937790883648493n

const mod = (a: bigint, m: bigint = P): bigint => ((a % m) + m) % m
function pow(b: bigint, e: bigint, m: bigint = P): bigint {
  let r = 1n
  b = mod(b, m)
  while (e > 0n) {
    if ((e & 1n) === 1n) r = (r * b) % m
    b = (b * b) % m
    e >>= 1n
  }
  return r
}
const inv = (a: bigint): bigint => pow(a, P - 2n)
const D = mod(-121665n * inv(121666n))
const SQRT_M1 = pow(2n, (P - 1n) / 4n)

/** An affine point (x, y) on edwards25519: -x² + y² = 1 + d·x²·y². */
export interface Point {
  x: bigint
  y: bigint
}
export const IDENTITY: Point = { x: 0n, y: 1n }

export function leToBig(b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0)
  return n
}
export function bigToLe(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return out
}

/** x for a y and a sign bit, or null when no point has that y (or x = 0 and sign 1 when strict). */
function recoverX(y: bigint, sign: number, lenient: boolean): bigint | null {
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n))
  if (x2 === 0n) return sign === 1 && !lenient ? null : 0n
  let x = pow(x2, (P + 3n) / 8n)
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1)
  if (mod(x * x - x2) !== 0n) return null
  if (Number(x & 1n) !== sign) x = P - x
  return x
}

/**
 * Decode 32 bytes as the lenient decoders (ref10, OpenSSL, tweetnacl) do: y is reduced mod p,
 * x = 0 with the sign bit set is taken as x = 0. Null when the y has no point.
 */
export function decodeLenient(b: Uint8Array): Point | null {
  const n = leToBig(b)
  const y = mod(n & ((1n << 255n) - 1n))
  const x = recoverX(y, Number(n >> 255n), true)
  return x === null ? null : { x, y }
}

/** The canonical encoding: y < p, sign bit = x mod 2. */
export function encodePoint(p: Point): Uint8Array {
  return bigToLe(p.y | ((p.x & 1n) << 255n))
}

export function addPoints(a: Point, b: Point): Point {
  const t = mod(D * a.x * b.x * a.y * b.y)
  return {
    x: mod((a.x * b.y + b.x * a.y) * inv(1n + t)),
    y: mod((a.y * b.y + a.x * b.x) * inv(1n - t)),
  }
}
export const negate = (p: Point): Point => ({ x: mod(-p.x), y: p.y })
export const samePoint = (a: Point, b: Point): boolean => a.x === b.x && a.y === b.y

/** [k]P in extended coordinates (one inversion at the end): fast enough for a few 253-bit k. */
export function multiply(k: bigint, p: Point): Point {
  type Ext = [bigint, bigint, bigint, bigint]
  const add = ([x1, y1, z1, t1]: Ext, [x2, y2, z2, t2]: Ext): Ext => {
    const a = mod((y1 - x1) * (y2 - x2))
    const b = mod((y1 + x1) * (y2 + x2))
    const c = mod(t1 * 2n * D * t2)
    const d = mod(z1 * 2n * z2)
    const e = b - a
    const f = d - c
    const g = d + c
    const h = b + a
    return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)]
  }
  let r: Ext = [0n, 1n, 1n, 0n]
  let q: Ext = [p.x, p.y, 1n, mod(p.x * p.y)]
  for (let e = mod(k, 8n * L); e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) r = add(r, q)
    q = add(q, q)
  }
  const zi = inv(r[2])
  return { x: mod(r[0] * zi), y: mod(r[1] * zi) }
}

export function orderDividing8(p: Point): number | null {
  let q = p
  for (let n = 1; n <= 8; n++) {
    if (samePoint(q, IDENTITY)) return n
    q = addPoints(q, p)
  }
  return null
}

/**
 * The 8 points of order dividing 8, found from the curve alone: [L]·Q for points Q until one
 * of order exactly 8 turns up, then its multiples. Does not use the tables under test.
 */
export function torsionPoints(): Point[] {
  for (let y = 2n; ; y++) {
    const x = recoverX(y, 0, false)
    if (x === null) continue
    const t = multiply(L, { x, y })
    if (orderDividing8(t) !== 8) continue
    const out: Point[] = [IDENTITY]
    for (let i = 1; i < 8; i++) out.push(addPoints(out[i - 1] ?? IDENTITY, t))
    return out
  }
}

export interface SmallOrderEncoding {
  name: string
  hex: string
  /** Order of the decoded point: 1, 2, 4 or 8. */
  order: number
  /** False for y >= p, and for x = 0 with the sign bit set. */
  canonical: boolean
}

/**
 * Every 32-byte string a lenient decoder reads as a point of small order: each torsion point's
 * y and, when y + p < 2^255, y + p; each with the sign bit of x, and with the other sign bit
 * when x = 0. Sorted by order, then bytes.
 */
export function smallOrderEncodings(): SmallOrderEncoding[] {
  const out: SmallOrderEncoding[] = []
  for (const pt of torsionPoints()) {
    const order = orderDividing8(pt) ?? 0
    const ys = [pt.y, ...(pt.y + P < 2n ** 255n ? [pt.y + P] : [])]
    const signs = pt.x === 0n ? [0n, 1n] : [pt.x & 1n]
    for (const y of ys) {
      for (const sign of signs) {
        const canonical = y < P && sign === (pt.x & 1n)
        const hex = Buffer.from(bigToLe(y | (sign << 255n))).toString('hex')
        const kind = order === 1 ? 'identity' : `order-${order}`
        const tags = [sign === 1n ? 'sign' : '', y >= P ? 'y-plus-p' : '']
        out.push({
          name: [kind, hex.slice(0, 4), ...tags.filter(t => t !== '')].join('-'),
          hex,
          order,
          canonical,
        })
      }
    }
  }
  return out.sort((a, b) => a.order - b.order || (a.hex < b.hex ? -1 : 1))
}

const sha512 = (...parts: Uint8Array[]): bigint =>
  leToBig(new Uint8Array(createHash('sha512').update(Buffer.concat(parts)).digest()))

/**
 * RFC 8032's cofactorless check as OpenSSL and tweetnacl do it, restricted to keys of small
 * order (so [k]A is cheap): encode([S]B - [k]A) == R bytes with S = 0. True means a plain
 * verifier accepts the forgery.
 */
function forgedVerifies(key: Uint8Array, keyPoint: Point, message: Uint8Array, r: Uint8Array) {
  const k = mod(sha512(r, key, message), L)
  const expected = encodePoint(negate(multiply(k % 8n, keyPoint)))
  return Buffer.from(expected).equals(Buffer.from(r))
}

/**
 * A signature (R of small order, S = 0) by the small-order `key` over `message(i)` for the first
 * i in 0..tries-1 where one exists; made without any private key. Null when none was found.
 */
export function forgeSignature(
  key: Uint8Array,
  message: (i: number) => Uint8Array,
  tries = 64,
): { i: number; signature: Uint8Array } | null {
  const a = decodeLenient(key)
  if (a === null || orderDividing8(a) === null) throw new Error('not a key of small order')
  const rs = torsionPoints().map(encodePoint)
  for (let i = 0; i < tries; i++) {
    const m = message(i)
    for (const r of rs) {
      if (forgedVerifies(key, a, m, r)) {
        const signature = new Uint8Array(64)
        signature.set(r, 0)
        return { i, signature }
      }
    }
  }
  return null
}

/**
 * A record "signed" by the small-order `key` without its private key: `seq` is raised from
 * `fields.seq` until a forgery verifies under the plain RFC 8032 check.
 */
export function forgeRecord(fields: NodeRecord, key: Uint8Array): SignedRecord {
  const at = (i: number): NodeRecord => ({ ...fields, publicKey: key, seq: fields.seq + i })
  const found = forgeSignature(key, i => recordSigningInput(encodeRecordBody(at(i))))
  if (found === null) throw new Error(`no forgery found for ${Buffer.from(key).toString('hex')}`)
  return decodeRecord(encodeSignedRecord(at(found.i), found.signature))
}

/** node:crypto's verify alone (OpenSSL, no strict byte checks): what verifiers did before. */
export function plainNodeVerify(key: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    const k = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') },
      format: 'jwk',
    })
    return verify(null, message, k, sig)
  } catch {
    return false
  }
}

/** tweetnacl's verify alone (no strict byte checks): what the browser did before. */
export function plainNaclVerify(key: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  return nacl.sign.detached.verify(message, sig, key)
}

/** The Ed25519 secret scalar of a seed (RFC 8032 §5.1.5), for signatures no signer would make. */
export function secretScalar(seed: Uint8Array): bigint {
  const h = createHash('sha512').update(seed).digest()
  h[0] = (h[0] ?? 0) & 248
  h[31] = ((h[31] ?? 0) & 127) | 64
  return leToBig(new Uint8Array(h.subarray(0, 32)))
}

/**
 * A signature the key owner can make with R = the identity (nonce 0): S = k·a mod L. Valid
 * under RFC 8032's equation, refused by the strict rule (R of small order).
 */
export function identityNonceSignature(
  seed: Uint8Array,
  publicKey: Uint8Array,
  message: Uint8Array,
): Uint8Array {
  const r = encodePoint(IDENTITY)
  const k = mod(sha512(r, publicKey, message), L)
  const s = mod(k * secretScalar(seed), L)
  const out = new Uint8Array(64)
  out.set(r, 0)
  out.set(bigToLe(s), 32)
  return out
}

/** The same signature with S + L in place of S (S + L < 2^256 always). */
export function addOrderToS(signature: Uint8Array): Uint8Array {
  const out = signature.slice()
  out.set(bigToLe(leToBig(signature.subarray(32)) + L), 32)
  return out
}
