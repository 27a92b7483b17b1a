import { TrackerError } from '../errors.js'
import { WireErrorCode, wireErrorReason } from '../wire/constants.js'
import type { Message } from '../wire/messages.js'

/** A tracker answered with an `error` message (§8.7). */
export class TrackerRefusedError extends TrackerError {
  /** The numeric wire code (§6); unknown codes are kept as received. */
  readonly wireCode: number
  /** Seconds the tracker asked us to wait (0 = no hint). */
  readonly retryAfter: number

  constructor(wireCode: number, retryAfter: number, tracker: string) {
    super('CLIENT_REFUSED', `${tracker} refused: ${wireErrorReason(wireCode)} (code ${wireCode})`)
    this.name = 'TrackerRefusedError'
    this.wireCode = wireCode
    this.retryAfter = retryAfter
  }

  get rateLimited(): boolean {
    return this.wireCode === WireErrorCode.RATE_LIMITED
  }
}

/**
 * Narrow a reply to the type the request expects. An `error` reply becomes a
 * TrackerRefusedError; anything else unexpected is CLIENT_BAD_REPLY.
 */
export function expectReply<T extends Message['type']>(
  reply: Message,
  type: T,
  tracker: string,
): Extract<Message, { type: T }> {
  if (reply.type === type) return reply as Extract<Message, { type: T }>
  if (reply.type === 'error') throw new TrackerRefusedError(reply.code, reply.retryAfter, tracker)
  throw new TrackerError('CLIENT_BAD_REPLY', `${tracker} answered ${reply.type}, expected ${type}`)
}
