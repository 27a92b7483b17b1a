import { endpointToString } from '../wire/endpoint.js'
import { type VerifiedEntry, connectEndpoints } from './verify.js'

/*
 * Plain-data and plain-text views of verified entries, shared by the CLI and the demo. Pure: no
 * I/O, no colours (the CLI adds those when it writes to a terminal).
 */

/** The JSON form of one entry (`peers --json`, `servers --json`). */
export interface EntryJson {
  /** Hex Ed25519 public key: the node's identity. */
  key: string
  network: string
  kind: 'peer' | 'server'
  seq: number
  /** Endpoints as the node announced them (HOST:PORT, IPv6 in brackets). */
  endpoints: string[]
  /** The source endpoint the tracker saw the announce come from. */
  observed: string
  /** Where to connect: announced endpoints with unspecified addresses filled from `observed`. */
  connect: string[]
  issuedAt: number
  expiresAt: number
  /** Seconds since the tracker last heard from the node. */
  age: number
  /** At least one endpoint proven reachable by the tracker (protocol §9). */
  verified: boolean
  /** The `connect` endpoints the tracker proved (a subset, in the same form). */
  proven: string[]
  /** Seconds since the tracker's last proof; null when none. */
  proofAge: number | null
  /** The tracker that handed the entry out. */
  tracker: string
  name?: string
  players?: number
  maxPlayers?: number
  world?: string
  version?: string
  tags?: string[]
}

export function entryToJson(e: VerifiedEntry): EntryJson {
  const r = e.record
  const out: EntryJson = {
    key: e.key,
    network: r.network,
    kind: r.kind,
    seq: r.seq,
    endpoints: r.endpoints.map(endpointToString),
    observed: endpointToString(e.observed),
    connect: connectEndpoints(e).map(endpointToString),
    issuedAt: r.issuedAt,
    expiresAt: r.expiresAt,
    age: e.age,
    verified: e.verified,
    proven: connectEndpoints(e)
      .filter((_, i) => (e.proven & (1 << i)) !== 0)
      .map(endpointToString),
    proofAge: e.proofAge,
    tracker: e.tracker,
  }
  if (r.server !== null) {
    out.name = r.server.name
    out.players = r.server.players
    out.maxPlayers = r.server.maxPlayers
    out.world = r.server.world
    out.version = r.server.version
    out.tags = r.server.tags.slice()
  }
  return out
}

/** Columns right-aligned when every cell is a count, a ratio (3/8) or an age (12s, 4m, 2h). */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every(r => /^[0-9]+(\/[0-9]+|[smh])?$/.test(r[i] ?? '')),
  )
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)]
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`
  return `${Math.floor(seconds / 3600)}h`
}

/** A short key for tables; the full key is in --json. */
export function shortKey(key: string): string {
  return key.slice(0, 16)
}

/** Peers as an aligned table. */
export function formatPeerTable(entries: readonly VerifiedEntry[]): string[] {
  return formatTable(
    ['KEY', 'CONNECT', 'OBSERVED', 'SEQ', 'AGE'],
    entries.map(e => [
      shortKey(e.key),
      connectEndpoints(e).map(endpointToString).join(','),
      endpointToString(e.observed),
      String(e.record.seq),
      formatAge(e.age),
    ]),
  )
}

/**
 * Servers as an aligned table, in the spirit of MetaServerII's listing: one line per server with
 * where to connect, how full it is and what it runs.
 */
export function formatServerTable(entries: readonly VerifiedEntry[]): string[] {
  return formatTable(
    ['SERVER', 'ADDRESS', 'PLAYERS', 'WORLD', 'VERSION', 'TAGS', 'AGE', 'KEY'],
    entries.map(e => {
      const s = e.record.server
      return [
        s?.name ?? '',
        connectEndpoints(e).map(endpointToString)[0] ?? '',
        s === null ? '' : `${s.players}/${s.maxPlayers}`,
        s?.world === '' || s === null ? '-' : s.world,
        s?.version === '' || s === null ? '-' : s.version,
        s === null || s.tags.length === 0 ? '-' : s.tags.join(','),
        formatAge(e.age),
        shortKey(e.key),
      ]
    }),
  )
}
