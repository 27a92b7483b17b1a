import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { TrackerError } from '../errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import { Limits } from '../wire/constants.js'

/*
 * docs/protocol.md §8.2: stateless address-validation cookies.
 *   cookie = u32(time) || first 8 bytes of HMAC-SHA256(secret, u32(time) || ip[16] || u16(port))
 * `ip` is the source address as 16 bytes (IPv4 as IPv4-mapped IPv6). Pure given the secret and
 * the time: nothing is stored per client.
 */

/** Seconds a cookie stays valid after the time it carries. */
export const COOKIE_LIFETIME = 120
export const COOKIE_SECRET_BYTES = 32
/** Name of the secret file inside the data directory. */
export const COOKIE_SECRET_FILE = 'cookie-secret'

const MAC_BYTES = Limits.COOKIE_BYTES - 4

/** The MAC input: u32 time, 16-byte address, u16 port. */
function macInput(time: number, ip16: Uint8Array, port: number): Buffer {
  const input = Buffer.allocUnsafe(4 + 16 + 2)
  input.writeUInt32BE(time >>> 0, 0)
  input.set(ip16, 4)
  input.writeUInt16BE(port & 0xffff, 20)
  return input
}

function mac(secret: Uint8Array, time: number, ip16: Uint8Array, port: number): Buffer {
  return createHmac('sha256', secret)
    .update(macInput(time, ip16, port))
    .digest()
}

/** Issue a cookie for (ip16, port) at `time` (Unix seconds). */
export function makeCookie(
  secret: Uint8Array,
  time: number,
  ip16: Uint8Array,
  port: number,
): Uint8Array {
  const out = new Uint8Array(Limits.COOKIE_BYTES)
  new DataView(out.buffer).setUint32(0, time >>> 0)
  out.set(mac(secret, time, ip16, port).subarray(0, MAC_BYTES), 4)
  return out
}

/**
 * True when `cookie` was issued by this secret to (ip16, port) at most `maxAge` seconds
 * (COOKIE_LIFETIME unless given) before `now` (Unix seconds). A time in the future is refused:
 * it would let a guessed cookie live for years.
 */
export function checkCookie(
  secret: Uint8Array,
  cookie: Uint8Array,
  now: number,
  ip16: Uint8Array,
  port: number,
  maxAge: number = COOKIE_LIFETIME,
): boolean {
  if (cookie.byteLength !== Limits.COOKIE_BYTES) return false
  const time = new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0)
  if (time > now || now - time > maxAge) return false
  const expected = mac(secret, time, ip16, port).subarray(0, MAC_BYTES)
  return timingSafeEqual(expected, cookie.subarray(4))
}

/** A 16-byte address from raw IPv4 (mapped) or IPv6 bytes. */
export function ip16From(ip: Uint8Array): Uint8Array {
  if (ip.byteLength === 16) return ip
  const out = new Uint8Array(16)
  out[10] = 0xff
  out[11] = 0xff
  out.set(ip, 12)
  return out
}

/**
 * Load the cookie secret from `dataDir`, or create it (32 random bytes, mode 0600, written to a
 * temporary file and renamed so a crash never leaves a half-written secret).
 */
export async function loadOrCreateCookieSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, COOKIE_SECRET_FILE)
  try {
    const existing = await readFile(path)
    if (existing.byteLength === COOKIE_SECRET_BYTES) return new Uint8Array(existing)
    throw new TrackerError(
      'TRACKER_DATA_DIR',
      `${path} holds ${existing.byteLength} bytes, expected ${COOKIE_SECRET_BYTES}`,
    )
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (cause instanceof TrackerError) throw cause
      throw new TrackerError('TRACKER_DATA_DIR', `cannot read ${path}`, { cause })
    }
  }
  const secret = new Uint8Array(randomBytes(COOKIE_SECRET_BYTES))
  await writeCookieSecret(path, secret)
  return secret
}

/**
 * Write the cookie secret to `path` (mode 0600) atomically (src/fs-atomic.ts), creating its
 * directory (mode 0700) when missing. A failure is a TRACKER_DATA_DIR.
 */
export async function writeCookieSecret(path: string, secret: Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    await writeFileAtomic(path, secret, { mode: 0o600 })
  } catch (cause) {
    throw new TrackerError('TRACKER_DATA_DIR', `cannot write ${path}`, { cause })
  }
}
