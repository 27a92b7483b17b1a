import type { Endpoint } from '../wire/endpoint.js'
import type { ServerInfo } from '../wire/record.js'
import { type ViewEntry, ageSeconds, connectEndpoints } from './view.js'

/**
 * One entry as the JSON API and the `json` listing port show it: the signed record in base64
 * (clients decode and verify it themselves, protocol §5/§7), its decoded fields for convenience,
 * the endpoint the tracker observed and where to connect.
 */
export interface EntryJson {
  /** The exact signed record bytes, base64 (RFC 4648 §4, with padding). */
  record: string
  key: string
  network: string
  kind: 'peer' | 'server'
  seq: number
  issuedAt: number
  expiresAt: number
  /** The endpoints the record announces (an unspecified address means "the observed one"). */
  endpoints: Endpoint[]
  /**
   * Where to connect: the announced endpoints with the observed address filled in, each with
   * whether the tracker proved it reachable (protocol §9).
   */
  connect: (Endpoint & { verified: boolean })[]
  observed: Endpoint
  /** Seconds since the tracker last received the record. */
  age: number
  /** At least one endpoint proven reachable: listed without `unproven`. */
  verified: boolean
  /** When the tracker last proved an endpoint, Unix seconds; null = never. */
  provenAt: number | null
  /** Times this tracker handed the entry out to a query (usage statistics). */
  served: number
  server: ServerInfo | null
}

export function entryJson(e: ViewEntry, now: number): EntryJson {
  const r = e.record
  return {
    record: Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength).toString('base64'),
    key: Buffer.from(r.publicKey.buffer, r.publicKey.byteOffset, r.publicKey.byteLength).toString(
      'hex',
    ),
    network: r.network,
    kind: r.kind,
    seq: r.seq,
    issuedAt: r.issuedAt,
    expiresAt: r.expiresAt,
    endpoints: r.endpoints.map(ep => ({ ...ep })),
    connect: connectEndpoints(e).map((ep, i) => ({
      ...ep,
      verified: ((e.proven ?? 0) & (1 << i)) !== 0,
    })),
    observed: { ...e.observed },
    age: ageSeconds(e, now),
    verified: e.verified,
    provenAt:
      e.verified && e.provenAt !== undefined && e.provenAt > 0
        ? Math.floor(e.provenAt / 1000)
        : null,
    served: e.served ?? 0,
    server: r.server === null ? null : { ...r.server, tags: [...r.server.tags] },
  }
}
