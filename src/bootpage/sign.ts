import { createHash, type KeyObject } from 'node:crypto'
import { signBytes } from '../crypto/ed25519.js'
import { toHex } from '../crypto/keys.js'
import { TrackerError } from '../errors.js'
import { signingInput } from '../wire/signing.js'
import { canonicalBytes, canonicalize } from './canonical.js'
import type { BootpageDocument, BootpagePage, BootpageSignature } from './schema.js'

/** docs/bootpage.md §4: the signing domain of a bootpage. */
export const BOOTPAGE_SIGNING_DOMAIN = 'metatracker/v1/bootpage'

/**
 * The bytes an operator signs: u8(len(domain)) || domain || JCS(page), the framing of a node
 * record's signing input (src/wire/signing.ts) with the bootpage's own domain.
 */
export function bootpageSigningInput(page: BootpagePage): Uint8Array {
  return signingInput(BOOTPAGE_SIGNING_DOMAIN, canonicalBytes(page))
}

/** SHA-256 of the signing input, hex: names one page independently of its signatures. */
export function pageDigest(page: BootpagePage): string {
  return createHash('sha256').update(bootpageSigningInput(page)).digest('hex')
}

/** True when two pages have the same canonical form (so the same signatures apply). */
export function samePage(a: BootpagePage, b: BootpagePage): boolean {
  return canonicalize(a) === canonicalize(b)
}

function sortSignatures(signatures: BootpageSignature[]): BootpageSignature[] {
  return [...signatures].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
}

/**
 * Add (or replace) one operator's signature. Every other signature is kept byte for byte;
 * signatures stay sorted by key so the file is deterministic.
 */
export function signBootpage(
  doc: BootpageDocument,
  privateKey: KeyObject,
  publicKey: Uint8Array,
): BootpageDocument {
  const key = toHex(publicKey)
  const signature = toHex(signBytes(privateKey, bootpageSigningInput(doc.page)))
  const others = doc.signatures.filter(s => s.key !== key)
  return { page: doc.page, signatures: sortSignatures([...others, { key, signature }]) }
}

/**
 * Merge the signatures of several copies of one page (operators who signed in parallel).
 * Refuses pages that differ; for a key present twice, the copies must agree.
 */
export function mergeBootpages(docs: readonly BootpageDocument[]): BootpageDocument {
  const first = docs[0]
  if (first === undefined) throw new TrackerError('BOOTPAGE_PAGES_DIFFER', 'nothing to merge')
  const byKey = new Map<string, string>()
  for (const [i, doc] of docs.entries()) {
    if (!samePage(first.page, doc.page)) {
      throw new TrackerError(
        'BOOTPAGE_PAGES_DIFFER',
        `draft ${i + 1} is not the same page as draft 1 (digest ${pageDigest(doc.page).slice(0, 16)} vs ${pageDigest(first.page).slice(0, 16)})`,
      )
    }
    for (const s of doc.signatures) {
      const held = byKey.get(s.key)
      if (held !== undefined && held !== s.signature) {
        throw new TrackerError(
          'BOOTPAGE_PAGES_DIFFER',
          `key ${s.key.slice(0, 16)}… signed differently in two drafts`,
        )
      }
      byKey.set(s.key, s.signature)
    }
  }
  const signatures = [...byKey].map(([key, signature]) => ({ key, signature }))
  return { page: first.page, signatures: sortSignatures(signatures) }
}
