import { z } from 'zod'
import { LISTING_KINDS, type ListingKind, type ListingSpec } from '../observe/listing-render.js'
import { parseStoreUrl } from '../store/url.js'
import { DAEMON_OPTION_ROWS } from '../tracker/options.js'
import {
  type OptionValues,
  addressOrBlock,
  hostList,
  int,
  network,
  number,
  option,
  path,
  port,
  positiveInt,
  size,
  text,
} from '../tracker/option-table.js'

/*
 * The options around the protocol engine (HTTP, listing ports, egress, flood control, deny list,
 * checkpoints, operator, log), one row each, under their config-file keys. With the engine's
 * rows (src/tracker/options.ts) they are the whole table: src/ops/config.ts derives the schema,
 * the defaults and the flags from it; docs/operations.md documents it (a test compares).
 */

/** A listing port as the config holds it (the observers' ListingSpec). */
export type ListingPort = ListingSpec
export type { ListingKind }

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const listingPort = z
  .object(
    {
      port: int(0, 65535, 'a port from 0 to 65535'),
      kind: z.enum(LISTING_KINDS, { error: `expected one of ${LISTING_KINDS.join(', ')}` }),
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
  .transform(l => {
    const out: ListingPort = { port: l.port, kind: l.kind }
    if (l.network !== undefined) out.network = l.network
    if (l.file !== undefined) out.file = l.file
    return out
  })

const operatorText = (what: string) =>
  option({ rule: text(200), default: '', read: 'text', arg: '<text>', doc: what })

export const OPS_OPTION_ROWS = {
  http: {
    port: option({
      rule: port,
      default: 3521,
      read: 'port',
      arg: '<port>',
      flag: '--http',
      doc: 'HTTP port (status page, JSON API, /metrics); 0 = any free port, off = none',
    }),
    host: option({
      rule: hostList.nullable(),
      default: null,
      read: 'list',
      arg: '<address>',
      doc: 'addresses the HTTP listener binds instead of host (repeatable); none = every host',
    }),
    trustProxy: option({
      rule: z.array(addressOrBlock, { error: 'expected a list of IP addresses or CIDR blocks' }),
      default: [],
      read: 'list',
      arg: '<cidr>',
      doc: 'reverse proxies whose X-Forwarded-For names the HTTP client (repeatable)',
    }),
  },
  listing: option({
    rule: z.array(listingPort, { error: 'expected a list of listing ports' }),
    default: [],
    read: 'value',
    arg: '<kind:port[:arg]>',
    doc:
      'a listing port KIND:PORT[:ARG] (repeatable); KIND text|verbose|json (ARG: a network) ' +
      'or info (ARG: a file)',
  }),
  egress: {
    bytesPerSecond: option({
      rule: size(0, 'a size per second such as 10MiB, or 0 for unlimited').refine(
        n => n === 0 || n >= 1200,
        { error: 'expected 0 (unlimited) or at least 1200 bytes per second' },
      ),
      default: 0,
      read: 'size',
      arg: '<size>',
      flag: '--egress',
      doc: 'egress budget per second, e.g. 10MiB; 0 = unlimited',
    }),
    tcpQueueBytes: option({
      rule: size(0, 'a size such as 1MiB'),
      default: 1024 * 1024,
      read: 'size',
      arg: '<size>',
      flag: '--tcp-queue',
      doc: 'TCP reply bytes that may wait for budget; beyond, the connection is closed',
    }),
  },
  flood: {
    rate: option({
      rule: number(0, 1e6, 'requests per second per source (0 turns flood control off)'),
      default: 20,
      read: 'number',
      arg: '<n>',
      doc: 'requests per second a source may sustain; 0 = flood control off',
    }),
    burst: option({
      rule: number(1, 1e6, 'a burst of at least 1 request'),
      default: 40,
      read: 'number',
      arg: '<n>',
      doc: 'requests a quiet source may send at once',
    }),
    sources: option({
      rule: positiveInt(10_000_000),
      default: 10_000,
      read: 'number',
      arg: '<n>',
      doc: 'sources tracked at once (least recently seen forgotten first)',
    }),
  },
  denyList: option({
    rule: z.union([path, z.null()], { error: 'expected a file path or null' }),
    default: null,
    read: 'text',
    arg: '<file>',
    doc: 'deny-list file of keys, IPs and CIDRs, reloaded on SIGHUP',
  }),
  store: option({
    rule: z.string({ error: 'expected a store URL' }).refine(
      v => {
        try {
          parseStoreUrl(v)
          return true
        } catch {
          return false
        }
      },
      { error: 'expected memory, redis://HOST:PORT or redis-cluster://HOST:PORT,HOST:PORT...' },
    ),
    default: 'memory',
    read: 'text',
    arg: '<url>',
    doc: 'where the table lives: memory, redis://HOST:PORT or redis-cluster://HOST:PORT,...',
  }),
  checkpoint: {
    interval: option({
      rule: int(0, 86_400, 'a number of seconds from 0 (only on stop) to 86400'),
      default: 30,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds between checkpoints; 0 = only on stop',
    }),
    verify: option({
      rule: z.boolean({ error: 'expected true or false' }),
      default: true,
      read: 'bool',
      arg: '<bool>',
      doc: "re-verify restored records' signatures (in the background, after binding)",
    }),
  },
  operator: {
    name: operatorText('who runs this tracker (status page)'),
    location: operatorText('where it runs (status page)'),
    contact: operatorText('how to reach its operator (status page, info ports)'),
  },
  log: {
    level: option({
      rule: z.enum(['debug', 'info', 'warn', 'error'], {
        error: 'expected one of debug, info, warn, error',
      }),
      default: 'info',
      read: 'text',
      arg: '<level>',
      doc: 'debug, info, warn or error',
    }),
  },
}

/** The whole option table: the engine's rows, then the rest. */
export const OPTION_ROWS = { ...DAEMON_OPTION_ROWS, ...OPS_OPTION_ROWS }

/** Sections a bare value may stand for: `"http": 3521` is `"http": { "port": 3521 }`. */
export const OPTION_SHORTHANDS: Readonly<Record<string, string>> = { http: 'port' }

/** Everything `serve` runs with, under the config file's keys. */
export type TrackerConfig = OptionValues<typeof OPTION_ROWS>
