import type { Stat } from '../wire/messages.js'

/**
 * Named counters (snake_case), plus gauges read when a snapshot is taken. The names here are
 * what `stats-reply`, logs and (later) metrics show; a name is never reused for another meaning.
 */
export const COUNTERS = [
  'requests_udp',
  'requests_tcp',
  'replies_udp',
  'replies_tcp',
  'dropped_bad_version',
  'dropped_short',
  'dropped_unsolicited',
  'dropped_denied_source',
  'dropped_flood',
  'dropped_unvalidated',
  'dropped_egress',
  'dropped_source_port',
  'dropped_cookie_budget',
  'rate_limited',
  'cookies_issued',
  'cookies_invalid',
  'cookies_renewed',
  'malformed',
  'announces',
  'announces_new',
  'announces_replaced',
  'announces_refreshed',
  'refresh_other_source',
  'signature_checks',
  'bad_signatures',
  'verify_busy',
  'verify_source_capped',
  'store_unavailable',
  'store_busy',
  'stale_sequence',
  'expired',
  'bad_time',
  'denied',
  'unknown_network',
  'block_full',
  'table_full',
  'tcp_no_port',
  'withdrawals',
  'challenges_sent',
  'challenges_out_of_scope',
  'challenges_denied',
  'challenges_over_size',
  'challenges_over_budget',
  'challenge_replies',
  'challenge_replies_dropped',
  'challenge_proofs',
  'rechecks',
  'entries_served',
  'queries',
  'queries_sample',
  'queries_list',
  'queries_best',
  'stats_requests',
  'unsupported',
  'internal_errors',
  'tcp_connections',
  'tcp_refused',
  'tcp_refused_source',
  'tcp_evicted',
  'tcp_frame_timeouts',
  'tcp_idle_closed',
  'tcp_framing_errors',
  'tcp_egress_refused',
] as const

export type CounterName = (typeof COUNTERS)[number]

export class Stats {
  readonly #counters = new Map<string, number>()
  readonly #gauges = new Map<string, () => number>()

  constructor() {
    for (const name of COUNTERS) this.#counters.set(name, 0)
  }

  inc(name: CounterName, n = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + n)
  }

  get(name: string): number {
    const g = this.#gauges.get(name)
    return g !== undefined ? g() : (this.#counters.get(name) ?? 0)
  }

  /** Register a value computed at snapshot time (table size, bytes...). */
  gauge(name: string, read: () => number): void {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new TypeError(`bad stat name ${name}`)
    this.#gauges.set(name, read)
  }

  /** Add a counter under a name another module owns (snake_case). */
  counter(name: string): { inc: (n?: number) => void } {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new TypeError(`bad stat name ${name}`)
    if (!this.#counters.has(name)) this.#counters.set(name, 0)
    return {
      inc: (n = 1) => {
        this.#counters.set(name, (this.#counters.get(name) ?? 0) + n)
      },
    }
  }

  /** Gauges first, then counters, each in registration order. */
  snapshot(): Stat[] {
    const out: Stat[] = []
    for (const [name, read] of this.#gauges) out.push({ name, value: Math.max(0, read()) })
    for (const [name, value] of this.#counters) out.push({ name, value })
    return out
  }
}
