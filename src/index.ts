/**
 * metatracker's public library surface. Importing it has no side effects.
 */
export * from './errors.js'
export * from './wire/index.js'
export * from './crypto/index.js'
export { naclVerify, naclVerifyRecord } from './crypto/nacl.js'
export { selfCheck, type SelfCheckReport } from './selfcheck.js'
