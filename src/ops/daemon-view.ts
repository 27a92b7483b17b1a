import type { Clock } from '../clock.js'
import type { ClientTable, Entry } from '../table/client-table.js'
import { openFloodGate } from '../throttle/types.js'
import { type HandlerContext, serveRequest } from '../tracker/handlers/index.js'
import { sourceFrom } from '../tracker/handlers/context.js'
import { MessageType, PROTOCOL_VERSION, WireErrorCode } from '../wire/constants.js'
import { ANNOUNCE_RECORD_AT } from '../wire/layout.js'
import { type Stat, decodeMessage } from '../wire/messages.js'
import { decodeRecord } from '../wire/record.js'
import {
  type SelectQuery,
  type Selection,
  best,
  list,
  sample,
  seededRandom,
} from '../table/select.js'
import type {
  AnnounceOutcome,
  AnnounceSource,
  OperatorInfo,
  TrackerView,
  ViewEntry,
  ViewQuery,
  ViewSelection,
  WireErrorName,
} from '../observe/view.js'

/** What the observers need of a Daemon (a Daemon fits; so does one that is not started). */
export interface ViewSource {
  readonly table: ClientTable
  readonly stats: { snapshot(): Stat[] }
  readonly clock: Clock
  /** The handlers' context of a started daemon (HTTP registration); null: not serving. */
  readonly handlerContext?: HandlerContext | null
}

export interface DaemonViewOptions {
  /** Offer HTTP registration (`POST /v1/announce`, protocol §12); needs `handlerContext`. */
  announce?: boolean
}

/**
 * The one place the observers meet the tracker core: a TrackerView over a Daemon's table and
 * stats. Selection is the tracker's own (`src/table/select.ts`), so the JSON API and the
 * listing ports answer exactly as a wire query would; only the entries returned are decoded.
 */
export function daemonView(
  d: ViewSource,
  operator: OperatorInfo,
  startedAt: number = d.clock.now(),
  options: DaemonViewOptions = {},
): TrackerView {
  const view: TrackerView = {
    clock: d.clock,
    startedAt,
    operator,
    stats: () => d.stats.snapshot(),
    table: () => ({
      entries: d.table.size,
      bytes: d.table.bytes,
      maxEntries: d.table.maxEntries,
      maxBytes: d.table.maxBytes,
    }),
    networks: kind => {
      const prefix = kind === 'server' ? 's' : 'p'
      return d.table
        .bucketIds()
        .filter(id => id.startsWith(prefix))
        .map(id => id.slice(1))
        .filter(n => d.table.bucket(n, kind).length > 0)
    },
    select: (q: ViewQuery): ViewSelection => {
      const sq: SelectQuery = {
        network: q.network,
        kind: q.kind,
        count: q.count,
        offset: q.offset,
        sort: q.sort,
        notFull: q.notFull,
        world: q.world,
        version: q.version,
        tags: q.tags,
        exclude: null,
        unproven: q.unproven === true,
      }
      let sel: Selection
      switch (q.mode) {
        case 'sample':
          // Port 0 is never an entry's observed port: nobody is left out by address.
          sel = sample(d.table, sq, { address: '', port: 0 }, seededRandom(q.seed))
          break
        case 'list':
          sel = list(d.table, sq)
          break
        case 'best':
          sel = best(d.table, sq)
          break
      }
      const entries: ViewEntry[] = []
      const now = d.table.nowSeconds()
      for (const e of sel.entries) {
        const v = toViewEntry(e, d.table.provenOf(e, now))
        if (v !== null) entries.push(v)
      }
      return { total: sel.total, entries }
    },
  }
  if (options.announce === true) view.announce = (record, source) => httpAnnounce(d, record, source)
  return view
}

/** The HTTP listener charged the request to the client's flood bucket already: once is enough. */
const charged = new WeakMap<HandlerContext, HandlerContext>()

/**
 * An HTTP announce (protocol §12), handled as a TCP announce: the record wrapped in an announce
 * message (txid 1, no cookie: the TCP handshake proved the source) through the tracker's own
 * `handleRequest`, so admission (deny list), every rule of §8.3 and every counter are the same;
 * the observed endpoint is the client address with the port from the record. The flood bucket
 * is not charged a second time.
 */
async function httpAnnounce(
  d: ViewSource,
  record: Uint8Array,
  source: AnnounceSource,
): Promise<AnnounceOutcome | null> {
  const ctx = d.handlerContext ?? null
  const src = sourceFrom(source.address, source.port > 0 ? source.port : 1)
  if (ctx === null || src === null) return null
  let once = charged.get(ctx)
  if (once === undefined) {
    once = { ...ctx, flood: openFloodGate }
    charged.set(ctx, once)
  }
  const message = new Uint8Array(ANNOUNCE_RECORD_AT + record.byteLength)
  message[0] = (PROTOCOL_VERSION << 4) | MessageType.ANNOUNCE
  new DataView(message.buffer).setUint32(1, 1)
  message.set(record, ANNOUNCE_RECORD_AT)
  // A fresh record is verified on the daemon's verify pool, like a TCP announce.
  const reply = await serveRequest(once, message, src, 'tcp')
  if (reply === null) return null
  const m = decodeMessage(reply.bytes)
  if (m.type === 'announce-reply') {
    return { ok: true, status: m.status, observed: m.observed, interval: m.interval }
  }
  if (m.type === 'error') {
    return { ok: false, error: errorName(m.code), retryAfter: m.retryAfter }
  }
  return { ok: false, error: 'INTERNAL', retryAfter: 0 }
}

function errorName(code: number): WireErrorName {
  for (const [name, n] of Object.entries(WireErrorCode)) {
    if (n === code) return name as WireErrorName
  }
  return 'INTERNAL'
}

function toViewEntry(e: Entry, proven: number): ViewEntry | null {
  let signed
  try {
    signed = decodeRecord(e.recordBytes)
  } catch {
    // The table holds only records that decoded when announced; never expected.
    return null
  }
  return {
    record: signed.record,
    bytes: signed.bytes,
    observed: e.observed,
    lastSeen: e.seen * 1000,
    verified: proven !== 0,
    proven,
    provenAt: proven !== 0 ? e.provenAt * 1000 : 0,
    served: e.served,
  }
}
