import { ChallengeAnswerer, type RemoteInfo } from './challenge-answer.js'
import type { KeyObject } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { type Clock, systemClock } from '../clock.js'
import { rawPublicKey } from '../crypto/ed25519.js'
import { signRecord } from '../crypto/record-sign.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { Limits, WireErrorCode } from '../wire/constants.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { AnnounceStatus } from '../wire/messages.js'
import type { NodeKind, NodeRecord, ServerInfo, SignedRecord } from '../wire/record.js'
import type {
  AnnouncerEvents,
  AnnouncerOptions,
  CloseOptions,
  RecordUpdate,
  TrackerState,
  TrackerStatus,
} from './announcer-types.js'
import { type TrackerHealth, countsAgainst, healthOf } from './health.js'
import { integer, nonNegative, positive, ratio } from './options.js'
import { TrackerRefusedError, expectReply } from './replies.js'
import { type TimerHandle, type Timers, backoffDelay, jittered, systemTimers } from './timing.js'
import { type TrackerAddress, trackerLabel } from './trackers.js'
import { UdpTransport } from './transport/udp.js'

export type {
  AnnouncerEvents,
  AnnouncerOptions,
  CloseOptions,
  RecordUpdate,
  TrackerState,
  TrackerStatus,
} from './announcer-types.js'

interface Slot {
  tracker: TrackerAddress
  label: string
  state: TrackerState
  failures: number
  timer: TimerHandle | null
  dueAt: number | null
  inFlight: Promise<void> | null
  lastSentAt: number
  seq: number
  status?: AnnounceStatus
  interval?: number
  observed?: Endpoint
  error?: TrackerStatus['error']
}

/**
 * Keeps one signed record announced to every tracker, independently: each tracker has its own
 * schedule (its interval hint, with jitter), its own exponential backoff on failure (capped,
 * reset on success) and at most one request in flight. Nothing here blocks: a dead or slow
 * tracker costs its own timer and nothing else (the multi-master bugs of Q2RTX#204 and
 * Unvanquished#2261 came from one master holding up the rest).
 *
 * The record's seq is derived from the clock in milliseconds (and always above the previous
 * one), so a restarted node never goes backwards. It is re-signed when its info changes
 * (update()) and once two thirds of its lifetime has passed.
 */
export class Announcer extends EventEmitter<AnnouncerEvents> {
  readonly #privateKey: KeyObject
  readonly #publicKey: Uint8Array
  readonly #network: string
  readonly #kind: NodeKind
  #endpoints: Endpoint[]
  #server: ServerInfo | null
  readonly #lifetime: number
  readonly #timeout: number
  readonly #jitter: number
  readonly #retryBase: number
  readonly #retryCap: number
  readonly #minInterval: number
  readonly #maxInterval: number
  readonly #defaultInterval: number
  readonly #minUpdateGap: number
  readonly #withdrawTimeout: number
  readonly #clock: Clock
  readonly #timers: Timers
  readonly #random: () => number
  readonly #logger: Logger
  readonly #udp: UdpTransport
  readonly #ownUdp: boolean
  readonly #health: TrackerHealth
  readonly #slots: Slot[]
  readonly #abort = new AbortController()
  #record: SignedRecord
  #withdrawal: SignedRecord | null = null
  #started = false
  #closing: Promise<void> | null = null
  #answerer: ChallengeAnswerer | null = null

  constructor(options: AnnouncerOptions) {
    super()
    if (options.trackers.length === 0) {
      throw new TrackerError('CLIENT_BAD_OPTION', 'trackers: at least one tracker is needed')
    }
    this.#privateKey = options.privateKey
    this.#publicKey = rawPublicKey(options.privateKey)
    this.#network = options.network
    this.#server = options.server ?? null
    this.#kind = this.#server === null ? 'peer' : 'server'
    this.#endpoints = (options.endpoints ?? []).slice()
    this.#lifetime = integer(options.lifetime ?? 3600, 1, Limits.RECORD_LIFETIME_MAX, 'lifetime')
    this.#timeout = positive(options.timeout ?? 3000, 'timeout')
    this.#jitter = ratio(options.jitter ?? 0.1, 'jitter')
    this.#retryBase = positive(options.retryBase ?? 5000, 'retryBase')
    this.#retryCap = Math.max(this.#retryBase, positive(options.retryCap ?? 300_000, 'retryCap'))
    this.#minInterval = nonNegative(options.minInterval ?? 15_000, 'minInterval')
    this.#maxInterval = Math.max(
      this.#minInterval,
      positive(options.maxInterval ?? 3_600_000, 'maxInterval'),
    )
    this.#defaultInterval = positive(options.defaultInterval ?? 300_000, 'defaultInterval')
    this.#minUpdateGap = nonNegative(options.minUpdateGap ?? 1000, 'minUpdateGap')
    this.#withdrawTimeout = nonNegative(options.withdrawTimeout ?? 1000, 'withdrawTimeout')
    this.#clock = options.clock ?? systemClock
    this.#timers = options.timers ?? systemTimers
    this.#random = options.random ?? Math.random
    this.#logger = options.logger ?? silentLogger
    this.#ownUdp = options.udp === undefined
    this.#udp =
      options.udp ??
      new UdpTransport({
        clock: this.#clock,
        timers: this.#timers,
        ...(options.resolve ? { resolve: options.resolve } : {}),
      })
    // What it learns of each tracker is shared with a Querier on the same transport.
    this.#health =
      options.health ?? healthOf(this.#udp, { clock: this.#clock, random: this.#random })
    // Signing now validates network, endpoints and server info (WireError on a bad field).
    this.#record = this.#sign(this.#endpoints, this.#server, 0)
    this.#slots = options.trackers.map(tracker => ({
      tracker,
      label: trackerLabel(tracker),
      state: 'pending',
      failures: 0,
      timer: null,
      dueAt: null,
      inFlight: null,
      lastSentAt: -Infinity,
      seq: 0,
    }))
  }

  /** The record currently announced (exact signed bytes in `.bytes`). */
  get record(): SignedRecord {
    return this.#record
  }

  get publicKey(): Uint8Array {
    return this.#publicKey
  }

  /** The withdrawal close() signed and sent (null before, or when it sent none). */
  get withdrawal(): SignedRecord | null {
    return this.#withdrawal
  }

  /**
   * Proof of address (docs/protocol.md §9): give this the datagrams the node's own UDP socket
   * (the one the record names) receives and does not understand. A challenge from a tracker for
   * this key and network is answered through `send` (rate limited) and true is returned: the
   * caller stops there. False: not a challenge, the application handles the datagram.
   */
  handleDatagram(
    datagram: Uint8Array,
    from: RemoteInfo,
    send: (reply: Uint8Array, port: number, address: string) => void,
  ): boolean {
    // The trackers' own challenges get a bucket of their own: a tracker answers from the address
    // the announcer sends to (its name's addresses are the transport's business; a literal
    // address is known here).
    const hosts = new Set(
      this.#slots.map(s => s.tracker.host.replace(/^\[|\]$/g, '').toLowerCase()),
    )
    this.#answerer ??= new ChallengeAnswerer(
      { publicKey: this.#publicKey, networks: [this.#network] },
      { clock: this.#clock, trusted: a => hosts.has(a.toLowerCase().replace(/^::ffff:/, '')) },
    )
    return this.#answerer.handle(datagram, from, send)
  }

  /** A snapshot of every tracker's state. */
  status(): TrackerStatus[] {
    return this.#slots.map(s => this.#snapshot(s))
  }

  /** Begin announcing to every tracker, at once, then on each tracker's own schedule. */
  start(): this {
    if (this.#started || this.#closing !== null) return this
    this.#started = true
    for (const slot of this.#slots) this.#schedule(slot, 0)
    return this
  }

  /**
   * One round: announce to every tracker concurrently and resolve when each has answered or
   * failed (for `announce --once`). Never rejects; failures are in the returned states.
   */
  async announceAll(options: { signal?: AbortSignal } = {}): Promise<TrackerStatus[]> {
    await Promise.all(this.#slots.map(s => this.#attempt(s, options.signal)))
    return this.status()
  }

  /**
   * Change the announced info (e.g. `update({ players: 5 })`) and re-sign with a higher seq.
   * Trackers that are up get the new record within `minUpdateGap`; failing ones get it on their
   * next retry. Returns the new record (or the current one when nothing changed).
   */
  update(change: RecordUpdate): SignedRecord {
    if (this.#closing !== null) throw new TrackerError('CLIENT_CLOSED')
    const { endpoints, ...serverChange } = change
    const serverKeys = Object.keys(serverChange)
    if (this.#server === null && serverKeys.length > 0) {
      throw new TrackerError(
        'CLIENT_BAD_OPTION',
        `a peer record has no server info (${serverKeys.join(', ')})`,
      )
    }
    const nextEndpoints = endpoints === undefined ? this.#endpoints : endpoints.slice()
    const nextServer =
      this.#server === null
        ? null
        : {
            ...this.#server,
            ...serverChange,
            tags: (serverChange.tags ?? this.#server.tags).slice(),
          }
    if (
      JSON.stringify([nextEndpoints, nextServer]) ===
      JSON.stringify([this.#endpoints, this.#server])
    ) {
      return this.#record
    }
    const record = this.#sign(nextEndpoints, nextServer, this.#record.record.seq)
    this.#endpoints = nextEndpoints
    this.#server = nextServer
    this.#setRecord(record)
    if (this.#started) {
      const now = this.#clock.now()
      for (const slot of this.#slots) {
        if (slot.state !== 'up' && slot.state !== 'pending') continue
        // One in flight sees the newer record when it completes (see #attempt).
        if (slot.inFlight === null)
          this.#schedule(slot, Math.max(0, slot.lastSentAt + this.#minUpdateGap - now))
      }
    }
    return record
  }

  #sign(endpoints: Endpoint[], server: ServerInfo | null, lastSeq: number): SignedRecord {
    const now = this.#clock.now()
    const issuedAt = Math.floor(now / 1000)
    const fields: NodeRecord = {
      network: this.#network,
      publicKey: this.#publicKey,
      seq: Math.max(Math.floor(now), lastSeq + 1),
      issuedAt,
      expiresAt: issuedAt + this.#lifetime,
      kind: this.#kind,
      endpoints,
      server,
    }
    return signRecord(fields, this.#privateKey)
  }

  #setRecord(record: SignedRecord): void {
    this.#record = record
    this.#guard('signed', () => this.emit('signed', record))
  }

  /** ms since the epoch at which the current record is re-signed: 2/3 of its lifetime. */
  #resignAt(): number {
    const r = this.#record.record
    return (r.expiresAt - Math.floor(this.#lifetime / 3)) * 1000
  }

  /** The record to send now, re-signed first when it is due. */
  #current(): SignedRecord {
    if (this.#clock.now() >= this.#resignAt()) {
      this.#setRecord(this.#sign(this.#endpoints, this.#server, this.#record.record.seq))
    }
    return this.#record
  }

  #schedule(slot: Slot, delay: number): void {
    if (slot.timer !== null) this.#timers.clearTimeout(slot.timer)
    slot.timer = null
    slot.dueAt = null
    if (this.#closing !== null || !this.#started) return
    const ms = Math.max(0, Math.round(delay))
    slot.dueAt = this.#clock.now() + ms
    slot.timer = this.#timers.setTimeout(() => {
      slot.timer = null
      slot.dueAt = null
      void this.#attempt(slot, undefined)
    }, ms)
  }

  /** Announce to one tracker. Never rejects. */
  #attempt(slot: Slot, signal: AbortSignal | undefined): Promise<void> {
    if (slot.inFlight !== null) return slot.inFlight
    if (this.#closing !== null) return Promise.resolve()
    if (slot.timer !== null) {
      this.#timers.clearTimeout(slot.timer)
      slot.timer = null
      slot.dueAt = null
    }
    const run = async (): Promise<void> => {
      const record = this.#current()
      slot.lastSentAt = this.#clock.now()
      slot.seq = record.record.seq
      // AbortSignal.any only for a caller's own signal: a combined signal stays attached to its
      // sources, and the scheduled path runs for the life of the process.
      const abort =
        signal === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, signal])
      let delay: number
      try {
        const reply = await this.#udp.request(
          slot.tracker,
          (cookie, txid) => ({ type: 'announce', txid, cookie, record }),
          { timeout: this.#timeout, signal: abort },
        )
        const ok = expectReply(reply, 'announce-reply', slot.label)
        slot.state = 'up'
        slot.failures = 0
        this.#health.success(slot.tracker, this.#clock.now() - slot.lastSentAt)
        slot.status = ok.status
        slot.interval = ok.interval
        slot.observed = ok.observed
        delete slot.error
        // A newer record was signed while this one was in flight: send it soon.
        const stale = this.#record.record.seq !== record.record.seq
        delay = stale
          ? Math.max(0, slot.lastSentAt + this.#minUpdateGap - this.#clock.now())
          : this.#refreshDelay(ok.interval)
      } catch (err) {
        if (this.#isClosing()) return
        if (countsAgainst(err)) this.#health.failure(slot.tracker, err)
        delay = this.#onFailure(slot, err)
      }
      this.#schedule(slot, delay)
      const snap = this.#snapshot(slot)
      this.#guard('state', () => this.emit('state', snap))
    }
    const p = run()
      .catch((err: unknown) => {
        // Only a bug can land here; keep announcing to the other trackers.
        this.#logger.error({ err, tracker: slot.label }, 'announce attempt failed unexpectedly')
      })
      .finally(() => {
        slot.inFlight = null
      })
    slot.inFlight = p
    return p
  }

  /** Record a failure on `slot`; returns the delay before its retry. */
  #onFailure(slot: Slot, err: unknown): number {
    slot.failures++
    let delay = jittered(
      backoffDelay(slot.failures, this.#retryBase, this.#retryCap),
      this.#jitter,
      this.#random,
    )
    if (err instanceof TrackerRefusedError) {
      slot.state = 'backoff'
      slot.error = {
        code: err.code,
        message: err.message,
        wireCode: err.wireCode,
        retryAfter: err.retryAfter,
      }
      // §8.7: honour the tracker's hint (any code) even when it is longer than our own backoff.
      if (err.retryAfter > 0) delay = Math.max(delay, err.retryAfter * 1000)
      // §8.3: the tracker remembers a seq at least as high as ours (an evicted entry, or a
      // clock that went back): sign again with a higher seq, sent on the retry. Only when the
      // refused record is still the current one, so one refusal re-signs once.
      if (
        err.wireCode === WireErrorCode.STALE_SEQUENCE &&
        slot.seq === this.#record.record.seq &&
        this.#closing === null
      ) {
        this.#setRecord(this.#sign(this.#endpoints, this.#server, this.#record.record.seq))
      }
    } else {
      slot.state = 'down'
      slot.error =
        err instanceof TrackerError
          ? { code: err.code, message: err.message }
          : { code: 'CLIENT_BAD_REPLY', message: err instanceof Error ? err.message : String(err) }
    }
    return delay
  }

  /** The next refresh after a success: the tracker's hint, bounded and jittered, and never
   * later than the moment the record must be re-signed. */
  #refreshDelay(hintSeconds: number): number {
    const hint = hintSeconds > 0 ? hintSeconds * 1000 : this.#defaultInterval
    const bounded = Math.min(this.#maxInterval, Math.max(this.#minInterval, hint))
    const untilResign = this.#resignAt() - this.#clock.now()
    return Math.max(0, Math.min(jittered(bounded, this.#jitter, this.#random), untilResign))
  }

  #snapshot(s: Slot): TrackerStatus {
    const out: TrackerStatus = {
      tracker: s.label,
      address: s.tracker,
      state: s.state,
      failures: s.failures,
      nextIn: s.dueAt === null ? null : Math.max(0, s.dueAt - this.#clock.now()),
      seq: s.seq,
    }
    if (s.status !== undefined) out.status = s.status
    if (s.interval !== undefined) out.interval = s.interval
    if (s.observed !== undefined) out.observed = s.observed
    if (s.error !== undefined) out.error = { ...s.error }
    return out
  }

  #guard(event: keyof AnnouncerEvents, emit: () => void): void {
    try {
      emit()
    } catch (err) {
      // A throwing listener is the host program's bug; it must not stop the announcer.
      this.#logger.error({ err, event }, 'announcer listener threw')
    }
  }

  #isClosing(): boolean {
    return this.#closing !== null
  }

  /**
   * Idempotent. Stops every timer, cancels announces in flight, then (unless `withdraw` is false
   * or `withdrawTimeout` is 0) sends one signed withdrawal to every tracker it announced to, all
   * at once, and waits at most `withdrawTimeout` for their answers (best effort: a tracker that
   * does not answer keeps the record until it expires); then closes its own socket. Never
   * rejects. Trackers that acknowledged show `status: 'withdrawn'` in status().
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== null) return this.#closing
    this.#closing = (async () => {
      for (const slot of this.#slots) {
        if (slot.timer !== null) this.#timers.clearTimeout(slot.timer)
        slot.timer = null
        slot.dueAt = null
      }
      this.#abort.abort(new TrackerError('CLIENT_CLOSED'))
      await Promise.allSettled(this.#slots.map(s => s.inFlight ?? Promise.resolve()))
      if (options.withdraw !== false && this.#withdrawTimeout > 0) await this.#withdrawAll()
      if (this.#ownUdp) await this.#udp.close()
    })()
    return this.#closing
  }

  /**
   * §8.3 *Withdrawal*: a record of lifetime 0 (expiresAt = issuedAt), no endpoint, a seq above
   * every record sent, to each tracker an announce was sent to (one that never answered may
   * still hold it). Never rejects.
   */
  async #withdrawAll(): Promise<void> {
    const slots = this.#slots.filter(s => s.lastSentAt > -Infinity)
    if (slots.length === 0 || this.#udp.closed) return
    const now = this.#clock.now()
    const issuedAt = Math.floor(now / 1000)
    let withdrawal: SignedRecord
    try {
      withdrawal = signRecord(
        {
          network: this.#network,
          publicKey: this.#publicKey,
          seq: Math.max(Math.floor(now), this.#record.record.seq + 1),
          issuedAt,
          expiresAt: issuedAt,
          kind: this.#kind,
          endpoints: [],
          server: this.#server,
        },
        this.#privateKey,
      )
    } catch (err) {
      this.#logger.error({ err }, 'cannot sign the withdrawal')
      return
    }
    this.#withdrawal = withdrawal
    await Promise.allSettled(slots.map(slot => this.#withdrawFrom(slot, withdrawal)))
  }

  async #withdrawFrom(slot: Slot, withdrawal: SignedRecord): Promise<void> {
    try {
      const reply = await this.#udp.request(
        slot.tracker,
        (cookie, txid) => ({ type: 'announce', txid, cookie, record: withdrawal }),
        { timeout: this.#withdrawTimeout },
      )
      const ok = expectReply(reply, 'announce-reply', slot.label)
      slot.seq = withdrawal.record.seq
      slot.status = ok.status
      slot.observed = ok.observed
    } catch (err) {
      this.#logger.debug({ err, tracker: slot.label }, 'withdrawal not acknowledged')
    }
  }
}
