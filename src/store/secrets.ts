import { createHmac } from 'node:crypto'
import {
  ChallengeTokens,
  type ChallengeSubject,
  type ChallengeTokenSource,
} from '../crypto/challenge-token.js'
import { COOKIE_LIFETIME, checkCookie, makeCookie } from '../crypto/cookie.js'

/** Derive a purpose key from a master secret. */
function derive(master: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', master).update(label).digest())
}

/** The keys one master secret gives: the cookie secret and the challenge tokens' master. */
export interface SecretKeys {
  cookie: Uint8Array
  tokens: ChallengeTokens
}

export function keysOf(master: Uint8Array): SecretKeys {
  return {
    cookie: derive(master, 'metatracker/v1/store/cookie'),
    tokens: new ChallengeTokens(derive(master, 'metatracker/v1/store/challenge')),
  }
}

/**
 * A shared master secret, current and previous (docs/scale-out.md §4): every front-end of one
 * tracker holds the same two (from the store), issues with the current and accepts both, so a
 * cookie or a challenge one front-end issued is accepted by any other, across one rotation.
 * The rotation period must exceed the longest life of a cookie or a token (the store checks).
 */
export class SecretRing {
  #current: SecretKeys
  #previous: SecretKeys | null
  #generation: number

  constructor(current: Uint8Array, previous: Uint8Array | null, generation = 1) {
    this.#current = keysOf(current)
    this.#previous = previous === null ? null : keysOf(previous)
    this.#generation = generation
  }

  get generation(): number {
    return this.#generation
  }

  /** The cookie secret to issue with. */
  get cookieSecret(): Uint8Array {
    return this.#current.cookie
  }

  /** The previous cookie secret, accepted until the next rotation; null before the first. */
  get previousCookieSecret(): Uint8Array | null {
    return this.#previous?.cookie ?? null
  }

  get tokens(): ChallengeTokens {
    return this.#current.tokens
  }

  /** The ring as a token source for the prover: issues with the current, checks both. */
  readonly challengeTokens: ChallengeTokenSource = {
    issue: (time, subject) => this.#current.tokens.issue(time, subject),
    check: (token, subject, now, maxAge) => this.checkToken(token, subject, now, maxAge),
  }

  /** Adopt a newer generation (older or equal ones are ignored). */
  update(current: Uint8Array, previous: Uint8Array | null, generation: number): void {
    if (generation <= this.#generation) return
    this.#current = keysOf(current)
    this.#previous = previous === null ? null : keysOf(previous)
    this.#generation = generation
  }

  issueCookie(now: number, ip16: Uint8Array, port: number): Uint8Array {
    return makeCookie(this.#current.cookie, now, ip16, port)
  }

  /** checkCookie (src/crypto/cookie.ts) with the current secret, then the previous one. */
  checkCookie(
    cookie: Uint8Array,
    now: number,
    ip16: Uint8Array,
    port: number,
    maxAge = COOKIE_LIFETIME,
  ): boolean {
    if (checkCookie(this.#current.cookie, cookie, now, ip16, port, maxAge)) return true
    const p = this.#previous
    return p !== null && checkCookie(p.cookie, cookie, now, ip16, port, maxAge)
  }

  /** ChallengeTokens.check with the current master, then the previous one. */
  checkToken(
    token: Uint8Array,
    subject: ChallengeSubject,
    now: number,
    maxAge: number,
  ): number | null {
    const t = this.#current.tokens.check(token, subject, now, maxAge)
    if (t !== null) return t
    return this.#previous?.tokens.check(token, subject, now, maxAge) ?? null
  }
}
