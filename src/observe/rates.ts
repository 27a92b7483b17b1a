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

/** One point of a history series: the per-second rate over the step that ended at `t`. */
export interface HistorySeries {
  /** Unix ms at the end of each step, oldest first. */
  t: number[]
  /** Per-second rates by series name, aligned with `t`. */
  series: Map<string, number[]>
}

/**
 * Counter history over a longer window (the status page's hour of charts): a ring of at most
 * `window / step + 1` snapshots of the counters that `keep` selects, allocated once and
 * overwritten in place, so memory stays bounded however long the tracker runs and however
 * many counters it has. Pure: time comes in as arguments (the owner passes its clock's now).
 */
export class RateHistory {
  readonly #step: number
  readonly #keep: (name: string) => boolean
  readonly #times: Float64Array
  readonly #values: Map<string, number>[]
  /** Index of the next slot to write; `#size` slots are filled, ending just before it. */
  #next = 0
  #size = 0

  constructor(
    windowMs = 3_600_000,
    stepMs = 60_000,
    keep: (name: string) => boolean = () => true,
    /** Most counters one snapshot keeps (the rest are ignored). */
    readonly maxNames = 64,
  ) {
    if (!(stepMs > 0) || !(windowMs >= stepMs)) throw new RangeError('bad history window')
    this.#step = stepMs
    this.#keep = keep
    const slots = Math.ceil(windowMs / stepMs) + 1
    this.#times = new Float64Array(slots)
    this.#values = Array.from({ length: slots }, () => new Map<string, number>())
  }

  get capacity(): number {
    return this.#times.length
  }

  get size(): number {
    return this.#size
  }

  get stepMs(): number {
    return this.#step
  }

  /** Take a snapshot unless the last one is less than one step old (or time went back). */
  record(now: number, stats: readonly Stat[]): void {
    if (this.#size > 0) {
      const last = this.#times[(this.#next + this.capacity - 1) % this.capacity] ?? 0
      if (now - last < this.#step && now >= last) return
    }
    const slot = this.#values[this.#next]
    if (slot === undefined) return
    slot.clear()
    for (const s of stats) {
      if (slot.size >= this.maxNames) break
      if (this.#keep(s.name)) slot.set(s.name, s.value)
    }
    this.#times[this.#next] = now
    this.#next = (this.#next + 1) % this.capacity
    this.#size = Math.min(this.capacity, this.#size + 1)
  }

  /**
   * Per-second rates between consecutive snapshots, oldest first: one point per step (size - 1
   * points). A counter that went down (its source restarted) counts from zero; one that is
   * missing from a snapshot counts as zero there.
   */
  series(): HistorySeries {
    const cap = this.capacity
    const first = (this.#next + cap - this.#size) % cap
    const names = new Set<string>()
    for (let i = 0; i < this.#size; i++) {
      for (const k of this.#values[(first + i) % cap]?.keys() ?? []) names.add(k)
    }
    const t: number[] = []
    const series = new Map<string, number[]>([...names].sort().map(n => [n, []]))
    for (let i = 1; i < this.#size; i++) {
      const a = (first + i - 1) % cap
      const b = (first + i) % cap
      const ta = this.#times[a] ?? 0
      const tb = this.#times[b] ?? 0
      const seconds = Math.max(0.001, (tb - ta) / 1000)
      t.push(tb)
      for (const [name, out] of series) {
        const before = this.#values[a]?.get(name) ?? 0
        const after = this.#values[b]?.get(name) ?? 0
        out.push((after >= before ? after - before : after) / seconds)
      }
    }
    return { t, series }
  }
}
