import type { QueueingVerifier } from '../../crypto/verify-pool.js'
import type { SignedRecord } from '../../wire/record.js'
import type { Source } from './context.js'

/*
 * The announce path's door to the verify pool (src/crypto/verify-pool.ts): per-source fairness
 * in front of the pool's own bound, and the one switch that stops every pending answer from
 * touching the table once the daemon pauses. docs/operations.md, "Verify workers".
 */

/** What a submission came to: a pending answer, or why it was not queued. */
export type Submission = Promise<boolean> | 'busy' | 'source-cap'

/**
 * Records of one source (an IPv4 address, an IPv6 /64) in the pool at once: an eighth of the
 * pool's queue, so one source cannot fill it (eight are needed), and a closed-loop client
 * with many requests in flight from one address is still served.
 */
export function perSourceVerifyCap(capacity: number): number {
  return Math.max(1, Math.floor(capacity / 8))
}

/** IPv4: the address; IPv6: its /64 (the block one subscriber usually gets). */
function sourceBlock(src: Source): string {
  if (src.family === 4) return src.address
  let key = ''
  for (let i = 0; i < 8; i++) key += (src.ip16[i] ?? 0).toString(16).padStart(2, '0')
  return key
}

export class VerifyGate {
  readonly perSource: number
  readonly #verifier: QueueingVerifier
  /** Source block → its records in the pool; deleted at 0. */
  readonly #inFlight = new Map<string, number>()
  /** Records submitted and not answered yet. */
  #pending = 0
  #drained: (() => void) | null = null
  #closed = false

  constructor(verifier: QueueingVerifier, perSource = perSourceVerifyCap(verifier.capacity)) {
    this.#verifier = verifier
    this.perSource = Math.max(1, perSource)
  }

  /** True once the daemon pauses: an answer arriving now changes nothing and is not sent. */
  get closed(): boolean {
    return this.#closed
  }

  /** Sources with records in the pool (bounded by the pool's capacity). */
  get sources(): number {
    return this.#inFlight.size
  }

  submit(record: SignedRecord, src: Source): Submission {
    if (this.#closed) return 'busy'
    const block = sourceBlock(src)
    const held = this.#inFlight.get(block) ?? 0
    if (held >= this.perSource) return 'source-cap'
    const answer = this.#verifier.trySubmit(record)
    if (answer === null) return 'busy'
    this.#inFlight.set(block, held + 1)
    this.#pending++
    const release = (): void => {
      const n = (this.#inFlight.get(block) ?? 1) - 1
      if (n <= 0) this.#inFlight.delete(block)
      else this.#inFlight.set(block, n)
      if (--this.#pending === 0) this.#drained?.()
    }
    // One promise per record: the caller's answer, released as it settles.
    return answer.then(
      ok => {
        release()
        return ok
      },
      (err: unknown) => {
        release()
        throw err
      },
    )
  }

  /**
   * Stop: every answer still to come is dropped (the caller sees `closed`), and this resolves
   * once none is pending, so no handler changes the table after it.
   */
  close(): Promise<void> {
    this.#closed = true
    if (this.#pending === 0) return Promise.resolve()
    return new Promise(resolve => {
      this.#drained = resolve
    })
  }
}
