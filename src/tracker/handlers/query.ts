import { createHmac } from 'node:crypto'
import { WireErrorCode, Limits } from '../../wire/constants.js'
import type { Query } from '../../wire/messages.js'
import { encodeIntroductions } from './encode.js'
import { type Selection, seededRandom } from '../../table/select.js'
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
 * Seed of one asker's sample (§8.5): HMAC(sampleKey, asker || window || kind || count ||
 * network), where the asker is the source address (an IPv6 source: its /64) and never the port,
 * so a scraper gains no fresh sample by changing ports. The same asker asking the same thing
 * within one window gets the same sample; another address (or the next window) gets another.
 */
export function sampleSeed(ctx: HandlerContext, q: Query, src: Source): Uint8Array {
  const window = Math.floor(nowSeconds(ctx) / ctx.options.sampleWindow)
  const asker = Buffer.alloc(16)
  asker.set(src.family === 6 ? src.ip16.subarray(0, 8) : src.ip16, 0)
  const memoKey = `${asker.toString('latin1')}|${window}|${q.kind}|${q.count}|${q.network}`
  const known = ctx.memo.seeds.get(memoKey)
  if (known !== undefined) return known
  const head = Buffer.alloc(16 + 8 + 2)
  head.set(asker, 0)
  head.writeUIntBE(window, 16, 6)
  head.writeUInt8(q.kind === 'server' ? 1 : 0, 24)
  head.writeUInt8(q.count, 25)
  const seed = createHmac('sha256', ctx.sampleKey).update(head).update(q.network).digest()
  memoSet(ctx.memo.seeds, memoKey, seed)
  return seed
}

const noRandom = (): number => 0

export function select(ctx: HandlerContext, q: Query, src: Source): Selection {
  ctx.stats.inc(
    q.mode === 'sample' ? 'queries_sample' : q.mode === 'list' ? 'queries_list' : 'queries_best',
  )
  const random = q.mode === 'sample' ? seededRandom(sampleSeed(ctx, q, src)) : noRandom
  return ctx.table.query(q, src, random)
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
  if (q.kind === 'peer' && q.mode !== 'sample') {
    // §8.5: peers are handed out only as samples, never paged through as a full list.
    ctx.stats.inc('unsupported')
    return errorReply(q.txid, WireErrorCode.UNSUPPORTED, 'signed')
  }
  const found = select(ctx, q, src)
  const maxBytes = transport === 'udp' ? Limits.MAX_DATAGRAM : Limits.MAX_FRAME
  return {
    bytes: encodeIntroductions(q.txid, found.total, found.entries, nowSeconds(ctx), maxBytes),
    priority: 'signed',
  }
}
