import { TrackerError } from '../errors.js'
import { Limits } from '../wire/constants.js'
import type { Introductions, Query } from '../wire/messages.js'
import type { Attempt, AttemptOutcome, OneAnswer, Spec, TransportChoice } from './query-types.js'
import { TrackerRefusedError, expectReply } from './replies.js'
import { type TrackerAddress, trackerLabel } from './trackers.js'
import { TCP_COOKIE, TCP_MAX_REQUESTS, type TcpTransport } from './transport/tcp.js'
import type { UdpTransport } from './transport/udp.js'
import { type DropCounts, type VerifiedEntry, mergeEntries, verifyEntries } from './verify.js'

/* One query message, and what asking one tracker came to (src/client/querier.ts). */

/** No tracker answered (CLIENT_ALL_FAILED); `attempts` says what each one did. */
export class QueryFailedError extends TrackerError {
  readonly attempts: Attempt[]

  constructor(attempts: Attempt[], why: string) {
    super('CLIENT_ALL_FAILED', `no tracker answered (${why})`)
    this.name = 'QueryFailedError'
    this.attempts = attempts
  }
}

export function queryMessage(
  spec: Spec,
  cookie: Uint8Array,
  txid: number,
  offset: number,
  count: number,
): Query {
  return {
    type: 'query',
    txid,
    cookie,
    network: spec.network,
    kind: spec.kind,
    mode: spec.mode,
    count: Math.max(1, count),
    offset,
    sort: spec.sort,
    notFull: spec.notFull,
    world: spec.world,
    version: spec.version,
    tags: spec.tags.slice(),
    exclude: spec.exclude,
    ...(spec.unproven === true ? { unproven: true } : {}),
  }
}

export function classify(tracker: string, err: unknown, transport: 'udp' | 'tcp'): Attempt {
  const base = { tracker, transport }
  if (err instanceof TrackerRefusedError) {
    return {
      ...base,
      outcome: err.rateLimited ? 'rate-limited' : 'refused',
      code: err.code,
      message: err.message,
      wireCode: err.wireCode,
      retryAfter: err.retryAfter,
    }
  }
  if (err instanceof TrackerError) {
    const outcome: AttemptOutcome =
      err.code === 'CLIENT_TIMEOUT'
        ? 'timeout'
        : err.code === 'CLIENT_ABORTED' || err.code === 'CLIENT_CLOSED'
          ? 'aborted'
          : err.code === 'CLIENT_UNREACHABLE' || err.code === 'TRANSPORT_CLOSED'
            ? 'unreachable'
            : err.code === 'TRANSPORT_REFUSED'
              ? 'refused'
              : 'bad-reply'
    return { ...base, outcome, code: err.code, message: err.message }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { ...base, outcome: 'bad-reply', message }
}

/** What asking one tracker needs from the Querier. */
export interface AskContext {
  udp: UdpTransport
  tcp: TcpTransport
  timeout: number
  now(): number
  /** About to send over `transport` (the Querier's 'ask' event). */
  asking(transport: 'udp' | 'tcp'): void
  /** The tracker's first reply arrived (its latency; a hedge need not be sent any more). */
  replied(): void
}

/**
 * Ask one tracker: UDP, then the same query over TCP when the datagram could not hold all that
 * matched (§8.6), or TCP only. When the rest cannot be fetched, the answer says so (`partial`):
 * a result is never silently cut short.
 */
export async function askTracker(
  ctx: AskContext,
  tracker: TrackerAddress,
  spec: Spec,
  transport: TransportChoice,
  signal: AbortSignal,
  drops: DropCounts,
): Promise<OneAnswer> {
  const label = trackerLabel(tracker)
  const verify = (intro: Introductions): VerifiedEntry[] =>
    verifyEntries(
      intro.entries,
      {
        network: spec.network,
        kind: spec.kind,
        now: ctx.now(),
        tracker: label,
        ...(spec.filter !== undefined ? { filter: spec.filter } : {}),
      },
      drops,
    )
  if (transport === 'tcp' || tracker.udp === null) {
    const intros = await viaTcp(ctx, tracker, spec, spec.count, signal, true)
    const entries = mergeEntries(intros.map(verify))
    return { entries, total: Math.max(0, ...intros.map(i => i.total)), transport: 'tcp' }
  }
  ctx.asking('udp')
  const reply = await ctx.udp.request(
    tracker,
    (cookie, txid) => queryMessage(spec, cookie, txid, 0, Math.min(spec.count, 100)),
    { timeout: ctx.timeout, signal },
  )
  ctx.replied()
  const intro = expectReply(reply, 'introductions', label)
  const entries = verify(intro)
  const received = intro.entries.length
  const missing = intro.total > received && spec.count > received
  if (!missing) return { entries, total: intro.total, transport: 'udp' }
  const cut = (why: string): OneAnswer => ({
    entries,
    total: intro.total,
    transport: 'udp',
    partial: `${received} of ${Math.min(spec.count, intro.total)} received: ${why}`,
  })
  if (transport === 'udp') return cut('TCP not allowed for this call')
  if (tracker.tcp === null) return cut('the tracker has no TCP port')
  // The datagram could not hold everything that matched: fetch the rest over TCP. If that
  // fails, the UDP answer stands, flagged partial.
  try {
    const want = Math.min(spec.count, intro.total)
    const intros = await viaTcp(ctx, tracker, spec, want, signal, false)
    const all = mergeEntries([entries, ...intros.map(verify)])
    return {
      entries: all,
      total: Math.max(intro.total, ...intros.map(i => i.total)),
      transport: 'udp+tcp',
    }
  } catch (err) {
    if (signal.aborted) throw err
    const why = err instanceof TrackerError ? `${err.code} (${err.message})` : String(err)
    return cut(`the TCP follow-up failed: ${why}`)
  }
}

async function viaTcp(
  ctx: AskContext,
  tracker: TrackerAddress,
  spec: Spec,
  want: number,
  signal: AbortSignal,
  first: boolean,
): Promise<Introductions[]> {
  const label = trackerLabel(tracker)
  ctx.asking('tcp')
  const pageSize = Limits.QUERY_COUNT_MAX
  const pages = spec.mode === 'list' ? Math.min(TCP_MAX_REQUESTS, Math.ceil(want / pageSize)) : 1
  const replies = await ctx.tcp.exchange(
    tracker,
    txids =>
      txids.map((txid, i) =>
        queryMessage(spec, TCP_COOKIE, txid, i * pageSize, Math.min(pageSize, want - i * pageSize)),
      ),
    pages,
    { timeout: ctx.timeout, signal },
  )
  if (first) ctx.replied()
  return replies.map(r => expectReply(r, 'introductions', label))
}
