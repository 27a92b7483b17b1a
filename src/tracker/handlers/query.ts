import { createHmac } from 'node:crypto'
import { WireErrorCode, Limits } from '../../wire/constants.js'
import type { Query } from '../../wire/messages.js'
import { encodeIntroductions } from './encode.js'
import { best, list, sample, seededRandom } from '../select.js'
import type { Selection } from '../select.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  errorReply,
  memoSet,
  nowSeconds,
} from './context.js'

/**
 * Seed of one asker's sample: HMAC(sampleKey, ip16 || port || window || network || kind ||
 * count). The same asker asking the same thing within one window gets the same sample; another
 * source (or the next window) gets another.
 */
export function sampleSeed(ctx: HandlerContext, q: Query, src: Source): Uint8Array {
  const window = Math.floor(nowSeconds(ctx) / ctx.options.sampleWindow)
  const memoKey = `${src.address}|${src.port}|${window}|${q.kind}|${q.count}|${q.network}`
  const known = ctx.memo.seeds.get(memoKey)
  if (known !== undefined) return known
  const head = Buffer.alloc(16 + 2 + 8 + 2)
  head.set(src.ip16, 0)
  head.writeUInt16BE(src.port, 16)
  head.writeUIntBE(window, 18, 6)
  head.writeUInt8(q.kind === 'server' ? 1 : 0, 26)
  head.writeUInt8(q.count, 27)
  const seed = createHmac('sha256', ctx.sampleKey).update(head).update(q.network).digest()
  memoSet(ctx.memo.seeds, memoKey, seed)
  return seed
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
  const maxBytes = transport === 'udp' ? Limits.MAX_DATAGRAM : Limits.MAX_FRAME
  return {
    bytes: encodeIntroductions(q.txid, found.total, found.entries, nowSeconds(ctx), maxBytes),
    priority: 'signed',
  }
}
