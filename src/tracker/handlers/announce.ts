import { verifyRecord } from '../../crypto/record-sign.js'
import { recordKeyLength } from '../../table/client-table.js'
import type { Priority } from '../../throttle/types.js'
import { Limits, WireErrorCode } from '../../wire/constants.js'
import type { Endpoint } from '../../wire/endpoint.js'
import type { Announce, AnnounceStatus } from '../../wire/messages.js'
import { encodeAnnounceReply } from './encode.js'
import { type HandlerContext, type Reply, type Source, errorReply, nowSeconds } from './context.js'

/** §8.3: a record issued more than this many seconds in the future is refused (BAD_TIME). */
export const MAX_CLOCK_SKEW = 300

/** Offset of the record inside an announce: type, txid, cookie. */
const RECORD_AT = 5 + Limits.COOKIE_BYTES

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

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
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
): Reply | null {
  const recBytes = data.subarray(RECORD_AT)
  const keyLen = recordKeyLength(recBytes)
  if (keyLen < 0 || recBytes.byteLength > Limits.RECORD_MAX) return null
  const held = ctx.table.peek(latin1(recBytes.subarray(0, keyLen)))
  if (held?.rec.length !== recBytes.byteLength || held.rec !== latin1(recBytes)) return null
  const priority: Priority = held.server !== null ? 'server' : 'signed'
  ctx.stats.inc('announces')
  const publicKey = recBytes.subarray(keyLen - Limits.PUBLIC_KEY_BYTES, keyLen)
  if (ctx.deny.deniesKey(publicKey)) {
    ctx.table.delete(held.key)
    ctx.stats.inc('denied')
    return errorReply(txid, WireErrorCode.DENIED, priority)
  }
  if (held.expiresAt <= nowSeconds(ctx)) {
    ctx.table.delete(held.key)
    ctx.stats.inc('expired')
    return errorReply(txid, WireErrorCode.EXPIRED, priority)
  }
  ctx.table.refresh(held)
  ctx.stats.inc('announces_refreshed')
  // A refresh never moves the stored endpoint: identical bytes can be replayed by anyone who
  // fetched the record, so only a higher sequence (signed by the key) may move it. The reply
  // shows the stored endpoint, so a node whose address changed sees it and signs a new seq.
  if (held.port !== src.port || held.ip !== src.address) ctx.stats.inc('refresh_other_source')
  return announceReply(ctx, txid, 'refreshed', held, priority)
}

/** §8.3: a decoded announce that is not a refresh. The signature is checked before any change. */
export function handleAnnounce(ctx: HandlerContext, m: Announce, src: Source): Reply {
  const { record } = m.record
  const priority: Priority = record.kind === 'server' ? 'server' : 'signed'
  const fail = (code: (typeof WireErrorCode)[keyof typeof WireErrorCode]): Reply =>
    errorReply(m.txid, code, priority)
  ctx.stats.inc('announces')
  const { networks } = ctx.options
  if (networks.length > 0 && !networks.includes(record.network)) {
    ctx.stats.inc('unknown_network')
    return fail(WireErrorCode.UNKNOWN_NETWORK)
  }
  if (ctx.deny.deniesKey(record.publicKey)) {
    ctx.stats.inc('denied')
    return fail(WireErrorCode.DENIED)
  }
  const now = nowSeconds(ctx)
  if (record.expiresAt <= now) {
    ctx.stats.inc('expired')
    return fail(WireErrorCode.EXPIRED)
  }
  if (record.issuedAt > now + MAX_CLOCK_SKEW) {
    ctx.stats.inc('bad_time')
    return fail(WireErrorCode.BAD_TIME)
  }
  const bytes = m.record.bytes
  const key = latin1(bytes.subarray(0, recordKeyLength(bytes)))
  const held = ctx.table.peek(key)
  if (held !== undefined) {
    if (held.rec === latin1(bytes)) {
      // Identical bytes reached here only when the fast path was skipped (TCP callers use it
      // too, so this is a safety net): still a refresh.
      ctx.table.refresh(held)
      ctx.stats.inc('announces_refreshed')
      return announceReply(ctx, m.txid, 'refreshed', held, priority)
    }
    if (record.seq <= held.seq) {
      ctx.stats.inc('stale_sequence')
      return fail(WireErrorCode.STALE_SEQUENCE)
    }
  }
  const observed: Endpoint = { family: src.family, address: src.address, port: src.port }
  const admitted = ctx.table.admit(held, observed.address, m.record)
  if (admitted === 'stale') {
    // A replay of an older record of a key that left the table (§8.3 replay memory).
    ctx.stats.inc('stale_sequence')
    return fail(WireErrorCode.STALE_SEQUENCE)
  }
  if (admitted === 'block-full') {
    ctx.stats.inc('block_full')
    return fail(WireErrorCode.BLOCK_FULL)
  }
  ctx.stats.inc('signature_checks')
  if (!verifyRecord(m.record)) {
    ctx.stats.inc('bad_signatures')
    return fail(WireErrorCode.BAD_SIGNATURE)
  }
  const stored = ctx.table.insert(m.record, observed)
  if (stored === undefined) {
    ctx.stats.inc('expired')
    return fail(WireErrorCode.EXPIRED)
  }
  ctx.stats.inc(held === undefined ? 'announces_new' : 'announces_replaced')
  // Amortised cleanup: a couple of random positions of the same index, expired ones deleted.
  ctx.table.sweep(record.network, record.kind, 2)
  return announceReply(ctx, m.txid, held === undefined ? 'new' : 'replaced', stored, priority)
}
