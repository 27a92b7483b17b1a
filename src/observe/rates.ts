import type { Stat } from '../wire/messages.js'

/**
 * Per-second rates of counters over a sliding window (the status page's "announces per second
 * over the last minute"). The owner calls `record` every `step` ms (a timer in the observers)
 * and `rates` when it renders; memory is bounded by window / step snapshots. Pure: time comes in
 * as arguments.
 */
export class RateWindow {
  readonly #window: number
  readonly #step: number
  readonly #max: number
  #samples: { t: number; values: Map<string, number> }[] = []

  constructor(windowMs = 60_000, stepMs = 5_000) {
    this.#window = windowMs
    this.#step = stepMs
    this.#max = Math.ceil(windowMs / stepMs) + 2
  }

  record(now: number, stats: readonly Stat[]): void {
    const last = this.#samples.at(-1)
    if (last !== undefined && now - last.t < this.#step && now >= last.t) return
    this.#samples.push({ t: now, values: new Map(stats.map(s => [s.name, s.value])) })
    while (this.#samples.length > this.#max) this.#samples.shift()
  }

  /**
   * Per-second rate of each counter between the oldest snapshot inside the window and `current`
   * (taken now). 0 when there is no history yet or time has not moved. A counter that went
   * down (a restart of its source) counts from zero.
   */
  rates(now: number, current: readonly Stat[]): Map<string, number> {
    const from = this.#samples.find(s => s.t >= now - this.#window && s.t < now)
    const out = new Map<string, number>()
    for (const s of current) {
      if (from === undefined) {
        out.set(s.name, 0)
        continue
      }
      const before = from.values.get(s.name) ?? 0
      const delta = s.value >= before ? s.value - before : s.value
      out.set(s.name, delta / ((now - from.t) / 1000))
    }
    return out
  }
}
