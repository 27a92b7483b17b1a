import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, join } from 'node:path'
import { z } from 'zod'
import { TrackerError } from '../errors.js'
import { parseIp } from '../wire/endpoint.js'
import { isValidNetwork } from '../wire/record.js'
import { createAddressMatcher } from '../tracker/handlers/allow-list.js'
import {
  DEFAULT_OPTIONS,
  type DaemonOptions,
  MAX_UDP_RECV_BUFFER,
  MIN_MAX_BYTES,
  parseSize,
} from '../tracker/options.js'

/*
 * The tracker's configuration file (docs/operations.md): one JSON object, every key optional,
 * validated with zod at start. An error names the option (or the flag that set it) and the
 * value, and the CLI exits 2 before binding anything. Command-line flags override the file.
 */

export type ListingKind = 'text' | 'verbose' | 'json' | 'info'

export interface ListingPort {
  port: number
  kind: ListingKind
  /** Only entries of this network (text, verbose, json); all networks when absent. */
  network?: string
  /** The file an `info` port sends. */
  file?: string
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Everything `serve` runs with: the Daemon's options plus what the operations areas use. */
export interface TrackerConfig extends DaemonOptions {
  /** HTTP port (status page, JSON API, metrics): 0 = any free port, null = none. */
  http: number | null
  /** Addresses the HTTP listener binds (file: `http.host`); null = the tracker's `hosts`. */
  httpHosts: string[] | null
  egress: { bytesPerSecond: number; tcpQueueBytes: number }
  flood: { rate: number; burst: number; sources: number }
  /** Deny-list file, reloaded on SIGHUP; null = none. */
  denyList: string | null
  /**
   * Seconds between checkpoints (0 = only on stop); whether restored records are re-verified
   * (in the background, after binding).
   */
  checkpoint: { interval: number; verify: boolean }
  operator: { name: string; location: string; contact: string }
  listing: ListingPort[]
  log: { level: LogLevel }
}

const defaults: TrackerConfig = {
  ...DEFAULT_OPTIONS,
  hosts: [...DEFAULT_OPTIONS.hosts],
  networks: [...DEFAULT_OPTIONS.networks],
  operatorAllow: [...DEFAULT_OPTIONS.operatorAllow],
  http: 3521,
  httpHosts: null,
  egress: { bytesPerSecond: 0, tcpQueueBytes: 1024 * 1024 },
  flood: { rate: 20, burst: 40, sources: 10_000 },
  denyList: null,
  checkpoint: { interval: 30, verify: true },
  operator: { name: '', location: '', contact: '' },
  listing: [],
  log: { level: 'info' },
}
export const DEFAULT_CONFIG: Readonly<TrackerConfig> = Object.freeze(defaults)

// ---------------------------------------------------------------------------------------------
// Schema. Each rule carries the one message shown for any failure of it ("expected ...").

const int = (min: number, max: number, what = `an integer from ${min} to ${max}`) => {
  const error = `expected ${what}`
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error })
}
const positiveInt = (max = Number.MAX_SAFE_INTEGER) => int(1, max, 'a positive integer')
const number = (min: number, max: number, what: string) => {
  const error = `expected ${what}`
  return z.number({ error }).min(min, { error }).max(max, { error })
}
const port = z.union([int(0, 65535, 'a port from 0 to 65535, or null to disable'), z.null()], {
  error: 'expected a port from 0 to 65535, or null to disable',
})
const size = (min: number, what: string) =>
  z.union([z.number(), z.string()], { error: `expected ${what}` }).transform((v, ctx) => {
    const n = parseSize(v)
    if (n === null || n < min) {
      ctx.issues.push({ code: 'custom', message: `expected ${what}`, input: v })
      return z.NEVER
    }
    return n
  })
const text = (max: number) =>
  z.string({ error: `expected a string` }).max(max, {
    error: `expected at most ${max} characters`,
  })
const ip = z.string({ error: 'expected an IP address literal' }).refine(s => parseIp(s) !== null, {
  error: 'expected an IP address literal (no host names)',
})
const network = z.string({ error: 'expected a network name' }).refine(isValidNetwork, {
  error: 'expected a network name of 1-32 characters [a-z0-9][a-z0-9._-]*',
})
const addressOrBlock = z.string({ error: 'expected an IP address or CIDR block' }).refine(
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
const hostList = z
  .union([ip, z.array(ip, { error: 'expected a list of IP addresses' })])
  .transform(h => (Array.isArray(h) ? h : [h]))
  .refine(h => h.length > 0, { error: 'expected at least one address' })
const path = z.string({ error: 'expected a file path' }).min(1, { error: 'expected a file path' })

const listingPort = z
  .object(
    {
      port: int(0, 65535, 'a port from 0 to 65535'),
      kind: z.enum(['text', 'verbose', 'json', 'info'], {
        error: 'expected one of text, verbose, json, info',
      }),
      network: network.optional(),
      file: path.optional(),
    },
    { error: 'expected an object { port, kind, network?, file? }' },
  )
  .strict()
  .superRefine((l, ctx) => {
    if (l.kind === 'info' && l.file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['file'],
        message: 'expected a file to send (an info port needs one)',
        input: undefined,
      })
    }
  })

const section = <T extends z.ZodRawShape>(shape: T, what: string) =>
  z.object(shape, { error: `expected an object ${what}` }).strict()

export const configSchema = section(
  {
    host: hostList.optional(),
    udp: port.optional(),
    tcp: port.optional(),
    // A port (or null), or { port, host } to bind HTTP elsewhere than the tracker's hosts.
    http: z
      .union([port, section({ port, host: hostList }, '{ port, host }').partial()], {
        error: 'expected a port from 0 to 65535, null to disable, or { port, host }',
      })
      .optional(),
    data: path.optional(),
    maxEntries: positiveInt(100_000_000).optional(),
    maxBytes: size(
      MIN_MAX_BYTES,
      `a size of at least 64KiB such as 64MiB, 1GB or 1048576`,
    ).optional(),
    maxTtl: int(1, 86_400, 'a number of seconds from 1 to 86400').optional(),
    announceInterval: int(1, 65_535, 'a number of seconds from 1 to 65535').optional(),
    perBlock: positiveInt(100_000_000).optional(),
    perWideBlock: positiveInt(100_000_000).optional(),
    protectAfter: int(1, 1000, 'a number of announces from 1 to 1000').optional(),
    protectedPercent: int(1, 100, 'a percentage from 1 to 100').optional(),
    replayMemory: int(0, 100_000_000, 'a number of keys from 0 (off) to 100000000').optional(),
    networks: z.array(network, { error: 'expected a list of network names' }).optional(),
    sampleWindow: int(1, 86_400, 'a number of seconds from 1 to 86400').optional(),
    tcpMaxConnections: positiveInt(1_000_000).optional(),
    tcpMaxPerSource: positiveInt(1_000_000).optional(),
    tcpIdleTimeout: int(1, 86_400, 'a number of seconds from 1 to 86400').optional(),
    tcpFrameTimeout: int(1, 3600, 'a number of seconds from 1 to 3600').optional(),
    tcpMaxPending: positiveInt(4096).optional(),
    tcpMaxBuffer: size(1024, 'a size such as 256KiB').optional(),
    cookieRate: positiveInt(10_000_000).optional(),
    cookieBlockRate: int(
      0,
      10_000_000,
      'an integer from 0 (no per-block share) to 10000000',
    ).optional(),
    udpRecvBuffer: size(0, 'a size such as 4MiB, or 0 for the kernel default')
      .refine(n => n <= MAX_UDP_RECV_BUFFER, { error: 'expected a size of at most 1GiB' })
      .optional(),
    operatorAllow: z
      .array(addressOrBlock, { error: 'expected a list of IP addresses or CIDR blocks' })
      .optional(),
    egress: section(
      {
        bytesPerSecond: size(0, 'a size per second such as 10MiB, or 0 for unlimited')
          .refine(n => n === 0 || n >= 1200, {
            error: 'expected 0 (unlimited) or at least 1200 bytes per second',
          })
          .optional(),
        tcpQueueBytes: size(0, 'a size such as 1MiB').optional(),
      },
      '{ bytesPerSecond, tcpQueueBytes }',
    ).optional(),
    flood: section(
      {
        rate: number(0, 1e6, 'requests per second per source (0 turns flood control off)'),
        burst: number(1, 1e6, 'a burst of at least 1 request'),
        sources: positiveInt(10_000_000),
      },
      '{ rate, burst, sources }',
    )
      .partial()
      .optional(),
    denyList: z.union([path, z.null()], { error: 'expected a file path or null' }).optional(),
    checkpoint: section(
      {
        interval: int(0, 86_400, 'a number of seconds from 0 (only on stop) to 86400'),
        verify: z.boolean({ error: 'expected true or false' }),
      },
      '{ interval, verify }',
    )
      .partial()
      .optional(),
    operator: section(
      { name: text(200), location: text(200), contact: text(200) },
      '{ name, location, contact }',
    )
      .partial()
      .optional(),
    listing: z.array(listingPort, { error: 'expected a list of listing ports' }).optional(),
    log: section(
      {
        level: z.enum(['debug', 'info', 'warn', 'error'], {
          error: 'expected one of debug, info, warn, error',
        }),
      },
      '{ level }',
    )
      .partial()
      .optional(),
  },
  'of options',
)

type ParsedConfig = z.output<typeof configSchema>

// ---------------------------------------------------------------------------------------------
// Flags

/** Command-line flags as commander hands them over (strings; repeatable ones as lists). */
export interface ConfigFlags {
  host?: string[]
  udp?: string
  tcp?: string
  http?: string
  httpHost?: string[]
  data?: string
  maxEntries?: string
  maxBytes?: string
  maxTtl?: string
  announceInterval?: string
  perBlock?: string
  network?: string[]
  sampleWindow?: string
  egress?: string
  tcpQueue?: string
  floodRate?: string
  floodBurst?: string
  cookieRate?: string
  udpRecvBuffer?: string
  operatorAllow?: string[]
  denyList?: string
  checkpointInterval?: string
  logLevel?: string
  /** Listing ports, already read from their `KIND:PORT[:ARG]` syntax by the CLI. */
  listing?: ListingPort[]
}

type FlagKind = 'port' | 'number' | 'text' | 'list' | 'size' | 'value'

/** flag property -> [--flag, config key path, how its text is read]. */
const FLAGS: Readonly<Record<keyof ConfigFlags, readonly [string, readonly string[], FlagKind]>> = {
  host: ['--host', ['host'], 'list'],
  udp: ['--udp', ['udp'], 'port'],
  tcp: ['--tcp', ['tcp'], 'port'],
  http: ['--http', ['http', 'port'], 'port'],
  httpHost: ['--http-host', ['http', 'host'], 'list'],
  data: ['--data', ['data'], 'text'],
  maxEntries: ['--max-entries', ['maxEntries'], 'number'],
  maxBytes: ['--max-bytes', ['maxBytes'], 'size'],
  maxTtl: ['--max-ttl', ['maxTtl'], 'number'],
  announceInterval: ['--announce-interval', ['announceInterval'], 'number'],
  perBlock: ['--per-block', ['perBlock'], 'number'],
  network: ['--network', ['networks'], 'list'],
  sampleWindow: ['--sample-window', ['sampleWindow'], 'number'],
  egress: ['--egress', ['egress', 'bytesPerSecond'], 'size'],
  tcpQueue: ['--tcp-queue', ['egress', 'tcpQueueBytes'], 'size'],
  floodRate: ['--flood-rate', ['flood', 'rate'], 'number'],
  floodBurst: ['--flood-burst', ['flood', 'burst'], 'number'],
  cookieRate: ['--cookie-rate', ['cookieRate'], 'number'],
  udpRecvBuffer: ['--udp-recv-buffer', ['udpRecvBuffer'], 'size'],
  operatorAllow: ['--operator-allow', ['operatorAllow'], 'list'],
  denyList: ['--deny-list', ['denyList'], 'text'],
  checkpointInterval: ['--checkpoint-interval', ['checkpoint', 'interval'], 'number'],
  logLevel: ['--log-level', ['log', 'level'], 'text'],
  listing: ['--listing', ['listing'], 'value'],
}

/** The text of a flag as the value the file would hold: numbers as numbers, "off" as null. */
function flagValue(kind: FlagKind, value: unknown): unknown {
  if (kind === 'value' || typeof value !== 'string') return value
  if (kind === 'port' && /^(off|none|null)$/i.test(value)) return null
  if ((kind === 'port' || kind === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value)
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
  // `http` is a port or { port, host }: the object form, so --http and --http-host each set
  // their half.
  if (typeof merged.http === 'number' || merged.http === null) merged.http = { port: merged.http }
  const fromFlag = new Map<string, string>()
  for (const [name, value] of Object.entries(flags) as [keyof ConfigFlags, unknown][]) {
    const spec = FLAGS[name] as (typeof FLAGS)[keyof ConfigFlags] | undefined
    if (spec === undefined || value === undefined) continue
    if (Array.isArray(value) && value.length === 0) continue
    const [flag, keyPath, kind] = spec
    setPath(merged, keyPath, flagValue(kind, value))
    fromFlag.set(keyPath.join('.'), flag)
  }
  const result = configSchema.safeParse(merged, { reportInput: true })
  if (!result.success) throw configError(result.error.issues, fromFlag, origin)
  const config = fill(result.data)
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

function fill(c: ParsedConfig): TrackerConfig {
  const d = DEFAULT_CONFIG
  return {
    hosts: c.host ?? [...d.hosts],
    udpPort: c.udp === undefined ? d.udpPort : c.udp,
    tcpPort: c.tcp === undefined ? d.tcpPort : c.tcp,
    dataDir: c.data ?? d.dataDir,
    maxEntries: c.maxEntries ?? d.maxEntries,
    maxBytes: c.maxBytes ?? d.maxBytes,
    maxTtl: c.maxTtl ?? d.maxTtl,
    announceInterval: c.announceInterval ?? d.announceInterval,
    perBlockMax: c.perBlock ?? d.perBlockMax,
    perWideBlockMax: c.perWideBlock ?? d.perWideBlockMax,
    protectAfter: c.protectAfter ?? d.protectAfter,
    protectedPercent: c.protectedPercent ?? d.protectedPercent,
    replayMemory: c.replayMemory ?? d.replayMemory,
    networks: c.networks ?? [...d.networks],
    sampleWindow: c.sampleWindow ?? d.sampleWindow,
    tcpMaxConnections: c.tcpMaxConnections ?? d.tcpMaxConnections,
    tcpMaxPerSource: c.tcpMaxPerSource ?? d.tcpMaxPerSource,
    tcpIdleTimeout: c.tcpIdleTimeout ?? d.tcpIdleTimeout,
    tcpFrameTimeout: c.tcpFrameTimeout ?? d.tcpFrameTimeout,
    tcpMaxPending: c.tcpMaxPending ?? d.tcpMaxPending,
    tcpMaxBuffer: c.tcpMaxBuffer ?? d.tcpMaxBuffer,
    cookieRate: c.cookieRate ?? d.cookieRate,
    cookieBlockRate: c.cookieBlockRate ?? d.cookieBlockRate,
    udpRecvBuffer: c.udpRecvBuffer ?? d.udpRecvBuffer,
    operatorAllow: c.operatorAllow ?? [...d.operatorAllow],
    http: httpPort(c.http, d.http),
    httpHosts: typeof c.http === 'object' && c.http?.host !== undefined ? c.http.host : null,
    egress: {
      bytesPerSecond: c.egress?.bytesPerSecond ?? d.egress.bytesPerSecond,
      tcpQueueBytes: c.egress?.tcpQueueBytes ?? d.egress.tcpQueueBytes,
    },
    flood: {
      rate: c.flood?.rate ?? d.flood.rate,
      burst: c.flood?.burst ?? d.flood.burst,
      sources: c.flood?.sources ?? d.flood.sources,
    },
    denyList: c.denyList === undefined ? d.denyList : c.denyList,
    checkpoint: {
      interval: c.checkpoint?.interval ?? d.checkpoint.interval,
      verify: c.checkpoint?.verify ?? d.checkpoint.verify,
    },
    operator: {
      name: c.operator?.name ?? d.operator.name,
      location: c.operator?.location ?? d.operator.location,
      contact: c.operator?.contact ?? d.operator.contact,
    },
    listing: (c.listing ?? []).map(l => {
      const out: ListingPort = { port: l.port, kind: l.kind }
      if (l.network !== undefined) out.network = l.network
      if (l.file !== undefined) out.file = l.file
      return out
    }),
    log: { level: c.log?.level ?? d.log.level },
  }
}

function httpPort(http: ParsedConfig['http'], fallback: number | null): number | null {
  if (http === undefined) return fallback
  if (http === null || typeof http === 'number') return http
  return http.port === undefined ? fallback : http.port
}

/** Rules across options: something must listen, and no two TCP services share a port. */
function crossCheck(c: TrackerConfig, fromFlag: Map<string, string>, origin: ConfigOrigin): void {
  const fail = (key: string, value: unknown, rule: string): never => {
    throw new TrackerError('CONFIG_BAD_OPTION', describe(key, value, rule, fromFlag, origin))
  }
  if (c.udpPort === null && c.tcpPort === null) {
    fail('udp', null, 'a port (udp and tcp cannot both be off: the tracker needs a listener)')
  }
  const used = new Map<number, string>()
  const claim = (key: string, p: number | null): void => {
    if (p === null || p === 0) return
    const other = used.get(p)
    if (other !== undefined) fail(key, p, `a port not already used by ${other}`)
    used.set(p, key)
  }
  claim('tcp', c.tcpPort)
  claim('http', c.http)
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

function label(path: readonly (string | number)[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`
  return out
}

function show(value: unknown): string {
  const s = JSON.stringify(value) as string | undefined
  if (s === undefined) return typeof value
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
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
      const fresh: Record<string, unknown> = {}
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
