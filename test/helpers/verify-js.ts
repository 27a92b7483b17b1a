import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createContext, runInContext } from 'node:vm'
import type { BootpagePage, BootpageTracker } from '../../src/bootpage/schema.js'

/** What bootpage/verify.js exposes as MetatrackerBootpage. */
export interface VerifyJs {
  canonicalize(value: unknown): string
  signingInput(page: unknown): Uint8Array
  /** One signature under the strict rule (docs/bootpage.md §4), then tweetnacl. */
  verifySignature(nacl: unknown, input: Uint8Array, signatureHex: string, keyHex: string): boolean
  isStrictKeyHex(hex: string): boolean
  verifyDocument(
    doc: unknown,
    nacl: unknown,
    nowMs: number,
  ): {
    ok: boolean
    problems: string[]
    signed: number
    threshold: number
    operators: { name: string; key: string; signed: boolean }[]
    expired: boolean
  }
  /** A freshness stamp for a page (docs/bootpage.md §9). */
  verifyStamp(
    stamp: unknown,
    page: unknown,
    nacl: unknown,
    nowMs: number,
  ): {
    status: 'fresh' | 'stale' | 'invalid'
    problems: string[]
    signed: number
    threshold: number
    expiresAt: number
  }
  sha256Hex(bytes: Uint8Array): string
  trackerRows(t: BootpageTracker): [string, string][]
  factRows(p: BootpagePage): [string, string][]
}

const require = createRequire(import.meta.url)

/**
 * Load tweetnacl and the browser script in a fresh V8 context, as a page would (no DOM, so
 * main() does not run). `parse` parses JSON inside that context: tweetnacl checks
 * `instanceof Uint8Array`, and values from this realm would fail it.
 */
export function loadVerifyJs(): VerifyJs & { nacl: unknown; parse(text: string): unknown } {
  const context: Record<string, unknown> = { TextEncoder }
  context.self = context
  createContext(context)
  const read = (path: string) => readFileSync(path, 'utf8')
  runInContext(read(require.resolve('tweetnacl/nacl-fast.min.js')), context)
  runInContext(read(new URL('../../bootpage/verify.js', import.meta.url).pathname), context, {
    filename: 'bootpage/verify.js',
  })
  const api = context.MetatrackerBootpage as VerifyJs
  const parse = runInContext('(function (text) { return JSON.parse(text) })', context) as (
    text: string,
  ) => unknown
  return Object.assign(Object.create(api) as VerifyJs, api, { nacl: context.nacl, parse })
}
