import { createHash } from 'node:crypto'
import { ManualClock } from '../../src/clock.js'
import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import type { Stat } from '../../src/wire/messages.js'
import type { NodeKind, ServerInfo } from '../../src/wire/record.js'
import type {
  OperatorInfo,
  TableUsage,
  TrackerView,
  ViewEntry,
} from '../../src/tracker/observe/view.js'

/** A TrackerView over plain arrays, for the observers' tests (no Daemon needed). */
export class FakeView implements TrackerView {
  readonly clock: ManualClock
  readonly startedAt: number
  operator: OperatorInfo
  counters = new Map<string, number>()
  list: ViewEntry[] = []
  budget = { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 }

  constructor(operator: Partial<OperatorInfo> = {}, clock = new ManualClock()) {
    this.clock = clock
    this.startedAt = clock.now()
    this.operator = { name: '', location: '', contact: '', ...operator }
  }

  stats(): Stat[] {
    return [...this.counters].map(([name, value]) => ({ name, value }))
  }

  table(): TableUsage {
    return {
      entries: this.list.length,
      bytes: this.list.reduce((n, e) => n + e.bytes.byteLength, 0),
      ...this.budget,
    }
  }

  *entries(kind: NodeKind, network?: string): Iterable<ViewEntry> {
    for (const e of this.list) {
      if (e.record.kind === kind && (network === undefined || e.record.network === network)) yield e
    }
  }

  add(e: ViewEntry): ViewEntry {
    this.list.push(e)
    return e
  }
}

export interface EntryOptions {
  network?: string
  seq?: number
  /** Seconds from the clock's now until expiry. */
  ttl?: number
  endpoints?: Endpoint[]
  observed?: Endpoint
  /** ms before now that the tracker last saw it. */
  seenAgo?: number
}

/** A signed server entry made with test key `n`. */
export function serverEntry(
  clock: ManualClock,
  n: number,
  info: Partial<ServerInfo> = {},
  o: EntryOptions = {},
): ViewEntry {
  return entry(
    clock,
    n,
    'server',
    { name: `server ${n}`, players: 0, maxPlayers: 16, world: '', version: '', tags: [], ...info },
    o,
  )
}

/** A signed peer entry made with test key `n`. */
export function peerEntry(clock: ManualClock, n: number, o: EntryOptions = {}): ViewEntry {
  return entry(clock, n, 'peer', null, o)
}

function entry(
  clock: ManualClock,
  n: number,
  kind: NodeKind,
  server: ServerInfo | null,
  o: EntryOptions,
): ViewEntry {
  const privateKey = privateKeyFromSeed(createHash('sha256').update(`observe ${n}`).digest())
  const key = { privateKey, publicKey: rawPublicKey(privateKey) }
  const now = Math.floor(clock.now() / 1000)
  const signed = signRecord(
    {
      network: o.network ?? 'quake.example',
      publicKey: key.publicKey,
      seq: o.seq ?? 1,
      issuedAt: now - 10,
      expiresAt: now + (o.ttl ?? 600),
      kind,
      endpoints: o.endpoints ?? [{ family: 4, address: '0.0.0.0', port: 27_960 }],
      server,
    },
    key.privateKey,
  )
  return {
    record: signed.record,
    bytes: signed.bytes,
    observed: o.observed ?? { family: 4, address: `10.0.${n >> 8}.${n & 0xff}`, port: 40_000 + n },
    lastSeen: clock.now() - (o.seenAgo ?? 0),
    verified: false,
  }
}
