import type { Clock } from '../clock.js'
import { ip16From } from '../crypto/cookie.js'
import type { ChallengeTokenSource } from '../crypto/challenge-token.js'
import type { ClientTable } from '../table/client-table.js'
import type { Entry } from '../table/entry.js'
import {
  carryProofs,
  maskOf,
  markProven,
  provenMask,
  resolveEndpoints,
  settle,
} from '../table/proof.js'
import { decodeRecord } from '../wire/record.js'
import type { CookieGate } from '../throttle/types.js'
import { Limits } from '../wire/constants.js'
import { type Endpoint, parseIp } from '../wire/endpoint.js'
import { recordKeyText, recordNetworkText } from '../wire/layout.js'
import { type ChallengeReply, encodeMessage } from '../wire/messages.js'
import type { ChallengeScope } from './challenge-scope.js'
import type { DenyPolicy } from './policy.js'
import type { Stats } from './stats.js'

/** The endpoints of a held entry, decoded from its record (a few µs: off the hot path only). */
export function entryEndpoints(e: Entry): (Endpoint | null)[] {
  return resolveEndpoints(decodeRecord(e.recordBytes).record.endpoints, e.observed)
}

/** The issue time a token carries (its first four bytes, docs/protocol.md §9.4). */
function tokenTime(token: Uint8Array): number {
  return token.byteLength < 4 ? -1 : new DataView(token.buffer, token.byteOffset, 4).getUint32(0)
}

/** Sends one challenge datagram from the tracker's UDP socket of the endpoint's family. */
export type ChallengeSend = (bytes: Uint8Array, to: Endpoint) => boolean

/** Seconds between two re-checks of a listed server, by its state (MetaServerII's waits). */
export interface RecheckDelays {
  /** No endpoint answered the last round. */
  unreachable: number
  /** Proven, no players. */
  empty: number
  /** Proven, players and room. */
  open: number
  /** Proven, players ≥ maxPlayers (full, players queueing). */
  full: number
}

export interface ProverOptions {
  /** Seconds a challenged endpoint has to answer. */
  timeout: number
  /** Seconds between two challenge rounds of one entry at least (announce-triggered). */
  interval: number
  recheck: RecheckDelays
}

export interface ProverDeps {
  table: ClientTable
  tokens: ChallengeTokenSource
  /** Challenges per second, globally and per /24 or /48 of the target. */
  budget: CookieGate
  /** Challenge replies checked per second (each may cost an HMAC). */
  replies: CookieGate
  scope: ChallengeScope
  deny: DenyPolicy
  clock: Clock
  stats: Stats
  /** Uniform in [0, 1): challenge txids (Math.random when not given). */
  random?: () => number
}

/**
 * The tracker's side of proof of address (docs/protocol.md §9): challenges announced endpoints,
 * checks the replies, re-checks listed servers on a delay that depends on their state. Stateless
 * per challenge (the token carries what the reply must match); the per-entry state is the few
 * integers of src/table/proof.ts. Every send passes, in order: the scope (never outside it), the
 * deny list, the size budget of the request that caused it (an announce never triggers more
 * challenge bytes than it had), the global and per-block challenge budget.
 */
export class Prover {
  #d: ProverDeps
  readonly #o: ProverOptions
  #send: ChallengeSend | null = null

  constructor(deps: ProverDeps, options: ProverOptions) {
    this.#d = deps
    this.#o = options
  }

  /** Where challenges go out (the daemon's UDP listeners); none = nothing is ever sent. */
  attach(send: ChallengeSend | null): void {
    this.#send = send
  }

  /**
   * Issue and check tokens with `tokens` from now on: a front-end of a shared store uses the
   * store's shared secrets (docs/scale-out.md §4), so a reply reaching any front-end proves the
   * endpoint. Tokens issued before with the old source are no longer accepted. `onProof`: told
   * of each proof this front-end checks, so the others learn it.
   */
  useTokens(
    tokens: ChallengeTokenSource,
    onProof?: (e: Entry, mask: number, at: number) => void,
  ): void {
    this.#d = { ...this.#d, tokens }
    this.#shared = true
    this.#onProof = onProof ?? null
  }

  /** Told of every proof this front-end checked (to share it through the store). */
  #onProof: ((e: Entry, mask: number, at: number) => void) | null = null

  /** Tokens shared with other front-ends: a reply may answer a round another one opened. */
  #shared = false

  get timeout(): number {
    return this.#o.timeout
  }

  /**
   * After an announce stored or refreshed `e`: challenge its endpoints not proven yet, at most
   * once per `interval`, within `budgetBytes` (the size of the request).
   */
  afterAnnounce(e: Entry, budgetBytes: number, dueNow = 0): void {
    const now = this.#now()
    settle(e, now, this.#o.timeout)
    let todo = e.want & ~e.proven
    // Within the round interval only endpoints named for the first time are due.
    if (e.chAt !== 0 && now - e.chAt < this.#o.interval) todo &= dueNow
    if (todo === 0) return
    // A round the budget cut short this second is not retried on every announce of the same
    // second (each retry decodes the record): at most once a second while the budget refuses.
    if (this.#cutSecond === now && this.#cut.has(e)) return
    this.#round(e, todo, budgetBytes, now)
  }

  /** Entries whose announce-triggered round the budget cut short in second `#cutSecond`. */
  #cut = new WeakSet<Entry>()
  #cutSecond = -1

  #markCut(e: Entry, now: number): void {
    if (this.#cutSecond !== now) {
      this.#cut = new WeakSet()
      this.#cutSecond = now
    }
    this.#cut.add(e)
  }

  /**
   * A higher seq replaced `from` by `to`: endpoints both name keep their proof and their round.
   * Returns the endpoints `to` names for the first time (due at once, see afterAnnounce).
   */
  carryOver(from: Entry, to: Entry): number {
    if (from.proven === 0 && from.chAt === 0) return 0
    const now = this.#now()
    return carryProofs(from, entryEndpoints(from), to, entryEndpoints(to), now, this.#o.timeout)
  }

  /**
   * After a refresh of `e` (identical bytes): a UDP source (`src`, cookie valid) proves the
   * entry's endpoints equal to it; then, as after any announce, a challenge round if one is due.
   */
  afterRefresh(e: Entry, src: Endpoint | null, budgetBytes: number): void {
    // A refresh never moves the observed endpoint, so only a refresh from it proves anything;
    // the mask was kept when the entry was stored: no decoding on this hot path.
    if (src !== null && e.obs !== 0 && src.port === e.port && src.address === e.ip) {
      markProven(e, e.obs, this.#now())
    }
    this.afterAnnounce(e, budgetBytes)
  }

  /** Check every held server entry and re-challenge those whose delay has passed. */
  recheck(): number {
    const now = this.#now()
    let started = 0
    for (const id of this.#d.table.bucketIds()) {
      if (!id.startsWith('s')) continue
      const items = this.#d.table.bucket(id.slice(1), 'server')
      // No copy: a round never changes the index (expired entries are skipped, not deleted).
      for (const e of items) {
        if (e.until <= now || e.want === 0) continue
        settle(e, now, this.#o.timeout)
        if (now < e.chAt + this.#delay(e)) continue
        this.#d.stats.inc('rechecks')
        if (this.#round(e, e.want, Infinity, now)) started++
      }
    }
    return started
  }

  /**
   * A challenge-reply from `src` (UDP, after the deny list): proves the endpoints of the entry it
   * names that equal `src` and were challenged in the entry's open round. Never answered.
   */
  onReply(m: ChallengeReply, src: { address: string; port: number; ip16: Uint8Array }): boolean {
    const stats = this.#d.stats
    stats.inc('challenge_replies')
    const key = recordKeyText(m.network, m.publicKey)
    const e = key === null ? undefined : this.#d.table.peek(key)
    const now = this.#now()
    // Cheap checks first: a round open for the entry, the token's time that round's; then the
    // reply budget, and only then a decode and the HMAC.
    if (e === undefined) {
      stats.inc('challenge_replies_dropped')
      return false
    }
    const time = tokenTime(m.token)
    const local = e.pending !== 0 && now < e.chAt + this.#o.timeout && time === e.chAt
    // With shared tokens another front-end may have sent the challenge (docs/scale-out.md §4):
    // a reply to a round this replica did not open is worth the HMAC if its token is fresh.
    const remote = !local && this.#shared && time <= now && now < time + this.#o.timeout
    if (!local && !remote) {
      stats.inc('challenge_replies_dropped')
      return false
    }
    const from: Endpoint = {
      family: src.address.includes(':') ? 6 : 4,
      address: src.address,
      port: src.port,
    }
    // From an endpoint waiting in this round, then within the reply budget (global and per
    // source block, so one sender cannot spend the budget genuine replies need), then the HMAC.
    const open = maskOf(entryEndpoints(e), from) & (local ? e.pending : e.want & ~e.proven)
    if (open === 0 || !this.#d.replies.admit(src.ip16)) {
      stats.inc('challenge_replies_dropped')
      return false
    }
    const subject = { publicKey: m.publicKey, network: m.network, ip16: src.ip16, port: src.port }
    if (this.#d.tokens.check(m.token, subject, now, this.#o.timeout) === null) {
      stats.inc('challenge_replies_dropped')
      return false
    }
    // A round another front-end opened counts as this replica's last round.
    if (!local) e.chAt = time
    markProven(e, open, now)
    stats.inc('challenge_proofs')
    this.#onProof?.(e, open, now)
    return true
  }

  /** Is `e` handed out to askers that did not ask for unproven entries? */
  isProven(e: Entry, now: number): boolean {
    return provenMask(e, now, this.#o.timeout) !== 0
  }

  #delay(e: Entry): number {
    const r = this.#o.recheck
    if (e.chAt === 0) return 0
    if (e.proven === 0) return r.unreachable
    const s = e.server
    if (s === null) return r.open
    if (s.players <= 0) return r.empty
    return s.players >= s.maxPlayers ? r.full : r.open
  }

  /** One challenge round for the endpoints in `mask`; true when at least one was sent. */
  #round(e: Entry, mask: number, budgetBytes: number, now: number): boolean {
    const send = this.#send
    const stats = this.#d.stats
    const before = e.chAt
    e.chAt = now
    if (send === null) return false
    const resolved = entryEndpoints(e)
    const network = recordNetworkText(e.rec)
    const publicKey = Buffer.from(e.publicKeyText, 'latin1')
    let spent = 0
    let sent = 0
    for (let i = 0; i < resolved.length; i++) {
      const to = resolved[i]
      if (to === null || to === undefined || (mask & (1 << i)) === 0) continue
      if ((sent & maskOf(resolved, to)) !== 0) continue // the same endpoint twice in a record
      if (!this.#d.scope.allows(to.address)) {
        stats.inc('challenges_out_of_scope')
        continue
      }
      if (this.#d.deny.deniesAddress(to.address)) {
        // Never challenged again while denied: it keeps no proof either.
        e.proven &= ~maskOf(resolved, to)
        stats.inc('challenges_denied')
        continue
      }
      const raw = parseIp(to.address)
      if (raw === null) continue
      const ip16 = ip16From(raw)
      const size = 5 + Limits.CHALLENGE_TOKEN_BYTES + 32 + 1 + Buffer.byteLength(network)
      if (spent + size > budgetBytes) {
        stats.inc('challenges_over_size')
        break
      }
      if (!this.#d.budget.admit(ip16)) {
        stats.inc('challenges_over_budget')
        // Cut short by the budget: the round does not count, so a re-check is retried on the
        // next tick instead of a whole delay later (a proof never outlives its re-check by the
        // budget's doing); an announce-triggered round waits for the next announce in a later
        // second (see afterAnnounce).
        if (sent === 0) {
          e.chAt = before
          if (budgetBytes !== Infinity) this.#markCut(e, now)
        }
        break
      }
      const token = this.#d.tokens.issue(now, { publicKey, network, ip16, port: to.port })
      const bytes = encodeMessage({
        type: 'challenge',
        txid: ((this.#d.random ?? Math.random)() * 0x1_0000_0000) >>> 0,
        token,
        publicKey,
        network,
      })
      if (!send(bytes, to)) continue
      spent += bytes.byteLength
      sent |= maskOf(resolved, to)
      stats.inc('challenges_sent')
    }
    e.pending = sent
    return sent !== 0
  }

  #now(): number {
    return Math.floor(this.#d.clock.now() / 1000)
  }
}
