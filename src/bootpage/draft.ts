import { TrackerError } from '../errors.js'
import {
  BOOTPAGE_VERSION,
  type BootpageDocument,
  type BootpageFreshness,
  type BootpageOperator,
  type BootpageTracker,
  validatePage,
} from './schema.js'
import { majority } from './verify.js'

/** What `bootpage init` needs to write a draft (an unsigned bootpage). */
export interface DraftInput {
  network: string
  trackers: readonly BootpageTracker[]
  operators: readonly BootpageOperator[]
  /** Default: a majority of the operators. */
  threshold?: number
  /** Default 1. */
  sequence?: number
  /** Unix seconds. */
  issuedAt: number
  /** Unix seconds. */
  validUntil: number
  /** The online stamp keys, their threshold and the longest stamp (docs/bootpage.md §9). */
  freshness?: BootpageFreshness
}

/** Build and validate a draft; throws BOOTPAGE_BAD_SHAPE naming the field. */
export function createDraft(input: DraftInput): BootpageDocument {
  const page = validatePage({
    version: BOOTPAGE_VERSION,
    network: input.network,
    sequence: input.sequence ?? 1,
    issuedAt: input.issuedAt,
    validUntil: input.validUntil,
    threshold: input.threshold ?? majority(input.operators.length),
    operators: input.operators,
    trackers: input.trackers,
    ...(input.freshness === undefined ? {} : { freshness: input.freshness }),
  })
  return { page, signatures: [] }
}

const TRACKER_FIELDS = new Set([
  'name',
  'operator',
  'host',
  'udp',
  'tcp',
  'http',
  'port',
  'key',
  'location',
  'contact',
  'notes',
])
const PORT_FIELDS = new Set(['udp', 'tcp', 'http', 'port'])

/** Split `a=1,b=x\,y` into pairs; `\,` and `\\` escape a comma and a backslash. */
function splitPairs(spec: string): [string, string][] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < spec.length; i++) {
    const c = spec.charAt(i)
    if (c === '\\' && i + 1 < spec.length) {
      current += spec.charAt(i + 1)
      i++
    } else if (c === ',') {
      parts.push(current)
      current = ''
    } else {
      current += c
    }
  }
  parts.push(current)
  return parts
    .filter(p => p.trim() !== '')
    .map(p => {
      const eq = p.indexOf('=')
      if (eq <= 0)
        throw new TrackerError('BOOTPAGE_BAD_SPEC', `expected key=value, got "${p.slice(0, 60)}"`)
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()]
    })
}

/**
 * Parse `--tracker name=a,operator=Alice,host=198.51.100.7,udp=3520,tcp=3520,http=3521,
 * key=HEX,location=Paris,contact=ops@example.org`. `port=N` sets udp and tcp together; the
 * operator defaults to `defaultOperator`. Field values are validated by the page schema.
 */
export function parseBootpageTrackerSpec(spec: string, defaultOperator?: string): BootpageTracker {
  const fields = new Map<string, string>()
  for (const [k, v] of splitPairs(spec)) {
    if (!TRACKER_FIELDS.has(k))
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `unknown tracker field "${k.slice(0, 40)}"`)
    if (fields.has(k)) throw new TrackerError('BOOTPAGE_BAD_SPEC', `tracker field ${k} given twice`)
    fields.set(k, v)
  }
  const ports: Partial<Record<'udp' | 'tcp' | 'http', number>> = {}
  for (const k of PORT_FIELDS) {
    const v = fields.get(k)
    if (v === undefined) continue
    if (!/^[0-9]{1,5}$/.test(v))
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `tracker ${k} must be a port number`)
  }
  const port = (k: string): number | undefined => {
    const v = fields.get(k)
    return v === undefined ? undefined : Number(v)
  }
  for (const k of ['udp', 'tcp', 'http'] as const) {
    const n = port(k) ?? (k === 'http' ? undefined : port('port'))
    if (n !== undefined) ports[k] = n
  }
  const name = fields.get('name')
  const host = fields.get('host')
  if (name === undefined) throw new TrackerError('BOOTPAGE_BAD_SPEC', 'a tracker needs name=')
  if (host === undefined) throw new TrackerError('BOOTPAGE_BAD_SPEC', 'a tracker needs host=')
  const operator = fields.get('operator') ?? defaultOperator
  if (operator === undefined)
    throw new TrackerError('BOOTPAGE_BAD_SPEC', `tracker ${name} needs operator=`)
  const out: BootpageTracker = { name, operator, host, ...ports }
  for (const k of ['key', 'location', 'contact', 'notes'] as const) {
    const v = fields.get(k)
    if (v !== undefined) out[k] = v
  }
  return out
}

/**
 * Parse an operator list: one operator per line, `HEX [name...]`; `#` starts a comment; also
 * accepts `name=HEX` and bare `HEX` items separated by commas (the `--operator-key` form).
 * Names default to the first 8 hex digits of the key.
 */
export function parseOperatorList(text: string): BootpageOperator[] {
  const out: BootpageOperator[] = []
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim()
    if (line === '') continue
    for (const item of line.includes('=') || line.includes(',') ? line.split(',') : [line]) {
      const entry = item.trim()
      if (entry === '') continue
      let key: string
      let name: string
      const eq = entry.indexOf('=')
      if (eq >= 0) {
        name = entry.slice(0, eq).trim()
        key = entry.slice(eq + 1).trim()
      } else {
        const [first = '', ...rest] = entry.split(/\s+/)
        key = first
        name = rest.join(' ')
      }
      key = key.toLowerCase()
      if (!/^[0-9a-f]{64}$/.test(key))
        throw new TrackerError('BOOTPAGE_BAD_SPEC', `not a public key: ${key.slice(0, 80)}`)
      out.push({ key, name: name === '' ? key.slice(0, 8) : name })
    }
  }
  return out
}
