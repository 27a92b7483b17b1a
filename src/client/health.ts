import { type Clock, systemClock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { TrackerRefusedError } from './replies.js'
import { backoffDelay, jittered } from './timing.js'
import { type TrackerAddress, randomOrder, trackerId } from './trackers.js'

/*
 * What a client remembers about each tracker it asked: consecutive failures and the back-off
 * they earned (docs/protocol.md §8.7: at least 5 s, doubling to at least 300 s, ±10 % jitter,
 * reset by a success, never shorter than a retryAfter), and the latency of its recent answers.
 * The Querier orders trackers with it; the Announcer feeds it when they share a transport.
 */

export interface HealthOptions {
  clock?: Clock
  random?: () => number
  /** First back-off after a failure, ms (default 5000; §8.7 says at least 5 s). */
  backoffBase?: number
  /** Longest back-off, ms (default 300000). */
  backoffCap?: number
  /** Latencies kept per tracker (default 16). */
  samples?: number
}

interface State {
  failures: number
  /** Not asked before this (epoch ms) while another tracker can be. */
  notBefore: number
  /** Never asked before this (epoch ms): the tracker's retryAfter (§8.7 MUST). */
  holdUntil: number
  /** Recent answer times, ms, oldest first. */
  latencies: number[]
  /** Last time anything was recorded (epoch ms); old entries are forgotten. */
  seen: number
}

/** The ordering of one call: who to ask, in turn. */
export interface HealthPlan<T> {
  order: T[]
  /** Trackers in `order` whose back-off has not passed (asked only when the others failed). */
  waiting: Set<T>
}

/** The JSON form kept across runs (the CLI's cache file). */
export interface HealthSnapshot {
  version: 1
  trackers: Record<
    string,
    { failures: number; notBefore: number; holdUntil: number; latencies: number[]; seen: number }
  >
}

/** Most trackers remembered; the least recently seen are forgotten first. */
export const HEALTH_MAX_TRACKERS = 256
/** A tracker not heard of for this long starts afresh. */
export const HEALTH_FORGET_MS = 24 * 3600_000
/** Latency bonus in the weighted draw: weight = 1 / (latency + this), so 1 ms is not 10 × 10 ms. */
const WEIGHT_FLOOR_MS = 25

export class TrackerHealth {
  readonly #clock: Clock
  readonly #random: () => number
  readonly #base: number
  readonly #cap: number
  readonly #samples: number
  readonly #states = new Map<string, State>()

  constructor(options: HealthOptions = {}) {
    this.#clock = options.clock ?? systemClock
    this.#random = options.random ?? Math.random
    this.#base = Math.max(5000, options.backoffBase ?? 5000)
    this.#cap = Math.max(this.#base, options.backoffCap ?? 300_000)
    this.#samples = Math.max(1, Math.min(64, options.samples ?? 16))
  }

  /** The tracker answered, after `latency` ms: its back-off is reset. */
  success(t: TrackerAddress, latency: number): void {
    const s = this.#state(t)
    s.failures = 0
    s.notBefore = 0
    this.#sample(s, latency)
  }

  /**
   * The tracker failed: no answer in time, refused, unreachable (port unreachable included) or a
   * bad reply. Returns the back-off, ms, before it is asked again while others can be.
   */
  failure(t: TrackerAddress, err?: unknown): number {
    const s = this.#state(t)
    s.failures++
    const now = this.#clock.now()
    let wait = jittered(backoffDelay(s.failures, this.#base, this.#cap), 0.1, this.#random)
    const retryAfter = err instanceof TrackerRefusedError ? err.retryAfter : 0
    if (retryAfter > 0) {
      s.holdUntil = now + retryAfter * 1000
      wait = Math.max(wait, retryAfter * 1000)
    }
    s.notBefore = now + wait
    return wait
  }

  /**
   * A tracker that lost a race: a tracker asked after it (a hedged request) answered first. With
   * no reply at all by then it is treated as failed (a black-holed tracker must not be drawn
   * first again and again, each time costing the hedge delay); when it had replied (a TCP
   * follow-up was still running) the elapsed time is kept as a lower bound of its latency.
   */
  lost(t: TrackerAddress, elapsed: number, replied: boolean): void {
    if (!replied) this.failure(t)
    else this.#sample(this.#state(t), elapsed)
  }

  /** Milliseconds before the tracker may be asked at all (its retryAfter); 0 when it may. */
  heldFor(t: TrackerAddress): number {
    const s = this.#states.get(trackerId(t))
    return s === undefined ? 0 : Math.max(0, s.holdUntil - this.#clock.now())
  }

  /** Consecutive failures recorded (0 = healthy). */
  failures(t: TrackerAddress): number {
    return this.#states.get(trackerId(t))?.failures ?? 0
  }

  /** The 95th percentile of the tracker's recent answer times, or null with no answer yet. */
  p95(t: TrackerAddress): number | null {
    const l = this.#states.get(trackerId(t))?.latencies ?? []
    return percentile(l, 0.95)
  }

  /** The 95th percentile over every tracker's recent answers, or null. */
  p95All(): number | null {
    return percentile(
      [...this.#states.values()].flatMap(s => s.latencies),
      0.95,
    )
  }

  /**
   * The order to ask `trackers` in. Healthy ones come first: drawn at random, weighted by
   * 1 / (median latency + 25 ms) so fast trackers are preferred without taking all the load
   * ('random'), or in list order ('given'). One tracker that needs probing (its back-off has
   * passed, or it was never heard from while others were) is asked first, with a healthy one
   * right behind it: a hedged request bounds what a probe of a still-dead tracker costs. The
   * other probes follow the healthy; trackers still backing off come last, soonest first.
   */
  plan<T extends TrackerAddress>(trackers: readonly T[], mode: 'random' | 'given'): HealthPlan<T> {
    const now = this.#clock.now()
    const known: T[] = []
    const unknown: T[] = []
    const due: T[] = []
    const waiting: T[] = []
    for (const t of trackers) {
      const s = this.#states.get(trackerId(t))
      if (s === undefined || (s.failures === 0 && s.latencies.length === 0)) unknown.push(t)
      else if (s.failures === 0) known.push(t)
      else if (s.notBefore <= now && s.holdUntil <= now) due.push(t)
      else waiting.push(t)
    }
    const soon = (t: T): number => this.#states.get(trackerId(t))?.notBefore ?? 0
    waiting.sort((a, b) => soon(a) - soon(b))
    if (mode === 'given') {
      const healthy = trackers.filter(t => known.includes(t) || unknown.includes(t))
      const order = [...due.slice(0, 1), ...healthy, ...due.slice(1), ...waiting]
      return { order, waiting: new Set(waiting) }
    }
    // With no tracker known to answer, the unknown are the healthy ones.
    const healthy = known.length > 0 ? this.#weighted(known) : this.#weighted(unknown)
    const probes = randomOrder(known.length > 0 ? [...unknown, ...due] : due, this.#random)
    const order = [...probes.slice(0, 1), ...healthy, ...probes.slice(1), ...waiting]
    return { order, waiting: new Set(waiting) }
  }

  /** The state to keep across runs. */
  snapshot(): HealthSnapshot {
    const trackers: HealthSnapshot['trackers'] = {}
    for (const [id, s] of this.#states) trackers[id] = { ...s, latencies: s.latencies.slice() }
    return { version: 1, trackers }
  }

  /**
   * Merge a snapshot read back from disk. It is checked like any input: unknown shapes and bad
   * numbers are skipped, times are bounded to what this client could have set.
   */
  restore(snapshot: unknown): number {
    if (typeof snapshot !== 'object' || snapshot === null) return 0
    const { version, trackers } = snapshot as { version?: unknown; trackers?: unknown }
    if (version !== 1 || typeof trackers !== 'object' || trackers === null) return 0
    const now = this.#clock.now()
    const maxAhead = Math.max(this.#cap, 65_535_000)
    let n = 0
    for (const [id, value] of Object.entries(trackers).slice(0, HEALTH_MAX_TRACKERS)) {
      if (id.length > 300 || typeof value !== 'object' || value === null) continue
      const raw = value as Record<string, unknown>
      const num = (v: unknown, lo: number, hi: number): number | null =>
        typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : null
      const failures = num(raw.failures, 0, 1000)
      const seen = num(raw.seen, now - HEALTH_FORGET_MS, now + 60_000)
      const notBefore = num(raw.notBefore, 0, now + maxAhead)
      const holdUntil = num(raw.holdUntil, 0, now + maxAhead)
      const latencies = Array.isArray(raw.latencies)
        ? (raw.latencies as unknown[])
            .slice(-this.#samples)
            .filter((v): v is number => num(v, 0, 600_000) !== null)
        : null
      if (
        failures === null ||
        seen === null ||
        notBefore === null ||
        holdUntil === null ||
        latencies === null
      )
        continue
      this.#states.set(id, { failures, notBefore, holdUntil, latencies, seen })
      n++
    }
    this.#trim()
    return n
  }

  #state(t: TrackerAddress): State {
    const id = trackerId(t)
    const now = this.#clock.now()
    let s = this.#states.get(id)
    if (s === undefined) {
      s = { failures: 0, notBefore: 0, holdUntil: 0, latencies: [], seen: now }
      this.#states.set(id, s)
      this.#trim()
    }
    s.seen = now
    return s
  }

  #sample(s: State, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return
    s.latencies.push(Math.round(ms))
    if (s.latencies.length > this.#samples) s.latencies.shift()
  }

  #trim(): void {
    if (this.#states.size <= HEALTH_MAX_TRACKERS) return
    const oldest = [...this.#states.entries()].sort((a, b) => a[1].seen - b[1].seen)
    for (const [id] of oldest.slice(0, this.#states.size - HEALTH_MAX_TRACKERS)) {
      this.#states.delete(id)
    }
  }

  /** Weighted random order without replacement (Efraimidis–Spirakis keys u^(1/w)). */
  #weighted<T extends TrackerAddress>(items: T[]): T[] {
    const medians = items.map(t => percentile(this.#states.get(trackerId(t))?.latencies ?? [], 0.5))
    const known = medians.filter((m): m is number => m !== null)
    // A tracker never heard from is drawn as if it had the typical latency of the others.
    const typical = percentile(known, 0.5) ?? 0
    const keyed = items.map((t, i) => {
      const w = 1 / ((medians[i] ?? typical) + WEIGHT_FLOOR_MS)
      const u = Math.min(Math.max(this.#random(), Number.MIN_VALUE), 1)
      return { t, key: Math.log(u) / w }
    })
    return keyed.sort((a, b) => b.key - a.key).map(k => k.t)
  }
}

function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null
}

const shared = new WeakMap<object, TrackerHealth>()

/**
 * The health memory that goes with a transport: a Querier and an Announcer given the same
 * UdpTransport share what they learn about each tracker.
 */
export function healthOf(transport: object, options: HealthOptions = {}): TrackerHealth {
  let h = shared.get(transport)
  if (h === undefined) {
    h = new TrackerHealth(options)
    shared.set(transport, h)
  }
  return h
}

/** Whether a failed attempt says something about the tracker (a cancellation does not). */
export function countsAgainst(err: unknown): boolean {
  if (err instanceof TrackerError)
    return err.code !== 'CLIENT_ABORTED' && err.code !== 'CLIENT_CLOSED'
  return true
}
