import Bottleneck from 'bottleneck'
import { type Clock, systemClock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { Limits } from '../wire/constants.js'
import { type Egress, type Priority, unlimitedEgress } from './types.js'

export interface EgressOptions {
  /** The egress budget, bytes per second (> 0; use `createEgress` for "0 = unlimited"). */
  bytesPerSecond: number
  /** Most reply bytes TCP connections may have waiting for budget; beyond it `wait()` rejects. */
  tcpQueueBytes: number
}

/**
 * Where budget comes from, in chunks. The default draws from a bottleneck reservoir; a
 * bottleneck limiter on Redis would share one budget between processes (docs/design.md §7).
 */
export interface BudgetSource {
  /** Resolves once `bytes` of budget are granted to this process. */
  draw(bytes: number): Promise<void>
  close(): Promise<void>
}

export interface EgressDeps {
  clock?: Clock
  /** Tests pass their own; the default is `bottleneckSource(bytesPerSecond, chunk)`. */
  source?: BudgetSource
}

/**
 * Priority when over budget (docs/design.md §4: the lowest class is dropped first). Within each second
 * of the clock, a UDP reply of class c is sent only while the bytes already sent that second
 * (all classes, UDP and TCP) stay below cap(c) of the budget:
 *
 * - cap(server) = 100%
 * - cap(signed) = min(85%, 100% - server demand of the previous second)
 * - cap(cookie) = min(50%, 100% - server and signed demand of the previous second)
 *
 * and never below 5% (`MIN_SHARE`), so a lower class is slowed, not starved outright.
 * "Demand" is the bytes a class offered (sent or dropped, UDP and TCP). So the headroom a higher
 * class used last second is kept free for it this second, and with no history cookies may still
 * use only the first half of a second's budget and signed replies the first 85%. With light
 * traffic nothing is dropped: the caps bite only once the second is that full.
 */
export const PRIORITY_SHARE: Readonly<Record<Priority, number>> = {
  server: 1,
  signed: 0.85,
  cookie: 0.5,
}

/** The least share a lower class keeps however busy the higher ones are. */
export const MIN_SHARE = 0.05

const PRIORITIES: readonly Priority[] = ['server', 'signed', 'cookie']

/**
 * Budget is drawn in chunks of a twentieth of a second's budget (at least 2 KiB, never more
 * than the budget): about 20 bottleneck jobs a second whatever the packet rate, far below the
 * ~400 jobs/s bottleneck can schedule, and a local slack of at most one chunk and a half.
 */
export function chunkSize(bytesPerSecond: number): number {
  return Math.max(1, Math.min(bytesPerSecond, Math.max(2048, Math.floor(bytesPerSecond / 20))))
}

/** Reservoir refill period of the default source: bottleneck's heartbeat (250 ms). */
const REFILL_MS = 250

/**
 * The default budget source: a bottleneck limiter whose reservoir gains a quarter of a second's
 * budget at every heartbeat (250 ms) and holds at most that plus one chunk, so an idle tracker
 * cannot bank a long burst; one job, weighted by its byte count, takes one chunk.
 *
 * The increase interval is set a little below the heartbeat on purpose: bottleneck compares
 * Date.now() with the last increase at each heartbeat, and a timer that fires a millisecond
 * "early" would otherwise skip a whole refill (measured: the budget fell to ~75%).
 */
export function bottleneckSource(bytesPerSecond: number, chunk: number): BudgetSource {
  const step = bytesPerSecond * (REFILL_MS / 1000)
  const limiter = new Bottleneck({
    reservoir: Math.max(chunk, step),
    reservoirIncreaseInterval: REFILL_MS - 20,
    reservoirIncreaseAmount: step,
    reservoirIncreaseMaximum: Math.max(chunk, step) + chunk,
  })
  let stopped: Promise<void> | null = null
  return {
    draw: bytes => limiter.schedule({ weight: bytes }, () => Promise.resolve()),
    close: () => (stopped ??= limiter.stop({ dropWaitingJobs: true })),
  }
}

interface Waiter {
  remaining: number
  resolve: () => void
  reject: (err: Error) => void
}

export type ClassCounts = Record<Priority, number>
const zero = (): ClassCounts => ({ server: 0, signed: 0, cookie: 0 })

/**
 * The egress budget (docs/design.md §4): `admit()` answers synchronously from budget already drawn into
 * this process; when that runs low one chunk is drawn from the source in the background. UDP
 * replies over budget, or over their class's share of the current second, are dropped and
 * counted by class. TCP replies wait (highest class first) in a queue bounded by
 * `tcpQueueBytes`; past it `wait()` rejects with EGRESS_QUEUE_FULL and the caller closes the
 * connection.
 */
export class EgressBudget implements Egress {
  readonly #bytesPerSecond: number
  readonly #tcpQueueBytes: number
  readonly #chunk: number
  readonly #lowWater: number
  /** Balance each class must leave in hand (bytes): servers may borrow a chunk. */
  readonly #reserve: ClassCounts
  readonly #clock: Clock
  readonly #source: BudgetSource
  readonly #waiters: Record<Priority, Waiter[]> = { server: [], signed: [], cookie: [] }
  #balance = 0
  #queued = 0
  #drawing = false
  #closed = false
  #closing: Promise<void> | null = null
  #window = -1
  #windowUsed = 0
  /** Bytes offered per class this second, and the caps (bytes) derived from the last one. */
  #offered: ClassCounts = zero()
  #caps: ClassCounts = zero()
  readonly #firstDraw: Promise<void>
  #firstDrawDone: (() => void) | null = null
  readonly counts = {
    sentPackets: zero(),
    sentBytes: zero(),
    droppedPackets: zero(),
    droppedBytes: zero(),
    tcpWaited: 0,
    tcpRejected: 0,
    chunks: 0,
  }

  constructor(options: EgressOptions, deps: EgressDeps = {}) {
    // The ranges are the option table's (egress.* in src/ops/options.ts); this only catches a
    // caller passing something that is not a usable number at all.
    if (!(options.bytesPerSecond > 0) || !Number.isFinite(options.bytesPerSecond)) {
      throw new TypeError('egress bytesPerSecond must be a finite positive number')
    }
    if (!(options.tcpQueueBytes >= 0) || !Number.isFinite(options.tcpQueueBytes)) {
      throw new TypeError('egress tcpQueueBytes must be a finite number, 0 or more')
    }
    this.#bytesPerSecond = options.bytesPerSecond
    this.#tcpQueueBytes = options.tcpQueueBytes
    this.#chunk = chunkSize(options.bytesPerSecond)
    // Enough that one full datagram always fits once drawn, even on a tiny budget.
    this.#lowWater = Math.max(Math.ceil(this.#chunk / 2), Limits.MAX_DATAGRAM)
    // Below the low-water mark (a draw is already under way when a reserve is reached).
    this.#reserve = {
      server: -this.#chunk,
      signed: Math.floor(this.#chunk / 8),
      cookie: Math.floor(this.#chunk / 4),
    }
    this.#clock = deps.clock ?? systemClock
    this.#source = deps.source ?? bottleneckSource(options.bytesPerSecond, this.#chunk)
    this.#firstDraw = new Promise(resolve => {
      this.#firstDrawDone = resolve
    })
    this.#maybeDraw()
  }

  /** Resolves once the first chunk of budget has arrived (admit() drops until then). */
  ready(): Promise<void> {
    return this.#firstDraw
  }

  get chunk(): number {
    return this.#chunk
  }

  /** Bytes of TCP replies waiting for budget. */
  get queued(): number {
    return this.#queued
  }

  admit(bytes: number, priority: Priority): boolean {
    if (this.#closed) return this.#drop(bytes, priority)
    this.#roll()
    this.#offered[priority] += bytes
    if (this.#windowUsed + bytes > this.#caps[priority]) {
      return this.#drop(bytes, priority)
    }
    // A lower class may not spend the last of the balance in hand, so a burst of cookies or
    // signed replies (a batch of datagrams handled in one tick) leaves room for the classes
    // above it until the next chunk arrives; server replies may even borrow up to one chunk
    // against the next draw (repaid when it arrives, so the budget over time still holds).
    if (this.#firstDrawDone !== null || this.#balance - bytes < this.#reserve[priority]) {
      this.#maybeDraw()
      return this.#drop(bytes, priority)
    }
    this.#balance -= bytes
    this.#spent(bytes, priority)
    this.#maybeDraw()
    return true
  }

  wait(bytes: number, priority: Priority): Promise<void> {
    if (this.#closed) return Promise.reject(new TrackerError('EGRESS_CLOSED'))
    this.#roll()
    this.#offered[priority] += bytes
    if (this.#waiting() === 0 && this.#balance >= bytes) {
      this.#balance -= bytes
      this.#spent(bytes, priority)
      this.#maybeDraw()
      return Promise.resolve()
    }
    if (this.#queued + bytes > this.#tcpQueueBytes) {
      this.counts.tcpRejected++
      return Promise.reject(
        new TrackerError(
          'EGRESS_QUEUE_FULL',
          `egress queue full: ${this.#queued} bytes waiting, ${bytes} more refused`,
        ),
      )
    }
    this.counts.tcpWaited++
    return new Promise<void>((resolve, reject) => {
      this.#waiters[priority].push({ remaining: bytes, resolve, reject })
      this.#queued += bytes
      this.#serveWaiters()
      this.#maybeDraw()
    })
  }

  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    for (const p of PRIORITIES) {
      for (const w of this.#waiters[p].splice(0)) w.reject(new TrackerError('EGRESS_CLOSED'))
    }
    this.#queued = 0
    this.#firstDrawDone?.()
    this.#closing = this.#source.close()
    return this.#closing
  }

  /** Named counters (snake_case) for the daemon's stats: sends and drops per class. */
  counters(): { name: string; value: number }[] {
    const out: { name: string; value: number }[] = []
    for (const p of PRIORITIES) {
      out.push({ name: `egress_sent_${p}`, value: this.counts.sentPackets[p] })
      out.push({ name: `egress_sent_bytes_${p}`, value: this.counts.sentBytes[p] })
      out.push({ name: `egress_dropped_${p}`, value: this.counts.droppedPackets[p] })
      out.push({ name: `egress_dropped_bytes_${p}`, value: this.counts.droppedBytes[p] })
    }
    out.push({ name: 'egress_tcp_waited', value: this.counts.tcpWaited })
    out.push({ name: 'egress_tcp_rejected', value: this.counts.tcpRejected })
    out.push({ name: 'egress_tcp_queued_bytes', value: this.#queued })
    return out
  }

  #drop(bytes: number, priority: Priority): false {
    this.counts.droppedPackets[priority]++
    this.counts.droppedBytes[priority] += bytes
    return false
  }

  #spent(bytes: number, priority: Priority): void {
    this.#windowUsed += bytes
    this.counts.sentPackets[priority]++
    this.counts.sentBytes[priority] += bytes
  }

  #roll(): void {
    const window = Math.floor(this.#clock.now() / 1000)
    if (window === this.#window) return
    const last = window === this.#window + 1 ? this.#offered : zero()
    const budget = this.#bytesPerSecond
    const share = (base: number, higher: number): number =>
      Math.round(budget * Math.max(MIN_SHARE, Math.min(base, 1 - higher / budget)))
    this.#caps = {
      server: budget * PRIORITY_SHARE.server,
      signed: share(PRIORITY_SHARE.signed, last.server),
      cookie: share(PRIORITY_SHARE.cookie, last.server + last.signed),
    }
    this.#window = window
    this.#windowUsed = 0
    this.#offered = zero()
  }

  /** This second's caps in bytes (see PRIORITY_SHARE). */
  caps(): Readonly<ClassCounts> {
    this.#roll()
    return { ...this.#caps }
  }

  #waiting(): number {
    return this.#waiters.server.length + this.#waiters.signed.length + this.#waiters.cookie.length
  }

  // Waiters are served highest class first, each in arrival order; a reply larger than the
  // balance takes what there is and waits for the rest.
  #serveWaiters(): void {
    this.#roll()
    for (const p of PRIORITIES) {
      const queue = this.#waiters[p]
      while (queue.length > 0 && this.#balance > 0) {
        const w = queue[0]
        if (w === undefined) break
        const take = Math.min(this.#balance, w.remaining)
        this.#balance -= take
        w.remaining -= take
        this.#queued -= take
        this.#windowUsed += take
        this.counts.sentBytes[p] += take
        if (w.remaining > 0) return
        queue.shift()
        this.counts.sentPackets[p]++
        w.resolve()
      }
    }
  }

  #maybeDraw(): void {
    if (this.#closed || this.#drawing) return
    if (this.#waiting() === 0 && this.#balance >= this.#lowWater) return
    this.#drawing = true
    this.#source.draw(this.#chunk).then(
      () => {
        this.#drawing = false
        if (this.#closed) return
        this.counts.chunks++
        this.#balance += this.#chunk
        this.#firstDrawDone?.()
        this.#firstDrawDone = null
        this.#serveWaiters()
        this.#maybeDraw()
      },
      () => {
        // The source refuses only once it is stopped, which close() did.
        this.#drawing = false
      },
    )
  }
}

/** The egress for a config: 0 bytes per second means unlimited. */
export function createEgress(options: EgressOptions, deps: EgressDeps = {}): Egress {
  return options.bytesPerSecond === 0 ? unlimitedEgress : new EgressBudget(options, deps)
}
