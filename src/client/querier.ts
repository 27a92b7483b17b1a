import { EventEmitter } from 'node:events'
import { type Clock, systemClock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { Limits } from '../wire/constants.js'
import { abortedError, withDeadline } from './deadline.js'
import { type HealthPlan, type TrackerHealth, countsAgainst, healthOf } from './health.js'
import { integer, nonNegative, positive } from './options.js'
import { type AskContext, QueryFailedError, askTracker, classify } from './query-attempt.js'
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
import { type TimerHandle, type Timers, systemTimers } from './timing.js'
import { type TrackerAddress, trackerLabel } from './trackers.js'
import { TcpTransport } from './transport/tcp.js'
import { UdpTransport } from './transport/udp.js'
import {
  type DropCounts,
  type ServerFilter,
  addDrops,
  emptyDrops,
  mergeEntries,
  pickBest,
  sortServers,
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

/** One request in flight within a call. */
interface Flight {
  ac: AbortController
  hedgeTimer: TimerHandle | null
  /** Cancelled because another tracker answered first. */
  lost: boolean
  done: Promise<void>
  /** Milliseconds to the tracker's first reply. */
  firstReply?: number
}

interface Collected {
  attempts: Attempt[]
  answers: { label: string; answer: OneAnswer }[]
  drops: DropCounts
}

/**
 * Asks one tracker and, on timeout or error, the next, each at most once per call, within an
 * overall deadline. Every record is verified by the client (signature over the exact bytes,
 * network, kind, expiry, filters) and answers are deduped by key.
 *
 * Trackers are remembered (health.ts): one that failed (timeout, refusal, port unreachable) is
 * asked only after the others until its back-off has passed (§8.7), then probed again; healthy
 * ones are drawn at random, weighted towards the fast. A tracker that answered with a
 * retryAfter hint is not asked at all until it has passed (§8.7; Syncthing's Retry-After). When
 * the one asked is slower than usual, the next is asked in parallel (one hedged request).
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
  readonly #health: TrackerHealth
  readonly #hedge: boolean
  readonly #hedgeMin: number
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
    this.#hedge = options.hedge ?? true
    this.#hedgeMin = nonNegative(options.hedgeMin ?? 50, 'hedgeMin')
    this.#health =
      options.health ?? healthOf(this.#udp, { clock: this.#clock, random: this.#random })
  }

  /** What this Querier remembers of each tracker (shared with clients sharing its transport). */
  get health(): TrackerHealth {
    return this.#health
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
        unproven: q.unproven === true,
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
        unproven: q.unproven === true,
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
    const plan = this.#health.plan(this.#trackers, this.#order)
    try {
      await withDeadline(
        this.#deadline,
        options.signal,
        signal => this.#race(plan, spec, transport, signal, { attempts, answers, drops }),
        'query',
        this.#timers,
      )
    } catch (err) {
      if (options.signal?.aborted === true) throw abortedError(options.signal)
      if (answers.length === 0) {
        const why = err instanceof TrackerError ? err.code : 'error'
        throw new QueryFailedError(attempts, `${attempts.length} asked, ${why}`)
      }
    }
    // The caller's own cancellation ends the call at once, answers or not.
    if (options.signal?.aborted === true) throw abortedError(options.signal)
    if (answers.length === 0) {
      throw new QueryFailedError(attempts, `${attempts.length} of ${plan.order.length} asked`)
    }
    const entries = mergeEntries(answers.map(a => a.answer.entries))
    const total = Math.max(entries.length, ...answers.map(a => a.answer.total))
    return {
      entries,
      total,
      answeredBy: answers.map(a => a.label),
      attempts,
      dropped: drops,
      partial: answers.some(a => a.answer.partial !== undefined),
    }
  }

  /**
   * Ask trackers in the planned order until enough answered: one at a time (the next when one
   * fails), plus at most one hedged request when the one asked is slower than usual. Resolves
   * when the call is over; every tracker asked has then been reported.
   */
  #race(
    plan: HealthPlan<TrackerAddress>,
    spec: Spec,
    transport: TransportChoice,
    signal: AbortSignal,
    out: Collected,
  ): Promise<void> {
    const { attempts, answers, drops } = out
    const queue = plan.order.slice()
    const flying = new Map<TrackerAddress, Flight>()
    const askable = (t: TrackerAddress): boolean =>
      !plan.waiting.has(t) && this.#health.heldFor(t) === 0
    let hedged = false
    let over = false
    return new Promise<void>(resolve => {
      const finish = (): void => {
        if (over) return
        over = true
        signal.removeEventListener('abort', finish)
        for (const f of flying.values()) {
          if (f.hedgeTimer !== null) this.#timers.clearTimeout(f.hedgeTimer)
          f.lost = !signal.aborted
          f.ac.abort(
            signal.aborted
              ? signal.reason
              : new TrackerError('CLIENT_ABORTED', 'another tracker answered first'),
          )
        }
        void Promise.allSettled([...flying.values()].map(f => f.done)).then(() => {
          resolve()
        })
      }
      const pump = (): void => {
        if (over) return
        if (answers.length >= this.#answers || signal.aborted || this.#closing !== null) {
          finish()
          return
        }
        while (flying.size + answers.length < this.#answers && queue.length > 0) start(false)
        if (flying.size === 0) finish()
      }
      const start = (hedge: boolean): void => {
        const tracker = queue.shift()
        if (tracker === undefined) return
        const label = trackerLabel(tracker)
        const held = this.#health.heldFor(tracker)
        if (held > 0) {
          // §8.7: no request to a tracker before its retryAfter has passed (it would drop it
          // unanswered anyway); it was put last, so every other tracker failed first.
          this.#report(attempts, {
            tracker: label,
            outcome: 'rate-limited',
            transport: transportFor(tracker, transport),
            retryAfter: Math.ceil(held / 1000),
            message: 'not asked: its retryAfter has not passed',
            skipped: true,
          })
          return
        }
        const ac = new AbortController()
        const onOuter = (): void => {
          ac.abort(signal.reason)
        }
        signal.addEventListener('abort', onOuter, { once: true })
        const startedAt = this.#clock.now()
        const f: Flight = { ac, hedgeTimer: null, lost: false, done: Promise.resolve() }
        const delay = hedge || hedged ? null : this.#hedgeDelay(tracker)
        if (delay !== null && queue.some(askable)) {
          f.hedgeTimer = this.#timers.setTimeout(() => {
            f.hedgeTimer = null
            if (over || hedged || !flying.has(tracker)) return
            // A hedge goes to a tracker that may answer, never to one still backing off.
            const i = queue.findIndex(askable)
            if (i < 0) return
            hedged = true
            queue.unshift(...queue.splice(i, 1))
            start(true)
          }, delay)
        }
        const ctx: AskContext = {
          udp: this.#udp,
          tcp: this.#tcp,
          timeout: this.#timeout,
          now: () => this.#clock.now(),
          asking: t => {
            this.#guard('ask', () => this.emit('ask', { tracker: label, transport: t }))
          },
          replied: () => {
            if (f.hedgeTimer !== null) this.#timers.clearTimeout(f.hedgeTimer)
            f.hedgeTimer = null
            f.firstReply ??= this.#clock.now() - startedAt
          },
        }
        const callDrops = emptyDrops()
        const via = transportFor(tracker, transport)
        const extra = hedge ? { hedge } : {}
        flying.set(tracker, f)
        f.done = askTracker(ctx, tracker, spec, transport, ac.signal, callDrops).then(
          answer => {
            const ms = this.#clock.now() - startedAt
            this.#health.success(tracker, f.firstReply ?? ms)
            addDrops(drops, callDrops)
            if (over) return
            answers.push({ label, answer })
            this.#report(attempts, {
              tracker: label,
              outcome: 'ok',
              transport: answer.transport,
              entries: answer.entries.length,
              ms,
              ...extra,
              ...(answer.partial !== undefined ? { partial: answer.partial } : {}),
            })
          },
          (err: unknown) => {
            const ms = this.#clock.now() - startedAt
            addDrops(drops, callDrops)
            if (f.lost) {
              this.#health.lost(tracker, ms, f.firstReply !== undefined)
              const why = 'another tracker answered first'
              this.#report(attempts, {
                tracker: label,
                outcome: 'cancelled',
                transport: via,
                message: why,
                ms,
                ...extra,
              })
              return
            }
            // A tracker cut off by the call's deadline or by its caller said nothing about itself.
            if (!signal.aborted && countsAgainst(err)) this.#health.failure(tracker, err)
            this.#report(attempts, { ...classify(label, err, via), ms, ...extra })
          },
        )
        void f.done
          .catch((err: unknown) => {
            // Only a bug can land here; the call goes on with the other trackers.
            this.#logger.error({ err, tracker: label }, 'query attempt failed unexpectedly')
          })
          .finally(() => {
            signal.removeEventListener('abort', onOuter)
            if (f.hedgeTimer !== null) this.#timers.clearTimeout(f.hedgeTimer)
            flying.delete(tracker)
            pump()
          })
      }
      signal.addEventListener('abort', finish, { once: true })
      pump()
    })
  }

  /** How long to wait for `tracker` before also asking the next; null: no hedge. */
  #hedgeDelay(tracker: TrackerAddress): number | null {
    if (!this.#hedge || this.#answers > 1) return null
    const usual = this.#health.p95(tracker) ?? this.#health.p95All() ?? this.#timeout / 4
    return Math.min(this.#timeout / 4, Math.max(this.#hedgeMin, usual))
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
