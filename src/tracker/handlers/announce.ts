import { verifyRecord } from '../../crypto/record-sign.js'
import type { Priority } from '../../throttle/types.js'
import { Limits, WireErrorCode, type WireErrorNumber } from '../../wire/constants.js'
import type { Endpoint } from '../../wire/endpoint.js'
import { announceRecord, latin1, recordKeyLength, recordPublicKey } from '../../wire/layout.js'
import type { Announce, AnnounceStatus } from '../../wire/messages.js'
import { isWithdrawal } from '../../wire/record.js'
import { isTrackerError } from '../../errors.js'
import type { Entry } from '../../table/entry.js'
import type { TableStore } from '../../store/types.js'
import { encodeAnnounceReply } from '../../wire/fast-replies.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  errorReply,
  nowSeconds,
} from './context.js'

/**
 * §8.3: a record issued more than this many seconds in the future is refused (BAD_TIME); a
 * withdrawal issued more than this many seconds ago is refused too (EXPIRED).
 */
export const MAX_CLOCK_SKEW = 300

/** Bytes of an announce before its record: the header and the cookie (§8.3). */
const ANNOUNCE_OVERHEAD = 5 + Limits.COOKIE_BYTES

function announceReply(
  ctx: HandlerContext,
  txid: number,
  status: AnnounceStatus,
  observed: { ip: string; port: number },
  priority: Priority,
): Reply {
  return {
    bytes: encodeAnnounceReply(
      txid,
      status,
      ctx.options.announceInterval,
      observed.ip,
      observed.port,
    ),
    priority,
  }
}

/**
 * A refresh: the announce carries exactly the bytes of the held record. Compared on the raw
 * bytes before any decoding, so the common case costs a string compare and no signature check.
 * Returns null when the announce is not a refresh of a live entry.
 */
export function tryRefresh(
  ctx: HandlerContext,
  data: Uint8Array,
  txid: number,
  src: Source,
  transport: Transport = 'udp',
): Reply | null {
  const recBytes = announceRecord(data)
  const keyLen = recordKeyLength(recBytes)
  if (keyLen < 0 || recBytes.byteLength > Limits.RECORD_MAX) return null
  const held = ctx.table.peek(latin1(recBytes.subarray(0, keyLen)))
  if (held?.rec.length !== recBytes.byteLength || held.rec !== latin1(recBytes)) return null
  const priority: Priority = held.server !== null ? 'server' : 'signed'
  ctx.stats.inc('announces')
  const publicKey = recordPublicKey(recBytes)
  if (ctx.deny.deniesKey(publicKey)) {
    dropHeld(ctx, held.key)
    ctx.stats.inc('denied')
    return errorReply(txid, WireErrorCode.DENIED, priority)
  }
  if (held.expiresAt <= nowSeconds(ctx)) {
    dropHeld(ctx, held.key)
    ctx.stats.inc('expired')
    return errorReply(txid, WireErrorCode.EXPIRED, priority)
  }
  refreshHeld(ctx, held)
  ctx.stats.inc('announces_refreshed')
  // Proof (docs/protocol.md §9): only for an entry with an endpoint not proven or in a round.
  if (held.want !== held.proven || held.pending !== 0) {
    ctx.prover.afterRefresh(held, transport === 'udp' ? src : null, data.byteLength)
  }
  // A refresh never moves the stored endpoint: identical bytes can be replayed by anyone who
  // fetched the record, so only a higher sequence (signed by the key) may move it. The reply
  // shows the stored endpoint, so a node whose address changed sees it and signs a new seq.
  if (held.port !== src.port || held.ip !== src.address) ctx.stats.inc('refresh_other_source')
  return announceReply(ctx, txid, 'refreshed', held, priority)
}

/** An answer now, or once the signature check on the verify pool comes back (null: paused). */
export type LaterReply = Reply | null | Promise<Reply | null>

type Fail = (code: WireErrorNumber) => Reply

/**
 * §8.3: a decoded announce that is not a refresh. The signature is checked before any change;
 * with a verify pool (`ctx.verify`, `pool` set) it is checked off this thread, and every state
 * check is redone when the answer comes back (commitAnnounce): nothing is acknowledged or
 * stored before its signature verified, and the table decides on what it holds then.
 */
export function handleAnnounce(
  ctx: HandlerContext,
  m: Announce,
  src: Source,
  transport: Transport = 'udp',
  pool = false,
): LaterReply {
  const { record } = m.record
  const priority: Priority = record.kind === 'server' ? 'server' : 'signed'
  const fail: Fail = code => errorReply(m.txid, code, priority)
  ctx.stats.inc('announces')
  // §8.3: the order of checks is normative (first failure wins).
  const refused = keyAndNetwork(ctx, m)
  if (refused !== null) return fail(refused)
  const now = nowSeconds(ctx)
  if (isWithdrawal(record)) {
    return handleWithdrawal(ctx, m, src, transport, now, fail, priority, pool)
  }
  const stale = timeAndSequence(ctx, m, now)
  if (stale !== null) return typeof stale === 'number' ? fail(stale) : stale
  return verifyThen(ctx, m, src, transport, fail, pool, () =>
    commitAnnounce(ctx, m, src, transport, fail),
  )
}

/** §8.3 steps 1 and 2: the key's deny list, then the network. */
function keyAndNetwork(ctx: HandlerContext, m: Announce): WireErrorNumber | null {
  const { record } = m.record
  if (ctx.deny.deniesKey(record.publicKey)) {
    ctx.stats.inc('denied')
    return WireErrorCode.DENIED
  }
  const { networks } = ctx.options
  if (networks.length > 0 && !networks.includes(record.network)) {
    ctx.stats.inc('unknown_network')
    return WireErrorCode.UNKNOWN_NETWORK
  }
  return null
}

/**
 * §8.3 steps 3 and 4 of an announce, against the table as it is now: the time window, then
 * identical bytes (a refresh, answered here) or the sequence against the held and remembered
 * seq. Null: the record may go on to its signature check.
 */
function timeAndSequence(
  ctx: HandlerContext,
  m: Announce,
  now: number,
): WireErrorNumber | Reply | null {
  const { record } = m.record
  if (record.expiresAt <= now) {
    ctx.stats.inc('expired')
    return WireErrorCode.EXPIRED
  }
  if (record.issuedAt > now + MAX_CLOCK_SKEW) {
    ctx.stats.inc('bad_time')
    return WireErrorCode.BAD_TIME
  }
  const bytes = m.record.bytes
  const held = ctx.table.peek(latin1(bytes.subarray(0, recordKeyLength(bytes))))
  if (held !== undefined && held.rec === latin1(bytes)) {
    // Identical bytes reached here only when the fast path was skipped (TCP callers use it
    // too, so this is a safety net), or they were stored while this copy was verified: still
    // a refresh.
    refreshHeld(ctx, held)
    ctx.stats.inc('announces_refreshed')
    const priority: Priority = record.kind === 'server' ? 'server' : 'signed'
    return announceReply(ctx, m.txid, 'refreshed', held, priority)
  }
  return staleSequence(ctx, m, held)
}

/**
 * After the signature verified: every check on state is redone against the table as it is now
 * (a higher seq, a withdrawal, the deny list or the clock may have moved while the record was on
 * the verify pool), then capacity, then the table stores it.
 */
function commitAnnounce(
  ctx: HandlerContext,
  m: Announce,
  src: Source,
  transport: Transport,
  fail: Fail,
): LaterReply {
  const refused = keyAndNetwork(ctx, m)
  if (refused !== null) return fail(refused)
  const stale = timeAndSequence(ctx, m, nowSeconds(ctx))
  if (stale !== null) return typeof stale === 'number' ? fail(stale) : stale
  const { record } = m.record
  const bytes = m.record.bytes
  const held = ctx.table.peek(latin1(bytes.subarray(0, recordKeyLength(bytes))))
  const observed = observedEndpoint(record.endpoints, src, transport)
  if (observed === null) {
    ctx.stats.inc('tcp_no_port')
    return fail(WireErrorCode.UNSUPPORTED)
  }
  // Capacity only after the signature: unsigned junk cannot probe or purge address blocks.
  if (ctx.table.admit(held, observed.address) === 'block-full') {
    ctx.stats.inc('block_full')
    return fail(WireErrorCode.BLOCK_FULL)
  }
  // §9: a UDP source with a valid cookie (admission checked it) proved its own endpoint.
  const provenBy = transport === 'udp' ? observed : null
  if (ctx.store) return storeAnnounce(ctx, ctx.store, m, observed, provenBy, fail)
  const stored = ctx.table.insert(m.record, observed, undefined, provenBy)
  if (stored === undefined) {
    // The table will not store it (§8.10: TABLE_FULL, never a silent loss).
    ctx.stats.inc('table_full')
    return fail(WireErrorCode.TABLE_FULL)
  }
  return afterStore(ctx, m, held, stored)
}

/** Counters, proofs, sweep and the reply, once the record is stored (table or shared store). */
function afterStore(
  ctx: HandlerContext,
  m: Announce,
  held: Entry | undefined,
  stored: Entry,
): Reply {
  const { record } = m.record
  const priority: Priority = record.kind === 'server' ? 'server' : 'signed'
  const bytes = m.record.bytes
  ctx.stats.inc(held === undefined ? 'announces_new' : 'announces_replaced')
  const fresh = held !== undefined ? ctx.prover.carryOver(held, stored) : 0
  // Challenge the endpoints not proven yet, no more bytes than this announce had.
  ctx.prover.afterAnnounce(stored, bytes.byteLength + ANNOUNCE_OVERHEAD, fresh)
  // Amortised cleanup: a couple of random positions of the same index, expired ones deleted.
  ctx.table.sweep(record.network, record.kind, 2)
  return announceReply(ctx, m.txid, held === undefined ? 'new' : 'replaced', stored, priority)
}

/**
 * §8.3 *Withdrawal*, after the deny list and the network: the time window (BAD_TIME beyond the
 * clock skew ahead, EXPIRED more than the skew behind), the sequence against the held and the
 * remembered seq (STALE_SEQUENCE), the signature; then the entry leaves at once and the seq is
 * remembered (ClientTable.withdraw), held or not. Answered `withdrawn`, interval 0, with the
 * request's source as seen (nothing is stored, so on TCP that is the connection's own port).
 * On the verify pool, the window and the sequence are checked again when the answer is back.
 */
function handleWithdrawal(
  ctx: HandlerContext,
  m: Announce,
  src: Source,
  transport: Transport,
  now: number,
  fail: Fail,
  priority: Priority,
  pool: boolean,
): LaterReply {
  const early = withdrawalChecks(ctx, m, now)
  if (early !== null) return fail(early)
  return verifyThen(ctx, m, src, transport, fail, pool, () => {
    const refused = keyAndNetwork(ctx, m) ?? withdrawalChecks(ctx, m, nowSeconds(ctx))
    if (refused !== null) return fail(refused)
    const done = (): Reply => {
      ctx.stats.inc('withdrawals')
      return {
        bytes: encodeAnnounceReply(m.txid, 'withdrawn', 0, src.address, src.port),
        priority,
      }
    }
    if (ctx.store) {
      return ctx.store.withdraw(m.record).then(
        r => (r === 'stale' ? staleReply(ctx, fail) : done()),
        (err: unknown) => storeRefused(ctx, m, err),
      )
    }
    ctx.table.withdraw(m.record)
    return done()
  })
}

function withdrawalChecks(ctx: HandlerContext, m: Announce, now: number): WireErrorNumber | null {
  const { record } = m.record
  if (record.issuedAt > now + MAX_CLOCK_SKEW) {
    ctx.stats.inc('bad_time')
    return WireErrorCode.BAD_TIME
  }
  if (record.issuedAt < now - MAX_CLOCK_SKEW) {
    ctx.stats.inc('expired')
    return WireErrorCode.EXPIRED
  }
  const bytes = m.record.bytes
  return staleSequence(ctx, m, ctx.table.peek(latin1(bytes.subarray(0, recordKeyLength(bytes)))))
}

/**
 * §8.3: the endpoint stored with a record. On UDP it is the datagram's source, address and port.
 * On TCP the source port is an ephemeral port of the connection, never where the node listens, so
 * the address is the connection's and the port comes from the record: the port of its
 * unspecified-address endpoint of the source's family (`0.0.0.0:port` / `[::]:port`), else of its
 * first endpoint of that family, else of its first endpoint. A record naming no port at all
 * cannot be stored from TCP: null (the caller refuses it with UNSUPPORTED).
 */
export function observedEndpoint(
  endpoints: readonly Endpoint[],
  src: Source,
  transport: Transport,
): Endpoint | null {
  if (transport === 'udp') return { family: src.family, address: src.address, port: src.port }
  const unspecified = src.family === 4 ? '0.0.0.0' : '::'
  const pick =
    endpoints.find(e => e.family === src.family && e.address === unspecified) ??
    endpoints.find(e => e.family === src.family) ??
    endpoints[0]
  if (pick === undefined) return null
  return { family: src.family, address: src.address, port: pick.port }
}

/**
 * §8.3 step 4, shared by announces and withdrawals: the seq must be higher than the held one or
 * (key not held) than the one the replay memory keeps.
 */
function staleSequence(
  ctx: HandlerContext,
  m: Announce,
  held: { seq: number } | undefined,
): WireErrorNumber | null {
  if (held !== undefined ? m.record.record.seq <= held.seq : ctx.table.isReplay(m.record)) {
    ctx.stats.inc('stale_sequence')
    return WireErrorCode.STALE_SEQUENCE
  }
  return null
}

/**
 * §8.3 step 5, then `commit`: in this thread (no pool, or `pool` false: the synchronous entry),
 * or on the verify pool, `commit` running when the answer is back. A full pool is answered
 * OVERLOADED (retry after 1 s); a source over its share of the pool is dropped on UDP (it keeps
 * sending, its answers would only feed the flood) and answered OVERLOADED on TCP, where a
 * missing answer would end the connection. Both are counted.
 */
function verifyThen(
  ctx: HandlerContext,
  m: Announce,
  src: Source,
  transport: Transport,
  fail: Fail,
  pool: boolean,
  commit: () => LaterReply,
): LaterReply {
  ctx.stats.inc('signature_checks')
  const gate = pool ? ctx.verify : undefined
  if (gate === undefined || gate === null) {
    if (!verifyRecord(m.record)) {
      ctx.stats.inc('bad_signatures')
      return fail(WireErrorCode.BAD_SIGNATURE)
    }
    return commit()
  }
  const priority: Priority = m.record.record.kind === 'server' ? 'server' : 'signed'
  const answer = gate.submit(m.record, src)
  if (answer === 'busy') {
    ctx.stats.inc('verify_busy')
    return errorReply(m.txid, WireErrorCode.OVERLOADED, priority, 1)
  }
  if (answer === 'source-cap') {
    ctx.stats.inc('verify_source_capped')
    return transport === 'udp' ? null : errorReply(m.txid, WireErrorCode.OVERLOADED, priority, 1)
  }
  return answer.then(
    ok => {
      if (gate.closed) return null
      if (!ok) {
        ctx.stats.inc('bad_signatures')
        return fail(WireErrorCode.BAD_SIGNATURE)
      }
      return commit()
    },
    // The pool closed under it: the daemon is stopping, nothing is answered.
    () => null,
  )
}

/** A fresh verified record through the shared store; its refusals answered like the table's. */
function storeAnnounce(
  ctx: HandlerContext,
  store: TableStore,
  m: Announce,
  observed: Endpoint,
  provenBy: Endpoint | null,
  fail: Fail,
): Promise<Reply> {
  const bytes = m.record.bytes
  const held = ctx.table.peek(latin1(bytes.subarray(0, recordKeyLength(bytes))))
  return store.put(m.record, observed, provenBy).then(
    r => {
      if (r.status === 'new' || r.status === 'replaced') {
        if (r.entry !== undefined) return afterStore(ctx, m, held, r.entry)
        // Stored in the store, not (yet) in this replica: acknowledged all the same.
        ctx.stats.inc(r.status === 'new' ? 'announces_new' : 'announces_replaced')
        const priority: Priority = m.record.record.kind === 'server' ? 'server' : 'signed'
        const where = { ip: observed.address, port: observed.port }
        return announceReply(ctx, m.txid, r.status, where, priority)
      }
      if (r.status === 'stale') return staleReply(ctx, fail)
      ctx.stats.inc(r.status === 'block-full' ? 'block_full' : 'table_full')
      return fail(r.status === 'block-full' ? WireErrorCode.BLOCK_FULL : WireErrorCode.TABLE_FULL)
    },
    (err: unknown) => storeRefused(ctx, m, err),
  )
}

function staleReply(ctx: HandlerContext, fail: Fail): Reply {
  ctx.stats.inc('stale_sequence')
  return fail(WireErrorCode.STALE_SEQUENCE)
}

/**
 * The shared store refused a write (STORE_UNAVAILABLE, STORE_BUSY): answered OVERLOADED with a
 * retry-after of 1 s, counted, logged at debug (a Redis outage would flood the log otherwise;
 * the store logs the outage itself).
 */
function storeRefused(ctx: HandlerContext, m: Announce, err: unknown): Reply {
  const busy = isTrackerError(err) && err.code === 'STORE_BUSY'
  ctx.stats.inc(busy ? 'store_busy' : 'store_unavailable')
  ctx.logger.debug({ err: (err as Error).message }, 'store write refused')
  const priority: Priority = m.record.record.kind === 'server' ? 'server' : 'signed'
  return errorReply(m.txid, WireErrorCode.OVERLOADED, priority, 1)
}

/** A held entry leaves (deny list, expired): from the replica now, from the store behind. */
function dropHeld(ctx: HandlerContext, key: string): void {
  ctx.table.delete(key)
  ctx.store?.delete(key).catch(() => undefined)
}

function refreshHeld(ctx: HandlerContext, held: Entry): void {
  if (ctx.store) ctx.store.refresh(held)
  else ctx.table.refresh(held)
}
