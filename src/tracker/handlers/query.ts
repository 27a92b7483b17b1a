import { createHmac } from 'node:crypto'
import { WireErrorCode, Limits } from '../../wire/constants.js'
import {
  type IntroEntry,
  type Introductions,
  type Query,
  encodeMessage,
  fitIntroductions,
} from '../../wire/messages.js'
import { best, list, sample, seededRandom } from '../select.js'
import type { Selection } from '../select.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  errorReply,
  nowSeconds,
} from './context.js'

/**
 * Seed of one asker's sample: HMAC(sampleKey, ip16 || port || window || network || kind ||
 * count). The same asker asking the same thing within one window gets the same sample; another
 * source (or the next window) gets another.
 */
export function sampleSeed(ctx: HandlerContext, q: Query, src: Source): Uint8Array {
  const window = Math.floor(nowSeconds(ctx) / ctx.options.sampleWindow)
  const head = Buffer.alloc(16 + 2 + 8 + 2)
  head.set(src.ip16, 0)
  head.writeUInt16BE(src.port, 16)
  head.writeUIntBE(window, 18, 6)
  head.writeUInt8(q.kind === 'server' ? 1 : 0, 26)
  head.writeUInt8(q.count, 27)
  return createHmac('sha256', ctx.sampleKey).update(head).update(q.network).digest()
}

export function select(ctx: HandlerContext, q: Query, src: Source): Selection {
  switch (q.mode) {
    case 'sample':
      ctx.stats.inc('queries_sample')
      return sample(ctx.table, q, src, seededRandom(sampleSeed(ctx, q, src)))
    case 'list':
      ctx.stats.inc('queries_list')
      return list(ctx.table, q)
    case 'best':
      ctx.stats.inc('queries_best')
      return best(ctx.table, q)
  }
}

/** §8.5/§8.6: answer a query with introductions; on UDP as many entries as fit in a datagram. */
export function handleQuery(
  ctx: HandlerContext,
  q: Query,
  src: Source,
  transport: Transport,
): Reply {
  ctx.stats.inc('queries')
  const { networks } = ctx.options
  if (networks.length > 0 && !networks.includes(q.network)) {
    ctx.stats.inc('unknown_network')
    return errorReply(q.txid, WireErrorCode.UNKNOWN_NETWORK, 'signed')
  }
  const found = select(ctx, q, src)
  const now = nowSeconds(ctx)
  const entries: IntroEntry[] = found.entries.map(e => ({
    observed: e.observed,
    verified: false,
    age: Math.min(0xffff, Math.max(0, now - e.seen)),
    record: e.recordBytes,
  }))
  let reply: Introductions = {
    type: 'introductions',
    txid: q.txid,
    total: Math.min(0xffff, found.total),
    entries,
  }
  if (transport === 'udp') reply = fitIntroductions(reply, Limits.MAX_DATAGRAM)
  return { bytes: encodeMessage(reply), priority: 'signed' }
}
