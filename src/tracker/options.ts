import { z } from 'zod'
import { TrackerError } from '../errors.js'
import {
  type OptionValues,
  addressOrBlock,
  defaultsOf,
  fill,
  hostList,
  int,
  label,
  network,
  option,
  path,
  port,
  positiveInt,
  schemaOf,
  show,
  size,
} from './option-table.js'

export { parseSize } from './option-table.js'

/** Largest UDP receive buffer that may be requested (1 GiB). */
export const MAX_UDP_RECV_BUFFER = 1024 ** 3

/** Smallest byte budget accepted: a handful of the largest entries. */
export const MIN_MAX_BYTES = 64 * 1024

const seconds = (min: number, max: number) =>
  int(min, max, `a number of seconds from ${min} to ${max}`)

/**
 * The protocol engine's options, one row each (docs/operations.md, "Configuration"): the Daemon
 * takes them under these keys, the config file and the API too, and `serve` has a flag for each.
 */
export const DAEMON_OPTION_ROWS = {
  host: option({
    rule: hostList,
    default: ['127.0.0.1'],
    read: 'list',
    arg: '<address>',
    doc: 'literal addresses to listen on (repeatable); each gets a UDP and a TCP listener',
  }),
  udp: option({
    rule: port,
    default: 3520,
    read: 'port',
    arg: '<port>',
    doc: 'UDP port of the tracker protocol; 0 = any free port, off = none',
  }),
  tcp: option({
    rule: port,
    default: 3520,
    read: 'port',
    arg: '<port>',
    doc: 'TCP port of the tracker protocol; 0 = any free port, off = none',
  }),
  data: option({
    rule: path,
    default: './metatracker-data',
    read: 'text',
    arg: '<dir>',
    doc: 'data directory: cookie secret and checkpoints',
  }),
  maxEntries: option({
    rule: positiveInt(100_000_000),
    default: 100_000,
    read: 'number',
    arg: '<n>',
    doc: 'most entries in the client table',
  }),
  maxBytes: option({
    rule: size(MIN_MAX_BYTES, 'a size of at least 64KiB such as 64MiB, 1GB or 1048576'),
    default: 64 * 1024 * 1024,
    read: 'size',
    arg: '<size>',
    doc: 'byte budget of the client table, e.g. 64MiB, 1GB',
  }),
  maxTtl: option({
    rule: seconds(1, 86_400),
    default: 3600,
    read: 'number',
    arg: '<seconds>',
    doc: 'longest an entry lives after its last announce',
  }),
  announceInterval: option({
    rule: seconds(1, 65_535),
    default: 300,
    read: 'number',
    arg: '<seconds>',
    doc: 'announce interval suggested in announce replies',
  }),
  serverGrace: option({
    rule: positiveInt(1000),
    default: 3,
    read: 'number',
    arg: '<n>',
    doc: 'announce intervals a server entry outlives its last announce (a crashed server leaves after this many)',
  }),
  perBlock: option({
    rule: positiveInt(100_000_000),
    default: 64,
    read: 'number',
    arg: '<n>',
    doc: 'most entries per address block (/24 IPv4, /48 IPv6)',
  }),
  perWideBlock: option({
    rule: positiveInt(100_000_000),
    default: 2048,
    read: 'number',
    arg: '<n>',
    doc: 'most entries per wide address block (/16 IPv4, /32 IPv6)',
  }),
  protectAfter: option({
    rule: int(1, 1000, 'a number of announces from 1 to 1000'),
    default: 2,
    read: 'number',
    arg: '<n>',
    doc: 'counted announces of a key that move its entry to the protected segment',
  }),
  protectedPercent: option({
    rule: int(1, 100, 'a percentage from 1 to 100'),
    default: 80,
    read: 'number',
    arg: '<percent>',
    doc: 'share of the table (entries and bytes) the protected segment may hold',
  }),
  replayMemory: option({
    rule: int(0, 100_000_000, 'a number of keys from 0 (off) to 100000000'),
    default: 100_000,
    read: 'number',
    arg: '<n>',
    doc: 'keys whose highest seq is remembered after their entry leaves; 0 = off',
  }),
  networks: option({
    rule: z.array(network, { error: 'expected a list of network names' }),
    default: [],
    read: 'list',
    arg: '<name>',
    flag: '--network',
    doc: 'serve only these networks (repeatable); none = any',
  }),
  sampleWindow: option({
    rule: seconds(1, 86_400),
    default: 30,
    read: 'number',
    arg: '<seconds>',
    doc: 'an asker gets the same sample answer this long',
  }),
  tcpMaxConnections: option({
    rule: positiveInt(1_000_000),
    default: 512,
    read: 'number',
    arg: '<n>',
    doc: 'TCP connections at once, per listener',
  }),
  tcpMaxPerSource: option({
    rule: positiveInt(1_000_000),
    default: 8,
    read: 'number',
    arg: '<n>',
    doc: 'TCP connections at once from one IPv4 address or IPv6 /64 (at most a quarter of tcpMaxConnections)',
  }),
  tcpIdleTimeout: option({
    rule: seconds(1, 86_400),
    default: 30,
    read: 'number',
    arg: '<seconds>',
    doc: 'seconds a silent TCP connection is kept',
  }),
  tcpFrameTimeout: option({
    rule: seconds(1, 3600),
    default: 10,
    read: 'number',
    arg: '<seconds>',
    doc: 'seconds a TCP request frame may take from its first byte to its last',
  }),
  tcpMaxPending: option({
    rule: positiveInt(4096),
    default: 32,
    read: 'number',
    arg: '<n>',
    doc: 'replies in flight per TCP connection before reading pauses',
  }),
  tcpMaxBuffer: option({
    rule: size(1024, 'a size such as 256KiB'),
    default: 256 * 1024,
    read: 'size',
    arg: '<size>',
    doc: 'reply bytes held per TCP connection before reading pauses',
  }),
  cookieRate: option({
    rule: positiveInt(10_000_000),
    default: 20_000,
    read: 'number',
    arg: '<n>',
    doc: 'cookie replies per second to unvalidated UDP sources, all together',
  }),
  cookieBlockRate: option({
    rule: int(0, 10_000_000, 'an integer from 0 (no per-block share) to 10000000'),
    default: 1_000,
    read: 'number',
    arg: '<n>',
    doc: 'cookie replies per second per /24 or /48 block; 0 = no per-block share',
  }),
  udpRecvBuffer: option({
    rule: size(0, 'a size such as 4MiB, or 0 for the kernel default').refine(
      n => n <= MAX_UDP_RECV_BUFFER,
      { error: 'expected a size of at most 1GiB' },
    ),
    default: 4 * 1024 * 1024,
    read: 'size',
    arg: '<size>',
    doc: 'UDP receive buffer to request, e.g. 8MiB; 0 = the kernel default',
  }),
  verifyWorkers: option({
    rule: z.union([z.literal('auto'), int(0, 256, 'auto, or a number of threads from 0 to 256')], {
      error: 'expected auto, or a number of threads from 0 to 256',
    }),
    default: 'auto',
    read: 'number',
    arg: '<n>',
    doc: 'threads verifying fresh announces; auto = every core up to 8 (none on one core), 0 = on the main thread',
  }),
  operatorAllow: option({
    rule: z.array(addressOrBlock, { error: 'expected a list of IP addresses or CIDR blocks' }),
    default: ['127.0.0.0/8', '::1/128'],
    read: 'list',
    arg: '<cidr>',
    doc: 'addresses and blocks whose stats requests skip flood control (repeatable)',
  }),
  listUnproven: option({
    rule: z.boolean({ error: 'expected true or false' }),
    default: false,
    read: 'bool',
    arg: '<bool>',
    doc: 'also hand out entries none of whose endpoints is proven reachable (weaker: see docs/security.md)',
  }),
  challenge: {
    rate: option({
      rule: int(0, 1_000_000, 'a number of challenges per second from 0 (none) to 1000000'),
      default: 1000,
      read: 'number',
      arg: '<n>',
      doc: 'reachability challenges sent per second, all targets together; 0 = none',
    }),
    blockRate: option({
      rule: int(0, 1_000_000, 'an integer from 0 (no per-block share) to 1000000'),
      default: 20,
      read: 'number',
      arg: '<n>',
      doc: 'challenges per second to one /24 (IPv4) or /48 (IPv6) at most; 0 = no per-block share',
    }),
    interval: option({
      rule: seconds(1, 86_400),
      default: 30,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds between two announce-triggered challenges of one entry at least (≥ challenge.timeout)',
    }),
    timeout: option({
      rule: seconds(1, 300),
      default: 10,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds a challenged endpoint has to answer before it counts as unreachable',
    }),
    allow: option({
      rule: z.array(addressOrBlock, { error: 'expected a list of IP addresses or CIDR blocks' }),
      default: [],
      read: 'list',
      arg: '<cidr>',
      doc: 'special ranges (private, loopback, ...) a tracker on a non-loopback address may challenge (repeatable)',
    }),
  },
  recheck: {
    unreachable: option({
      rule: seconds(1, 86_400),
      default: 1800,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds before a listed server none of whose endpoints answered is challenged again',
    }),
    empty: option({
      rule: seconds(1, 86_400),
      default: 900,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds between re-checks of a proven server with no players',
    }),
    open: option({
      rule: seconds(1, 86_400),
      default: 600,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds between re-checks of a proven server with players and room',
    }),
    full: option({
      rule: seconds(1, 86_400),
      default: 900,
      read: 'number',
      arg: '<seconds>',
      doc: 'seconds between re-checks of a proven full server (players at or above maxPlayers)',
    }),
  },
}

/** What one tracker daemon is told to do: the values of DAEMON_OPTION_ROWS, same keys. */
export type DaemonOptions = OptionValues<typeof DAEMON_OPTION_ROWS>

export const DEFAULT_OPTIONS: Readonly<DaemonOptions> = Object.freeze(
  defaultsOf(DAEMON_OPTION_ROWS),
)

/** Keys other than the Daemon's (a whole config object) are left out, not refused. */
const daemonSchema = schemaOf(DAEMON_OPTION_ROWS, {}, false)

/** The rule across the engine's options: something must listen. */
export const NO_LISTENER = 'a port (udp and tcp cannot both be off: the tracker needs a listener)'

/**
 * Defaults filled in and every value checked by the rows' rules (for a Daemon built directly;
 * the config file goes through src/ops/config.ts, which uses the same rows). Errors name the
 * option: "maxEntries: expected a positive integer, got 0".
 */
export function resolveOptions(partial: Partial<DaemonOptions> = {}): DaemonOptions {
  const result = daemonSchema.safeParse(partial, { reportInput: true })
  if (!result.success) {
    const lines = result.error.issues.map(i => {
      const got = i.input === undefined ? '' : `, got ${show(i.input)}`
      return `${label(i.path)}: ${i.message}${got}`
    })
    throw new TrackerError('CONFIG_BAD_OPTION', lines.join('; '))
  }
  const o = fill(DAEMON_OPTION_ROWS, result.data)
  if (o.udp === null && o.tcp === null) {
    throw new TrackerError('CONFIG_BAD_OPTION', `udp: expected ${NO_LISTENER}, got null`)
  }
  if (o.challenge.interval < o.challenge.timeout) {
    throw new TrackerError(
      'CONFIG_BAD_OPTION',
      `challenge.interval: expected at least challenge.timeout (${o.challenge.timeout}), got ${o.challenge.interval}`,
    )
  }
  return o
}
