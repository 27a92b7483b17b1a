import { TrackerError } from '../errors.js'
import { isValidNetwork } from '../wire/record.js'
import { createAddressMatcher } from './handlers/allow-list.js'

/** What one tracker daemon is told to do. Every field has a default in DEFAULT_OPTIONS. */
export interface DaemonOptions {
  /** Literal addresses to listen on; each gets a UDP and a TCP listener. */
  hosts: string[]
  /** UDP port; 0 = any free port; null = no UDP listener. */
  udpPort: number | null
  /** TCP port; 0 = any free port; null = no TCP listener. */
  tcpPort: number | null
  /** Where the cookie secret (and later checkpoints) live. */
  dataDir: string
  /** Most entries the client table holds. */
  maxEntries: number
  /** Byte budget of the client table (record bytes + per-entry overhead). */
  maxBytes: number
  /** Seconds: an entry lives at most this long after its last announce, whatever its expiry. */
  maxTtl: number
  /** Seconds: the announce interval suggested in announce replies. */
  announceInterval: number
  /** Most entries per address block (/24 IPv4, /48 IPv6). */
  perBlockMax: number
  /** Most entries per wide address block (/16 IPv4, /32 IPv6). */
  perWideBlockMax: number
  /** Counted announces of a key (30 s or more apart) that move its entry to the protected segment. */
  protectAfter: number
  /** Percent of the table (entries and bytes) the protected segment may hold. */
  protectedPercent: number
  /** Keys whose highest seq is remembered after their entry leaves (replay protection); 0 = off. */
  replayMemory: number
  /** Networks served; [] = any. */
  networks: string[]
  /** Seconds during which the same asker gets the same sample. */
  sampleWindow: number
  /** TCP: most connections at once. */
  tcpMaxConnections: number
  /**
   * TCP: most connections at once from one IPv4 address or one IPv6 /64 (never more than a
   * quarter of tcpMaxConnections).
   */
  tcpMaxPerSource: number
  /** TCP: seconds a connection may stay silent before it is closed. */
  tcpIdleTimeout: number
  /** TCP: seconds a frame (header and body) may take from its first byte to its last. */
  tcpFrameTimeout: number
  /** TCP: replies waiting for the egress budget per connection before reading pauses. */
  tcpMaxPending: number
  /**
   * TCP: bytes of replies one connection may hold (waiting or unsent) before reading pauses.
   * Worst-case TCP memory is about tcpMaxConnections x (tcpMaxBuffer + one 64 KiB read chunk).
   */
  tcpMaxBuffer: number
  /**
   * UDP: cookie replies per second to unvalidated sources, all together (a token bucket with a
   * one-second burst). Over it, cookie requests are dropped silently (`dropped_cookie_budget`).
   */
  cookieRate: number
  /** UDP: cookie replies per second per /24 (IPv4) or /48 (IPv6) block; 0 = no per-block share. */
  cookieBlockRate: number
  /**
   * UDP: receive buffer (SO_RCVBUF) requested for each UDP socket, bytes; 0 = the kernel default.
   * Linux doubles the request and caps it at net.core.rmem_max; the granted size is reported.
   */
  udpRecvBuffer: number
  /** IPs and CIDR blocks whose stats requests skip the per-source flood bucket. */
  operatorAllow: string[]
}

export const DEFAULT_OPTIONS: Readonly<DaemonOptions> = Object.freeze({
  hosts: ['127.0.0.1'],
  udpPort: 3520,
  tcpPort: 3520,
  dataDir: './metatracker-data',
  maxEntries: 100_000,
  maxBytes: 64 * 1024 * 1024,
  maxTtl: 3600,
  announceInterval: 300,
  perBlockMax: 64,
  perWideBlockMax: 2048,
  protectAfter: 2,
  protectedPercent: 80,
  replayMemory: 100_000,
  networks: [],
  sampleWindow: 30,
  tcpMaxConnections: 512,
  tcpMaxPerSource: 8,
  tcpIdleTimeout: 30,
  tcpFrameTimeout: 10,
  tcpMaxPending: 32,
  tcpMaxBuffer: 256 * 1024,
  cookieRate: 20_000,
  cookieBlockRate: 1_000,
  udpRecvBuffer: 4 * 1024 * 1024,
  operatorAllow: ['127.0.0.0/8', '::1/128'],
})

/** Largest UDP receive buffer that may be requested (1 GiB). */
export const MAX_UDP_RECV_BUFFER = 1024 ** 3

/** Smallest byte budget accepted: a handful of the largest entries. */
export const MIN_MAX_BYTES = 64 * 1024

function bad(option: string, value: unknown, rule: string): TrackerError {
  return new TrackerError(
    'CONFIG_BAD_OPTION',
    `${option} must be ${rule} (got ${(JSON.stringify(value) as string | undefined) ?? typeof value})`,
  )
}

function int(option: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(option, value, `an integer from ${min} to ${max}`)
  }
}

function port(option: string, value: number | null): void {
  if (value !== null) int(option, value, 0, 65535)
}

/** Defaults filled in and every value checked; errors name the option. */
export function resolveOptions(partial: Partial<DaemonOptions> = {}): DaemonOptions {
  const o: DaemonOptions = { ...DEFAULT_OPTIONS, ...partial }
  if (!Array.isArray(o.hosts) || o.hosts.length === 0) {
    throw bad('hosts', o.hosts, 'a non-empty list of literal IP addresses')
  }
  for (const h of o.hosts) {
    if (typeof h !== 'string' || !/^[0-9a-fA-F:.]+$/.test(h)) {
      throw bad('hosts', h, 'a literal IPv4 or IPv6 address')
    }
  }
  port('udpPort', o.udpPort)
  port('tcpPort', o.tcpPort)
  if (o.udpPort === null && o.tcpPort === null)
    throw bad('udpPort', null, 'set when tcpPort is null')
  if (typeof o.dataDir !== 'string' || o.dataDir === '') throw bad('dataDir', o.dataDir, 'a path')
  int('maxEntries', o.maxEntries, 1, 100_000_000)
  int('maxBytes', o.maxBytes, MIN_MAX_BYTES, Number.MAX_SAFE_INTEGER)
  int('maxTtl', o.maxTtl, 1, 86_400)
  int('announceInterval', o.announceInterval, 1, 65_535)
  int('perBlockMax', o.perBlockMax, 1, 100_000_000)
  int('perWideBlockMax', o.perWideBlockMax, 1, 100_000_000)
  int('protectAfter', o.protectAfter, 1, 1000)
  int('protectedPercent', o.protectedPercent, 1, 100)
  int('replayMemory', o.replayMemory, 0, 100_000_000)
  if (!Array.isArray(o.networks)) throw bad('networks', o.networks, 'a list of network names')
  for (const n of o.networks) {
    if (typeof n !== 'string' || !isValidNetwork(n)) {
      throw bad('networks', n, 'network names of 1-32 bytes [a-z0-9][a-z0-9._-]*')
    }
  }
  int('sampleWindow', o.sampleWindow, 1, 86_400)
  int('tcpMaxConnections', o.tcpMaxConnections, 1, 1_000_000)
  int('tcpMaxPerSource', o.tcpMaxPerSource, 1, 1_000_000)
  int('tcpIdleTimeout', o.tcpIdleTimeout, 1, 86_400)
  int('tcpFrameTimeout', o.tcpFrameTimeout, 1, 3600)
  int('tcpMaxPending', o.tcpMaxPending, 1, 4096)
  int('tcpMaxBuffer', o.tcpMaxBuffer, 1024, 64 * 1024 * 1024)
  int('cookieRate', o.cookieRate, 1, 10_000_000)
  int('cookieBlockRate', o.cookieBlockRate, 0, 10_000_000)
  int('udpRecvBuffer', o.udpRecvBuffer, 0, MAX_UDP_RECV_BUFFER)
  if (!Array.isArray(o.operatorAllow)) {
    throw bad('operatorAllow', o.operatorAllow, 'a list of IP addresses or CIDR blocks')
  }
  createAddressMatcher(o.operatorAllow)
  return {
    ...o,
    hosts: [...o.hosts],
    networks: [...o.networks],
    operatorAllow: [...o.operatorAllow],
  }
}

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
