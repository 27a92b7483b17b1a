import { EventEmitter } from 'node:events'
import { type Clock, systemClock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { Limits } from '../wire/constants.js'
import type { Introductions } from '../wire/messages.js'
import { abortedError, withDeadline } from './deadline.js'
import { integer, positive } from './options.js'
import { QueryFailedError, classify, queryMessage } from './query-attempt.js'
import type {
  Attempt,
  BestQuery,
  BestResult,
  CallOptions,
  OneAnswer,
  PeerQuery,
  QuerierEvents,
  QuerierOptions,
  QueryResult,
  ServerQuery,
  Spec,
  TransportChoice,
} from './query-types.js'
import { expectReply } from './replies.js'
import { type Timers, systemTimers } from './timing.js'
import { type TrackerAddress, randomOrder, trackerId, trackerLabel } from './trackers.js'
import { TCP_COOKIE, TCP_MAX_REQUESTS, TcpTransport } from './transport/tcp.js'
import { UdpTransport } from './transport/udp.js'
import {
  type DropCounts,
  type ServerFilter,
  type VerifiedEntry,
  addDrops,
  emptyDrops,
  mergeEntries,
  pickBest,
  sortServers,
  verifyEntries,
} from './verify.js'

export { QueryFailedError } from './query-attempt.js'
export type {
  Attempt,
  AttemptOutcome,
  BestQuery,
  BestResult,
  CallOptions,
  PeerQuery,
  QuerierEvents,
  QuerierOptions,
  QueryResult,
  ServerQuery,
  TransportChoice,
} from './query-types.js'

/** Most entries a `servers` call may ask for (pages of 100 over one TCP connection). */
export const SERVER_COUNT_MAX = 1000

/**
 * Asks one tracker chosen at random and, on timeout or error, the next, each at most once per
 * call, within an overall deadline. Every record is verified by the client (signature over the
 * exact bytes, network, kind, expiry, filters) and answers are deduped by key.
 *
 * A tracker that answered with a retryAfter hint (RATE_LIMITED) is moved to the back of the
 * order and not asked again until the hint has passed (§8.7; Syncthing's Retry-After).
 */
export class Querier extends EventEmitter<QuerierEvents> {
  readonly #trackers: readonly TrackerAddress[]
  readonly #timeout: number
  readonly #deadline: number
  readonly #answers: number
  readonly #order: 'random' | 'given'
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #random: () => number
  readonly #logger: Logger
  readonly #udp: UdpTransport
  readonly #tcp: TcpTransport
  readonly #ownUdp: boolean
  readonly #ownTcp: boolean
  readonly #notBefore = new Map<string, number>()
  #closing: Promise<void> | null = null

  constructor(options: QuerierOptions) {
    super()
    if (options.trackers.length === 0) {
      throw new TrackerError('CLIENT_BAD_OPTION', 'trackers: at least one tracker is needed')
    }
    this.#trackers = options.trackers.slice()
    this.#timeout = positive(options.timeout ?? 2000, 'timeout')
    this.#deadline = positive(options.deadline ?? 10_000, 'deadline')
    this.#answers = Math.min(positive(options.answers ?? 1, 'answers'), this.#trackers.length)
    this.#order = options.order ?? 'random'
    this.#clock = options.clock ?? systemClock
    this.#timers = options.timers ?? systemTimers
    this.#random = options.random ?? Math.random
    this.#logger = options.logger ?? silentLogger
    const shared = {
      timers: this.#timers,
      clock: this.#clock,
      ...(options.resolve ? { resolve: options.resolve } : {}),
    }
    this.#ownUdp = options.udp === undefined
    this.#ownTcp = options.tcp === undefined
    this.#udp = options.udp ?? new UdpTransport(shared)
    this.#tcp = options.tcp ?? new TcpTransport(shared)
  }

  /** A random sample of live peers of `network` (§8.5 `sample`). */
  async peers(q: PeerQuery, options: CallOptions = {}): Promise<QueryResult> {
    const count = integer(q.count ?? 20, 1, Limits.QUERY_COUNT_MAX, 'count')
    const result = await this.#run(
      {
        network: q.network,
        kind: 'peer',
        mode: 'sample',
        count,
        sort: 'players',
        filter: undefined,
        world: '',
        version: '',
        tags: [],
        notFull: false,
        exclude: q.exclude ?? null,
      },
      options,
    )
    // A UDP sample and a TCP follow-up are two samples: keep at most what was asked for.
    return { ...result, entries: result.entries.slice(0, count) }
  }

  /** Servers of `network` matching the filters, sorted (§8.5 `list`). */
  async servers(q: ServerQuery, options: CallOptions = {}): Promise<QueryResult> {
    const count = integer(q.count ?? 100, 1, SERVER_COUNT_MAX, 'count')
    const sort = q.sort ?? 'players'
    const result = await this.#run(
      {
        network: q.network,
        kind: 'server',
        mode: 'list',
        count,
        sort,
        filter: q,
        world: q.world ?? '',
        version: q.version ?? '',
        tags: q.tags ?? [],
        notFull: q.notFull ?? false,
        exclude: q.exclude ?? null,
      },
      options,
    )
    return { ...result, entries: sortServers(result.entries, sort).slice(0, count) }
  }

  /** The one server best suited to join `world` (§8.5 `best`, MetaCube's REROUTE). */
  async best(q: BestQuery, options: CallOptions = {}): Promise<BestResult> {
    const filter: ServerFilter = {
      ...(q.version !== undefined ? { version: q.version } : {}),
      ...(q.tags !== undefined ? { tags: q.tags } : {}),
    }
    const result = await this.#run(
      {
        network: q.network,
        kind: 'server',
        mode: 'best',
        count: 1,
        sort: 'room',
        filter,
        world: q.world,
        version: q.version ?? '',
        tags: q.tags ?? [],
        notFull: true,
        exclude: q.exclude ?? null,
      },
      options,
    )
    return { ...result, best: pickBest(result.entries, q.world) }
  }

  async #run(spec: Spec, options: CallOptions): Promise<QueryResult> {
    if (this.#closing !== null) throw new TrackerError('CLIENT_CLOSED')
    const transport = options.transport ?? 'auto'
    const attempts: Attempt[] = []
    const answers: { label: string; answer: OneAnswer }[] = []
    const drops = emptyDrops()
    const order = this.#orderNow()
    try {
      await withDeadline(
        this.#deadline,
        options.signal,
        async signal => {
          for (const tracker of order) {
            if (signal.aborted || this.#closing !== null) break
            const label = trackerLabel(tracker)
            const waitMs = (this.#notBefore.get(trackerId(tracker)) ?? 0) - this.#clock.now()
            if (waitMs > 0) {
              // §8.7: no request to a tracker before its retryAfter has passed (it would drop
              // it unanswered anyway); it was put last, so every other tracker failed first.
              this.#report(attempts, {
                tracker: label,
                outcome: 'rate-limited',
                transport: transportFor(tracker, transport),
                retryAfter: Math.ceil(waitMs / 1000),
                message: 'not asked: its retryAfter has not passed',
                skipped: true,
              })
              continue
            }
            const callDrops = emptyDrops()
            let answer: OneAnswer
            try {
              answer = await this.#askOne(tracker, spec, transport, signal, callDrops)
            } catch (err) {
              addDrops(drops, callDrops)
              const attempt = classify(label, err, transportFor(tracker, transport))
              if (attempt.outcome === 'rate-limited' || (attempt.retryAfter ?? 0) > 0) {
                const wait = Math.max(1, attempt.retryAfter ?? 0) * 1000
                this.#notBefore.set(trackerId(tracker), this.#clock.now() + wait)
              }
              this.#report(attempts, attempt)
              // The caller's own cancellation ends the call at once.
              if (options.signal?.aborted === true) throw abortedError(options.signal)
              continue
            }
            // Outside the try: what listeners do with the report cannot fail this tracker.
            addDrops(drops, callDrops)
            answers.push({ label, answer })
            this.#report(attempts, {
              tracker: label,
              outcome: 'ok',
              transport: answer.transport,
              entries: answer.entries.length,
            })
            if (answers.length >= this.#answers) break
          }
        },
        'query',
        this.#timers,
      )
    } catch (err) {
      // The deadline expiring (or a cancellation) while a tracker was being asked.
      if (options.signal?.aborted === true) throw abortedError(options.signal)
      if (answers.length === 0) {
        const why = err instanceof TrackerError ? err.code : 'error'
        throw new QueryFailedError(attempts, `${attempts.length} asked, ${why}`)
      }
    }
    if (answers.length === 0) {
      throw new QueryFailedError(attempts, `${attempts.length} of ${order.length} asked`)
    }
    const entries = mergeEntries(answers.map(a => a.answer.entries))
    const total = Math.max(entries.length, ...answers.map(a => a.answer.total))
    return { entries, total, answeredBy: answers.map(a => a.label), attempts, dropped: drops }
  }

  #report(attempts: Attempt[], a: Attempt): void {
    attempts.push(a)
    this.#guard('attempt', () => this.emit('attempt', a))
  }

  #guard(event: keyof QuerierEvents, emit: () => void): void {
    try {
      emit()
    } catch (err) {
      // A throwing listener is the host program's bug; it must not change what a tracker did.
      this.#logger.error({ err, event }, 'querier listener threw')
    }
  }

  /** Fresh random order; trackers still inside a RATE_LIMITED hint go last. */
  #orderNow(): TrackerAddress[] {
    const base =
      this.#order === 'random' ? randomOrder(this.#trackers, this.#random) : this.#trackers.slice()
    const now = this.#clock.now()
    const waitFor = (t: TrackerAddress): number => {
      const id = trackerId(t)
      const nb = this.#notBefore.get(id)
      if (nb === undefined) return 0
      if (nb <= now) {
        this.#notBefore.delete(id)
        return 0
      }
      return nb
    }
    const ready = base.filter(t => waitFor(t) === 0)
    const later = base.filter(t => waitFor(t) !== 0).sort((a, b) => waitFor(a) - waitFor(b))
    return [...ready, ...later]
  }

  async #askOne(
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
          now: this.#clock.now(),
          tracker: label,
          ...(spec.filter !== undefined ? { filter: spec.filter } : {}),
        },
        drops,
      )
    if (transportFor(tracker, transport) === 'tcp') {
      const intros = await this.#viaTcp(tracker, spec, spec.count, signal)
      const entries = mergeEntries(intros.map(verify))
      return { entries, total: Math.max(0, ...intros.map(i => i.total)), transport: 'tcp' }
    }
    this.#guard('ask', () => this.emit('ask', { tracker: label, transport: 'udp' }))
    const reply = await this.#udp.request(
      tracker,
      (cookie, txid) => queryMessage(spec, cookie, txid, 0, Math.min(spec.count, 100)),
      { timeout: this.#timeout, signal },
    )
    const intro = expectReply(reply, 'introductions', label)
    const entries = verify(intro)
    const more =
      transport === 'auto' &&
      tracker.tcp !== null &&
      intro.total > intro.entries.length &&
      spec.count > intro.entries.length
    if (!more) return { entries, total: intro.total, transport: 'udp' }
    // The datagram could not hold everything that matched: fetch the rest over TCP. If that
    // fails, the UDP answer still stands.
    try {
      const want = Math.min(spec.count, intro.total)
      const intros = await this.#viaTcp(tracker, spec, want, signal)
      const all = mergeEntries([entries, ...intros.map(verify)])
      return {
        entries: all,
        total: Math.max(intro.total, ...intros.map(i => i.total)),
        transport: 'udp+tcp',
      }
    } catch (err) {
      if (signal.aborted) throw err
      return { entries, total: intro.total, transport: 'udp' }
    }
  }

  async #viaTcp(
    tracker: TrackerAddress,
    spec: Spec,
    want: number,
    signal: AbortSignal,
  ): Promise<Introductions[]> {
    const label = trackerLabel(tracker)
    this.#guard('ask', () => this.emit('ask', { tracker: label, transport: 'tcp' }))
    const pageSize = Limits.QUERY_COUNT_MAX
    const pages = spec.mode === 'list' ? Math.min(TCP_MAX_REQUESTS, Math.ceil(want / pageSize)) : 1
    const replies = await this.#tcp.exchange(
      tracker,
      txids =>
        txids.map((txid, i) =>
          queryMessage(
            spec,
            TCP_COOKIE,
            txid,
            i * pageSize,
            Math.min(pageSize, want - i * pageSize),
          ),
        ),
      pages,
      { timeout: this.#timeout, signal },
    )
    return replies.map(r => expectReply(r, 'introductions', label))
  }

  /** Idempotent; closes the transports this Querier opened. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#ownUdp ? this.#udp.close() : undefined,
      this.#ownTcp ? this.#tcp.close() : undefined,
    ]).then(() => undefined)
    return this.#closing
  }
}

/** The transport a tracker is asked over first: TCP when forced or when it has no UDP port. */
function transportFor(tracker: TrackerAddress, choice: TransportChoice): 'udp' | 'tcp' {
  return choice === 'tcp' || tracker.udp === null ? 'tcp' : 'udp'
}
