import { type KeyObject, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { TrackerError } from '../errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import { rawPublicKey } from './ed25519.js'

export interface KeyPair {
  privateKey: KeyObject
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array
}

export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

export function keyPairFrom(privateKey: KeyObject): KeyPair {
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

/** PEM PKCS#8, the format `openssl pkey` reads. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString()
}

export function privateKeyFromPem(pem: string): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (cause) {
    throw new TrackerError('KEY_BAD_FORMAT', undefined, { cause })
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TrackerError(
      'KEY_BAD_FORMAT',
      `expected an ed25519 key, found ${key.asymmetricKeyType ?? 'none'}`,
    )
  }
  return key
}

/**
 * Write a private key file with mode 0600, atomically (src/fs-atomic.ts). Refuses to replace an
 * existing file (KEY_EXISTS) unless `overwrite` is set; a replaced file gets the new mode too.
 */
export async function writePrivateKeyFile(
  path: string,
  key: KeyObject,
  options: { overwrite?: boolean } = {},
): Promise<void> {
  try {
    await writeFileAtomic(path, privateKeyToPem(key), {
      mode: 0o600,
      exclusive: options.overwrite !== true,
    })
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TrackerError('KEY_EXISTS', `refusing to overwrite ${path}`, { cause })
    }
    throw cause
  }
}

export async function readPrivateKeyFile(path: string): Promise<KeyObject> {
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (cause) {
    throw new TrackerError('KEY_READ_FAILED', `cannot read ${path}`, { cause })
  }
  return privateKeyFromPem(pem)
}

/** Parse a 64-hex-digit public key. */
export function parsePublicKeyHex(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new TrackerError('KEY_BAD_PUBLIC', `not a public key: ${hex.slice(0, 80)}`)
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
