import { Limits } from '../../wire/constants.js'
import { type Stat, encodeMessage } from '../../wire/messages.js'
import type { HandlerContext, Reply, Transport } from './context.js'

/** §8.9: the counters (gauges first), as many as a reply holds; on UDP as many as fit. */
export function handleStats(ctx: HandlerContext, txid: number, transport: Transport): Reply {
  ctx.stats.inc('stats_requests')
  const room = transport === 'udp' ? Limits.MAX_DATAGRAM : Limits.MAX_FRAME
  let size = 1 + 4 + 1
  const stats: Stat[] = []
  for (const s of ctx.stats.snapshot()) {
    if (stats.length >= Limits.STATS_MAX) break
    if (s.name.length > Limits.STAT_NAME_MAX) continue
    const cost = 1 + s.name.length + 8
    if (size + cost > room) break
    size += cost
    stats.push({ name: s.name, value: Math.min(s.value, Number.MAX_SAFE_INTEGER) })
  }
  return { bytes: encodeMessage({ type: 'stats-reply', txid, stats }), priority: 'signed' }
}
