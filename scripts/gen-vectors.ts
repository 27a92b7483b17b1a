// Regenerates the golden protocol vectors in test/fixtures/vectors/ from the codec.
// Run after a deliberate protocol change (npm run vectors) and review the diff: a vector
// that changes is a wire change and docs/protocol.md must say so.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { validatePage } from '../src/bootpage/schema.js'
import {
  buildBootpageRefusalVectors,
  buildErrorVectors,
  buildMessageVectors,
  buildSignatureVectors,
} from '../test/helpers/vector-cases.js'

const dir = new URL('../test/fixtures/vectors/', import.meta.url)
mkdirSync(dir, { recursive: true })
const messages = buildMessageVectors()
const errors = buildErrorVectors()
const signatures = buildSignatureVectors()
writeFileSync(new URL('messages.json', dir), JSON.stringify(messages, null, 2) + '\n')
writeFileSync(new URL('errors.json', dir), JSON.stringify(errors, null, 2) + '\n')
writeFileSync(new URL('signatures.json', dir), JSON.stringify(signatures, null, 2) + '\n')
console.log(
  `wrote ${messages.length} message vectors, ${errors.length} error vectors and ` +
    `${signatures.length} signature refusal vectors`,
)

// The bootpage vectors are hand-written, except refusedSignatures (forgeries need arithmetic):
// that one list is rewritten in place, next to the signing vector it is made from.
const bootpageFile = new URL('../test/fixtures/bootpage/vectors.json', import.meta.url)
const bootpage = JSON.parse(readFileSync(bootpageFile, 'utf8')) as {
  signing: { page: unknown; seedHex: string }
  refusedSignatures?: unknown
}
bootpage.refusedSignatures = buildBootpageRefusalVectors(
  validatePage(bootpage.signing.page),
  Uint8Array.from(Buffer.from(bootpage.signing.seedHex, 'hex')),
)
writeFileSync(bootpageFile, JSON.stringify(bootpage, null, 2) + '\n')
console.log(`wrote ${(bootpage.refusedSignatures as unknown[]).length} bootpage refusal vectors`)
