import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import {
  privateKeyFromSeed,
  rawPublicKey,
  rawSeed,
  signBytes,
  verifyBytes,
} from '../../src/crypto/ed25519.js'
import {
  generateKeyPair,
  parsePublicKeyHex,
  readPrivateKeyFile,
  writePrivateKeyFile,
} from '../../src/crypto/keys.js'
import { naclSign, naclVerify } from '../../src/crypto/nacl.js'
import { TrackerError } from '../../src/errors.js'
import { hex, unhex } from '../helpers/plain.js'

// RFC 8032 §7.1, TEST 1 to TEST 3.
const RFC8032 = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
]

describe('RFC 8032 test vectors', () => {
  RFC8032.forEach((v, i) => {
    test(`TEST ${i + 1} with node:crypto`, () => {
      const key = privateKeyFromSeed(unhex(v.secret))
      assert.equal(hex(rawPublicKey(key)), v.public)
      assert.equal(hex(signBytes(key, unhex(v.message))), v.signature)
      assert.ok(verifyBytes(unhex(v.public), unhex(v.message), unhex(v.signature)))
    })
    test(`TEST ${i + 1} with tweetnacl`, () => {
      assert.equal(hex(naclSign(unhex(v.secret), unhex(v.message))), v.signature)
      assert.ok(naclVerify(unhex(v.public), unhex(v.message), unhex(v.signature)))
    })
  })
})

describe('node:crypto and tweetnacl agree', () => {
  test('signatures made by one verify with the other, and tampering fails both', () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateKeyPair()
      const msg = Uint8Array.from({ length: i * 7 }, (_, j) => (i * 31 + j) & 0xff)
      const sig = signBytes(privateKey, msg)
      assert.ok(naclVerify(publicKey, msg, sig))
      assert.deepEqual(naclSign(rawSeed(privateKey), msg), sig)
      const bad = sig.slice()
      bad[i % 64] = bad[i % 64]! ^ 0x40
      assert.equal(verifyBytes(publicKey, msg, bad), false)
      assert.equal(naclVerify(publicKey, msg, bad), false)
    }
  })

  test('malformed keys and signatures verify false, never throw', () => {
    const msg = new Uint8Array(3)
    assert.equal(verifyBytes(new Uint8Array(31), msg, new Uint8Array(64)), false)
    assert.equal(verifyBytes(new Uint8Array(32).fill(0xff), msg, new Uint8Array(64)), false)
    assert.equal(verifyBytes(new Uint8Array(32), msg, new Uint8Array(63)), false)
  })
})

describe('key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-keys-'))

  test('written as PEM PKCS#8 with mode 0600 and read back', async () => {
    const pair = generateKeyPair()
    const path = join(dir, 'node.pem')
    await writePrivateKeyFile(path, pair.privateKey)
    assert.equal(statSync(path).mode & 0o777, 0o600)
    const pem = readFileSync(path, 'utf8')
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/)
    const back = await readPrivateKeyFile(path)
    assert.deepEqual(rawPublicKey(back), pair.publicKey)
  })

  test('readable by openssl pkey when openssl is installed', async t => {
    let openssl = true
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' })
    } catch {
      openssl = false
    }
    if (!openssl) {
      t.skip('openssl not installed (apt-get install openssl)')
      return
    }
    const pair = generateKeyPair()
    const path = join(dir, 'ossl.pem')
    await writePrivateKeyFile(path, pair.privateKey)
    const text = execFileSync('openssl', ['pkey', '-in', path, '-pubout', '-outform', 'DER'])
    assert.deepEqual(new Uint8Array(text.subarray(text.byteLength - 32)), pair.publicKey)
  })

  test('an existing file is not overwritten without overwrite', async () => {
    const path = join(dir, 'exists.pem')
    await writePrivateKeyFile(path, generateKeyPair().privateKey)
    await assert.rejects(writePrivateKeyFile(path, generateKeyPair().privateKey), {
      code: 'KEY_EXISTS',
    })
    await writePrivateKeyFile(path, generateKeyPair().privateKey, { overwrite: true })
  })

  test('bad files fail with coded errors', async () => {
    await assert.rejects(readPrivateKeyFile(join(dir, 'missing.pem')), { code: 'KEY_READ_FAILED' })
    const junk = join(dir, 'junk.pem')
    writeFileSync(junk, 'not a key')
    await assert.rejects(readPrivateKeyFile(junk), { code: 'KEY_BAD_FORMAT' })
    const { generateKeyPairSync } = await import('node:crypto')
    const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const ec = join(dir, 'ec.pem')
    writeFileSync(ec, rsa.export({ format: 'pem', type: 'pkcs8' }))
    await assert.rejects(readPrivateKeyFile(ec), (err: unknown) => {
      return err instanceof TrackerError && err.code === 'KEY_BAD_FORMAT' && /ec/.test(err.message)
    })
  })

  test('public keys parse from hex only when 32 bytes', () => {
    assert.equal(parsePublicKeyHex('ab'.repeat(32)).byteLength, 32)
    assert.throws(() => parsePublicKeyHex('ab'), { code: 'KEY_BAD_PUBLIC' })
    assert.throws(() => parsePublicKeyHex('zz'.repeat(32)), { code: 'KEY_BAD_PUBLIC' })
  })
})
