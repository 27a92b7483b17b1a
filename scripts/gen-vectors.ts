// Regenerates the golden protocol vectors in test/fixtures/vectors/ from the codec.
// Run after a deliberate protocol change (npm run vectors) and review the diff: a vector
// that changes is a wire change and docs/protocol.md must say so.
import { mkdirSync, writeFileSync } from 'node:fs'
import {
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
