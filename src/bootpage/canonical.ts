import { TrackerError } from '../errors.js'

/**
 * RFC 8785 (JCS) restricted to the JSON the bootpage uses: strings, safe integers, arrays and
 * objects. Written by hand (about 40 lines) because the restriction is the point: no floats
 * (so no ECMAScript number-formatting corner cases), no booleans or null, no lone surrogates.
 * A general JCS library would accept more than a verifier in another language must handle.
 * bootpage/verify.js carries the same function for browsers; a test keeps the two in step.
 */
export type CanonicalValue = string | number | readonly CanonicalValue[] | CanonicalObject
export interface CanonicalObject {
  readonly [key: string]: CanonicalValue
}

/** Deepest nesting canonicalize accepts (the bootpage needs 4). */
export const CANONICAL_MAX_DEPTH = 16

function fail(detail: string): never {
  throw new TrackerError('BOOTPAGE_NOT_CANONICAL', `cannot canonicalise: ${detail}`)
}

function str(s: string): string {
  if (!s.isWellFormed()) fail('a string holds a lone surrogate')
  // RFC 8785 §3.2.2.2 serialises strings exactly as ECMAScript's JSON.stringify does.
  return JSON.stringify(s)
}

function write(value: unknown, depth: number, out: string[]): void {
  if (depth > CANONICAL_MAX_DEPTH) fail('nested too deeply')
  if (typeof value === 'string') {
    out.push(str(value))
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) fail(`${String(value)} is not a safe integer`)
    out.push(String(value)) // -0 prints as 0, as JCS requires
  } else if (Array.isArray(value)) {
    out.push('[')
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',')
      write((value as unknown[])[i], depth + 1, out) // a hole reads as undefined and fails
    }
    out.push(']')
  } else if (typeof value === 'object' && value !== null) {
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
      fail('only plain objects')
    // JCS sorts member names by their UTF-16 code units: the default sort order of JS strings.
    const keys = Object.keys(value).sort()
    out.push('{')
    keys.forEach((key, i) => {
      if (i > 0) out.push(',')
      out.push(str(key), ':')
      write((value as Record<string, unknown>)[key], depth + 1, out)
    })
    out.push('}')
  } else {
    fail(`${value === null ? 'null' : typeof value} is not allowed`)
  }
}

/** The canonical JSON text of `value`; throws BOOTPAGE_NOT_CANONICAL for anything else. */
export function canonicalize(value: unknown): string {
  const out: string[] = []
  write(value, 0, out)
  return out.join('')
}

/** The canonical text as UTF-8 bytes. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value))
}
