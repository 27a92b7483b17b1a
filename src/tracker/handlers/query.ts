import { sampleAsker, sampleSeed as seedOf } from '../../crypto/sample-seed.js'
import { WireErrorCode, Limits } from '../../wire/constants.js'
import type { Query } from '../../wire/messages.js'
import { encodeIntroductions } from '../../wire/fast-replies.js'
import { type Selection, seededRandom } from '../../table/select.js'
import type { Entry } from '../../table/entry.js'
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
 * Seed of one asker's sample (src/crypto/sample-seed.ts), memoised: the asker is the source
 * address (an IPv6 source: its /64) and never the port.
 */
export function sampleSeed(ctx: HandlerContext, q: Query, src: Source): Uint8Array {
  const window = Math.floor(nowSeconds(ctx) / ctx.options.sampleWindow)
  const asker = sampleAsker(src.ip16, src.family).toString('latin1')
  const memoKey = `${asker}|${window}|${q.kind}|${q.count}|${q.network}`
  const known = ctx.memo.seeds.get(memoKey)
  if (known !== undefined) return known
  const seed = seedOf(ctx.sampleKey, {
    ip16: src.ip16,
    family: src.family,
    window,
    kind: q.kind,
    count: q.count,
    network: q.network,
  })
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
  const now = nowSeconds(ctx)
  const proven = found.entries.map(e => ctx.table.provenOf(e, now))
  const bytes = encodeIntroductions(q.txid, found.total, found.entries, now, maxBytes, proven)
  // Usage statistics: the entries handed out (those that fit), for the status page and `best`.
  const sent = bytes[7] ?? 0
  for (let i = 0; i < sent; i++) (found.entries[i] as Entry).served++
  ctx.stats.inc('entries_served', sent)
  return { bytes, priority: 'signed' }
}
