import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { TrackerError } from '../errors.js'
import {
  type FlagRead,
  defaultsOf,
  fill,
  flatten,
  label,
  schemaOf,
  show,
} from '../tracker/option-table.js'
import { NO_LISTENER } from '../tracker/options.js'
import { type ListingPort, OPTION_ROWS, OPTION_SHORTHANDS, type TrackerConfig } from './options.js'

export type { ListingKind, ListingPort, LogLevel, TrackerConfig } from './options.js'

/*
 * The tracker's configuration file (docs/operations.md): one JSON object, every key optional,
 * validated at start by the zod schema derived from the option table (src/tracker/options.ts,
 * src/ops/options.ts). An error names the option (or the flag that set it) and the value, and
 * the CLI exits 2 before binding anything. Command-line flags override the file.
 */

export const DEFAULT_CONFIG: Readonly<TrackerConfig> = Object.freeze(defaultsOf(OPTION_ROWS))

export const configSchema = schemaOf(OPTION_ROWS, OPTION_SHORTHANDS)

/** Every option in table order: dotted key, flag, commander property, row. */
export const OPTION_FLAGS = flatten(OPTION_ROWS)

// ---------------------------------------------------------------------------------------------
// Flags

/**
 * Command-line flags as commander hands them over, by property (`--max-entries` is
 * `maxEntries`): strings, repeatable ones as lists; `listing` as ports already read from their
 * `KIND:PORT[:ARG]` syntax by the CLI. Properties that name no flag are ignored.
 */
export type ConfigFlags = Readonly<
  Record<string, string | readonly string[] | readonly ListingPort[] | boolean | undefined>
>

/** The text of a flag as the value the file would hold: numbers as numbers, "off" as null. */
function flagValue(read: FlagRead, value: unknown): unknown {
  if (read === 'value' || typeof value !== 'string') return value
  if (read === 'port' && /^(off|none|null)$/i.test(value)) return null
  if (read === 'bool' && /^(true|yes|on|1)$/i.test(value)) return true
  if (read === 'bool' && /^(false|no|off|0)$/i.test(value)) return false
  if ((read === 'port' || read === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value)
  return value
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface ConfigOrigin {
  /** The config file the raw object came from (relative paths in it are taken from its folder). */
  file?: string
}

/**
 * Validate a raw config object (from the file) with flags over it, and fill in the defaults.
 * Throws CONFIG_UNKNOWN_OPTION or CONFIG_BAD_OPTION naming the option (or flag) and value.
 */
export function parseConfig(
  raw: unknown,
  origin: ConfigOrigin = {},
  flags: ConfigFlags = {},
): TrackerConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TrackerError(
      'CONFIG_READ_FAILED',
      `${origin.file ?? 'the configuration'} must hold a JSON object`,
    )
  }
  const merged = structuredClone(raw) as Record<string, unknown>
  // Relative paths in a file are relative to the file, not to wherever serve was started.
  if (origin.file !== undefined) rebasePaths(merged, dirname(origin.file))
  const fromFlag = new Map<string, string>()
  for (const { flag, prop, path, key, row } of OPTION_FLAGS) {
    const value = flags[prop]
    if (value === undefined) continue
    if (Array.isArray(value) && value.length === 0) continue
    setPath(merged, path, flagValue(row.read, value))
    fromFlag.set(key, flag)
  }
  const result = configSchema.safeParse(merged, { reportInput: true })
  if (!result.success) throw configError(result.error.issues, fromFlag, origin)
  const config: TrackerConfig = fill(OPTION_ROWS, result.data)
  crossCheck(config, fromFlag, origin)
  checked.add(config)
  return config
}

const checked = new WeakSet<object>()

/** Whether `value` came out of parseConfig or loadConfig (checked, defaults filled in). */
export function isCheckedConfig(value: unknown): value is TrackerConfig {
  return typeof value === 'object' && value !== null && checked.has(value)
}

/** Read a JSON config file (CONFIG_READ_FAILED when it cannot be read or parsed). */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error'
    throw new TrackerError('CONFIG_READ_FAILED', `cannot read ${file}: ${code}`, { cause })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    throw new TrackerError('CONFIG_READ_FAILED', `${file} is not valid JSON: ${detail}`, { cause })
  }
}

/** The configuration `serve` runs with: the file (if any), then the flags over it. */
export async function loadConfig(file: string | undefined, flags: ConfigFlags = {}) {
  const raw = file === undefined ? {} : await readConfigFile(file)
  return parseConfig(raw, file === undefined ? {} : { file }, flags)
}

/** Rules across options: something must listen, and no two TCP services share a port. */
function crossCheck(c: TrackerConfig, fromFlag: Map<string, string>, origin: ConfigOrigin): void {
  const fail = (key: string, value: unknown, rule: string): never => {
    throw new TrackerError('CONFIG_BAD_OPTION', describe(key, value, rule, fromFlag, origin))
  }
  if (c.udp === null && c.tcp === null) fail('udp', null, NO_LISTENER)
  const used = new Map<number, string>()
  const claim = (key: string, p: number | null): void => {
    if (p === null || p === 0) return
    const other = used.get(p)
    if (other !== undefined) fail(key, p, `a port not already used by ${other}`)
    used.set(p, key)
  }
  claim('tcp', c.tcp)
  // `http` is usually written as a bare port: name it so, unless --http set it.
  claim(fromFlag.has('http.port') ? 'http.port' : 'http', c.http.port)
  c.listing.forEach((l, i) => {
    claim(`listing[${i}].port`, l.port)
  })
}

function configError(
  issues: readonly z.core.$ZodIssue[],
  fromFlag: Map<string, string>,
  origin: ConfigOrigin,
): TrackerError {
  const unknown = issues.find(i => i.code === 'unrecognized_keys')
  if (unknown !== undefined) {
    const where = [...unknown.path.map(String)]
    const names = unknown.keys.map(k => (where.length > 0 ? `${label(where)}.${k}` : k))
    const hint = suggest(unknown.keys[0] ?? '', knownKeys(where))
    return new TrackerError(
      'CONFIG_UNKNOWN_OPTION',
      `unknown option${names.length > 1 ? 's' : ''} ${names.join(', ')}${hint}${inFile(origin)}`,
    )
  }
  const lines = issues.map(i =>
    describe(
      label(i.path.map(p => (typeof p === 'number' ? p : String(p)))),
      i.input,
      i.message.replace(/^expected /, ''),
      fromFlag,
      origin,
    ),
  )
  return new TrackerError('CONFIG_BAD_OPTION', lines.join('; '))
}

/** "maxEntries: expected a positive integer, got -5" (or "--max-entries: ..."). */
function describe(
  key: string,
  value: unknown,
  rule: string,
  fromFlag: Map<string, string>,
  origin: ConfigOrigin,
): string {
  // listing[1].port was set by --listing: try the key, then each shorter prefix of it.
  let flag: string | undefined
  for (let k = key; ;) {
    flag = fromFlag.get(k)
    const shorter = k.replace(/(\.[^.[]*|\[\d+\])$/, '')
    if (flag !== undefined || shorter === k) break
    k = shorter
  }
  const name = flag ?? key
  const got = value === undefined ? '' : `, got ${show(value)}`
  const where = flag === undefined ? inFile(origin) : ''
  return `${name}: expected ${rule}${got}${where}`
}

function inFile(origin: ConfigOrigin): string {
  return origin.file === undefined ? '' : ` (in ${origin.file})`
}

function knownKeys(where: readonly string[]): string[] {
  let shape: z.ZodRawShape = configSchema.shape
  for (const key of where) {
    const inner = unwrap(shape[key])
    if (inner === null) return []
    shape = inner
  }
  return Object.keys(shape)
}

function unwrap(schema: z.core.SomeType | undefined): z.ZodRawShape | null {
  let s: unknown = schema
  for (let i = 0; i < 4 && s !== undefined; i++) {
    if (s instanceof z.ZodObject) return s.shape
    if (s instanceof z.ZodOptional) s = s.unwrap()
    else if (s instanceof z.ZodUnion) s = s.options.find(o => o instanceof z.ZodObject)
    else return null
  }
  return null
}

/** ", did you mean maxEntries?" for a key one or two edits away from a known one. */
function suggest(key: string, known: string[]): string {
  let best: string | null = null
  let bestDistance = 3
  for (const k of known) {
    const [x, y] = [key.toLowerCase(), k.toLowerCase()]
    const d = x.startsWith(y) || y.startsWith(x) ? 1 : distance(x, y)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best === null ? '' : ` (did you mean ${best}?)`
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length] ?? 0
}

function setPath(obj: Record<string, unknown>, keyPath: readonly string[], value: unknown): void {
  let at = obj
  for (const key of keyPath.slice(0, -1)) {
    const next = at[key]
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      // `"http": 8080` with --http-host: keep the port the bare value stood for.
      const short = OPTION_SHORTHANDS[key]
      const fresh: Record<string, unknown> =
        short !== undefined && key in at ? { [short]: next } : {}
      at[key] = fresh
      at = fresh
    } else at = next as Record<string, unknown>
  }
  const last = keyPath[keyPath.length - 1]
  if (last !== undefined) at[last] = value
}

function rebasePaths(raw: Record<string, unknown>, base: string): void {
  const rebase = (p: unknown): unknown =>
    typeof p === 'string' && p !== '' && !isAbsolute(p) ? join(base, p) : p
  if ('data' in raw) raw.data = rebase(raw.data)
  if ('denyList' in raw) raw.denyList = rebase(raw.denyList)
  if (Array.isArray(raw.listing)) {
    for (const l of raw.listing as unknown[]) {
      if (l !== null && typeof l === 'object' && 'file' in l) {
        const entry = l as Record<string, unknown>
        entry.file = rebase(entry.file)
      }
    }
  }
}
