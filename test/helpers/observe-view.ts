import { createHash } from 'node:crypto'
import { ManualClock } from '../../src/clock.js'
import { privateKeyFromSeed, rawPublicKey } from '../../src/crypto/ed25519.js'
import { signRecord } from '../../src/crypto/record-sign.js'
import { Daemon } from '../../src/tracker/daemon.js'
import { daemonView } from '../../src/ops/daemon-view.js'
import type {
  OperatorInfo,
  TableUsage,
  TrackerView,
  ViewQuery,
  ViewSelection,
} from '../../src/observe/view.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import type { Stat } from '../../src/wire/messages.js'
import type { NodeKind, ServerInfo, SignedRecord } from '../../src/wire/record.js'

/**
 * A TrackerView over a real (never started) Daemon: its table, stats and selection, with a
 * manual clock. Tests fill the table directly; no sockets, no data directory.
 */
export class FakeView implements TrackerView {
  readonly clock: ManualClock
  readonly daemon: Daemon
  readonly #view: TrackerView

  constructor(
    operator: Partial<OperatorInfo> = {},
    options: { maxEntries?: number; clock?: ManualClock } = {},
  ) {
    this.clock = options.clock ?? new ManualClock()
    this.daemon = new Daemon(
      {
        host: ['127.0.0.1'],
        udp: 0,
        tcp: 0,
        data: '/nonexistent/metatracker-test',
        maxEntries: options.maxEntries ?? 100_000,
        // Entries are put in the table directly, never announced: nothing is proven.
        listUnproven: true,
      },
      { clock: this.clock },
    )
    this.#view = daemonView(
      this.daemon,
      { name: '', location: '', contact: '', ...operator },
      this.clock.now(),
    )
  }

  get startedAt(): number {
    return this.#view.startedAt
  }

  get operator(): OperatorInfo {
    return this.#view.operator
  }

  stats(): readonly Stat[] {
    return this.#view.stats()
  }

  table(): TableUsage {
    return this.#view.table()
  }

  networks(kind: NodeKind): string[] {
    return this.#view.networks(kind)
  }

  select(q: ViewQuery): ViewSelection {
    return this.#view.select(q)
  }

  add(e: TestEntry): void {
    const stored = this.daemon.table.insert(e.signed, e.observed, e.lastSeen)
    if (stored === undefined) throw new Error('the table refused a test entry')
  }

  /** Add `n` to a tracker counter (created when not one of the core's). */
  count(name: string, n: number): void {
    this.daemon.stats.counter(name).inc(n)
  }

  /** The value a counter has in the stats snapshot. */
  stat(name: string): number | undefined {
    return this.stats().find(s => s.name === name)?.value
  }
}

export interface TestEntry {
  signed: SignedRecord
  observed: Endpoint
  lastSeen: number
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
): TestEntry {
  return entry(
    clock,
    n,
    'server',
    {
      name: `server ${n}`,
      players: 0,
      maxPlayers: 16,
      world: '',
      version: '',
      tags: [],
      ...info,
    },
    o,
  )
}

/** A signed peer entry made with test key `n`. */
export function peerEntry(clock: ManualClock, n: number, o: EntryOptions = {}): TestEntry {
  return entry(clock, n, 'peer', null, o)
}

export function testKeyPair(n: number) {
  const privateKey = privateKeyFromSeed(createHash('sha256').update(`observe ${n}`).digest())
  return { privateKey, publicKey: rawPublicKey(privateKey) }
}

function entry(
  clock: ManualClock,
  n: number,
  kind: NodeKind,
  server: ServerInfo | null,
  o: EntryOptions,
): TestEntry {
  const key = testKeyPair(n)
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
    signed,
    observed: o.observed ?? { family: 4, address: `10.0.${n >> 8}.${n & 0xff}`, port: 40_000 + n },
    lastSeen: clock.now() - (o.seenAgo ?? 0),
  }
}
