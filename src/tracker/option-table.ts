import { z } from 'zod'
import { parseIp } from '../wire/endpoint.js'
import { isValidNetwork } from '../wire/record.js'
import { createAddressMatcher } from './handlers/allow-list.js'

/*
 * The option table's machinery (docs/operations.md, "Configuration"). An option is one row: its
 * zod rule (with the error text), its default and its doc line, under its key; the key is the
 * same in the config file, in the API (`new Daemon(...)`, the config object) and, in kebab case,
 * as the `serve` flag. Rows are grouped in plain objects: a nested object is a section of the
 * file (`flood: { rate, burst, sources }`, flag `--flood-rate`). The schema, the defaults, the
 * flags and the value types are all derived from the rows here.
 */

/** How a flag's text becomes the value the file would hold. */
export type FlagRead = 'port' | 'number' | 'text' | 'list' | 'size' | 'bool' | 'value'

export interface OptionRow<T = unknown> {
  /** The rule, whose error texts read "expected ..."; its output is the option's value. */
  readonly rule: z.ZodType<T>
  readonly default: NoInfer<T>
  /** One line: `serve --help` shows it, docs/operations.md documents it (a test compares). */
  readonly doc: string
  /** How the flag's text is read. */
  readonly read: FlagRead
  /** The placeholder of the flag's value in `--help`, e.g. `<port>`. */
  readonly arg: string
  /** The flag when it is not `--` + the kebab case of the key path (names kept from before). */
  readonly flag?: string
}

export interface OptionRows {
  readonly [key: string]: OptionRow | OptionRows
}

/** The values the rows describe: each row's rule output, sections as nested objects. */
export type OptionValues<R> = {
  -readonly [K in keyof R]: R[K] extends OptionRow<infer T> ? T : OptionValues<R[K]>
}

/** One row (the type of its default is checked against its rule). */
export function option<T>(row: OptionRow<T>): OptionRow<T> {
  return Object.freeze(row)
}

function isRow(node: OptionRow | OptionRows): node is OptionRow {
  return node.rule instanceof z.ZodType
}

export interface FlatRow {
  /** Dotted key: `maxEntries`, `flood.rate`. */
  readonly key: string
  readonly path: readonly string[]
  /** `--max-entries`, `--flood-rate`. */
  readonly flag: string
  /** The property commander gives the flag: `maxEntries`, `floodRate`. */
  readonly prop: string
  readonly row: OptionRow
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())

/** Every row in table order, with its dotted key and its flag. */
export function flatten(rows: OptionRows, at: readonly string[] = []): FlatRow[] {
  const out: FlatRow[] = []
  for (const [name, node] of Object.entries(rows)) {
    const path = [...at, name]
    if (!isRow(node)) {
      out.push(...flatten(node, path))
      continue
    }
    const flag = node.flag ?? `--${path.map(kebab).join('-')}`
    out.push({ key: path.join('.'), path, flag, prop: camel(flag.slice(2)), row: node })
  }
  return out
}

/**
 * The zod schema of the rows: every key optional, unknown keys refused. `shorthand` names the
 * sections a bare value may stand for (`http: 3521` is `http: { port: 3521 }`).
 */
export function schemaOf(
  rows: OptionRows,
  shorthand: Readonly<Record<string, string>> = {},
  strict = true,
): z.ZodObject {
  const shape: Record<string, z.ZodType> = {}
  for (const [name, node] of Object.entries(rows)) {
    if (isRow(node)) {
      shape[name] = node.rule.optional()
      continue
    }
    const keys = Object.keys(node)
    const section = schemaOf(node).def.shape
    const what = `{ ${keys.join(', ')} }`
    const object = z.object(section, { error: `expected an object ${what}` }).strict()
    const short = shorthand[name]
    const bare = short === undefined ? undefined : node[short]
    if (bare === undefined || !isRow(bare)) {
      shape[name] = object.optional()
      continue
    }
    const error = `expected ${bare.rule.description ?? 'a value'}, or ${what}`
    const fromBare = bare.rule.transform(v => ({ [short as string]: v }))
    shape[name] = z.union([fromBare, object], { error }).optional()
  }
  const root = z.object(shape, { error: 'expected an object of options' })
  return strict ? root.strict() : root
}

/** A fresh copy of every default. */
export function defaultsOf<R extends OptionRows>(rows: R): OptionValues<R> {
  return fill(rows, {})
}

/** The parsed values with the defaults filled in where a key is absent (null is a value). */
export function fill<R extends OptionRows>(rows: R, parsed: Readonly<Record<string, unknown>>) {
  const out: Record<string, unknown> = {}
  for (const [name, node] of Object.entries(rows)) {
    const value = parsed[name]
    if (isRow(node)) {
      out[name] = value === undefined ? structuredClone(node.default) : value
    } else {
      const inner = value !== null && typeof value === 'object' ? value : {}
      out[name] = fill(node, inner as Record<string, unknown>)
    }
  }
  return out as OptionValues<R>
}

/** `listing[1].port`, `flood.rate`. */
export function label(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out === '' ? String(p) : `.${String(p)}`
  }
  return out
}

/** A value as an error message shows it (JSON, at most 60 characters). */
export function show(value: unknown): string {
  const s = JSON.stringify(value) as string | undefined
  if (s === undefined) return typeof value
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

// ---------------------------------------------------------------------------------------------
// Rules shared by the rows. Each carries the one message shown for any failure ("expected ...");
// `.describe()` keeps the "what" for the shorthand union above.

export const int = (min: number, max: number, what = `an integer from ${min} to ${max}`) => {
  const error = `expected ${what}`
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error })
}
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) => int(1, max, 'a positive integer')
export const number = (min: number, max: number, what: string) => {
  const error = `expected ${what}`
  return z.number({ error }).min(min, { error }).max(max, { error })
}
const PORT_OR_NULL = 'a port from 0 to 65535, or null to disable'
export const port = z
  .union([int(0, 65535, PORT_OR_NULL), z.null()], { error: `expected ${PORT_OR_NULL}` })
  .describe('a port from 0 to 65535, null to disable')
export const size = (min: number, what: string) =>
  z.union([z.number(), z.string()], { error: `expected ${what}` }).transform((v, ctx) => {
    const n = parseSize(v)
    if (n === null || n < min) {
      ctx.issues.push({ code: 'custom', message: `expected ${what}`, input: v })
      return z.NEVER
    }
    return n
  })
export const text = (max: number) =>
  z.string({ error: `expected a string` }).max(max, { error: `expected at most ${max} characters` })
export const ip = z
  .string({ error: 'expected an IP address literal' })
  .refine(s => parseIp(s) !== null, { error: 'expected an IP address literal (no host names)' })
export const network = z.string({ error: 'expected a network name' }).refine(isValidNetwork, {
  error: 'expected a network name of 1-32 characters [a-z0-9][a-z0-9._-]*',
})
export const addressOrBlock = z.string({ error: 'expected an IP address or CIDR block' }).refine(
  s => {
    try {
      createAddressMatcher([s])
      return true
    } catch {
      return false
    }
  },
  { error: 'expected an IP address or CIDR block such as 10.0.0.0/8 (host bits clear)' },
)
/** One address or a list of them (the value is always a list). */
export const hostList = z
  .union([ip, z.array(ip, { error: 'expected a list of IP addresses' })])
  .transform(h => (Array.isArray(h) ? h : [h]))
  .refine(h => h.length > 0, { error: 'expected at least one address' })
export const path = z
  .string({ error: 'expected a file path' })
  .min(1, { error: 'expected a file path' })

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
}

/** '64MiB', '1GB', '1048576' → bytes; null when the text is not a size. */
export function parseSize(text: string | number): number | null {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : null
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (m === null) return null
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()]
  if (unit === undefined) return null
  const n = Math.floor(Number(m[1]) * unit)
  return Number.isSafeInteger(n) ? n : null
}
