import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { runInNewContext } from 'node:vm'
import type { BootpagePage, BootpageTracker } from '../../src/bootpage/schema.js'

/** What bootpage/verify.js exposes as MetatrackerBootpage. */
export interface VerifyJs {
  canonicalize(value: unknown): string
  signingInput(page: unknown): Uint8Array
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
  trackerRows(t: BootpageTracker): [string, string][]
  factRows(p: BootpagePage): [string, string][]
}

const require = createRequire(import.meta.url)
export const nacl: unknown = require('tweetnacl')

/** Load the browser script in a fresh V8 context (no DOM, so it does not run main()). */
export function loadVerifyJs(): VerifyJs {
  const source = readFileSync(new URL('../../bootpage/verify.js', import.meta.url), 'utf8')
  const context: Record<string, unknown> = { TextEncoder }
  context.self = context
  runInNewContext(source, context, { filename: 'bootpage/verify.js' })
  return context.MetatrackerBootpage as VerifyJs
}
