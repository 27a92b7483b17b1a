import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'

/**
 * Process health for the status page: resident memory, CPU use and event-loop lag. The same
 * figures reach /metrics through prom-client's default metrics (metrics.ts); this sampler keeps
 * the few the page shows, read once per step by the observers' timer, so a page view costs
 * nothing but a copy.
 */

export interface ProcessFigures {
  /** Resident set size, bytes. */
  rssBytes: number
  /** CPU time used over the last step, as a share of one core (1 = one core busy). */
  cpu: number
  /** Event-loop delay over the last step, ms: the 99th percentile and the largest. */
  lagP99Ms: number
  lagMaxMs: number
  /** Total CPU seconds since the process started (user + system), a running counter. */
  cpuSeconds: number
}

/** Where the figures come from; tests pass their own. */
export interface ProcessSource {
  rss(): number
  /** Microseconds of CPU (user + system) since the process started. */
  cpuMicros(): number
  /** Event-loop delay since the last call, ms (p99, max); resets the measurement. */
  lag(): { p99: number; max: number }
  close(): void
}

/** The event-loop sampling interval, ms. */
const LAG_RESOLUTION_MS = 20

export function nodeProcessSource(): ProcessSource {
  let h: IntervalHistogram | null = null
  try {
    h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })
    h.enable()
  } catch {
    h = null
  }
  return {
    rss: () => process.memoryUsage.rss(),
    cpuMicros: () => {
      const u = process.cpuUsage()
      return u.user + u.system
    },
    lag: () => {
      if (h === null || h.count === 0) return { p99: 0, max: 0 }
      // The histogram records whole intervals between its samples (the resolution included):
      // the lag is what exceeds the resolution.
      const lagOf = (ns: number) => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS)
      const out = { p99: lagOf(h.percentile(99)), max: lagOf(h.max) }
      h.reset()
      return out
    },
    close: () => h?.disable(),
  }
}

export const NO_FIGURES: ProcessFigures = {
  rssBytes: 0,
  cpu: 0,
  lagP99Ms: 0,
  lagMaxMs: 0,
  cpuSeconds: 0,
}

export class ProcessHealth {
  readonly #source: ProcessSource
  #last: { t: number; cpu: number } | null = null
  #figures: ProcessFigures = NO_FIGURES

  constructor(source: ProcessSource = nodeProcessSource()) {
    this.#source = source
  }

  /** Take a sample at `now` (Unix ms); CPU share is over the time since the last sample. */
  sample(now: number): ProcessFigures {
    const cpu = this.#source.cpuMicros()
    const lag = this.#source.lag()
    const last = this.#last
    const share =
      last === null || now <= last.t ? 0 : Math.max(0, cpu - last.cpu) / 1000 / (now - last.t)
    this.#last = { t: now, cpu }
    this.#figures = {
      rssBytes: this.#source.rss(),
      cpu: share,
      lagP99Ms: lag.p99,
      lagMaxMs: lag.max,
      cpuSeconds: cpu / 1e6,
    }
    return this.#figures
  }

  /** The last sample's figures (zeros before the first). */
  get figures(): ProcessFigures {
    return this.#figures
  }

  close(): void {
    this.#source.close()
  }
}
