import { TrackerError } from '../errors.js'
import type { Query } from '../wire/messages.js'
import type { Attempt, AttemptOutcome, Spec } from './query-types.js'
import { TrackerRefusedError } from './replies.js'

/* One query message, and what asking one tracker came to (src/client/querier.ts). */

/** No tracker answered (CLIENT_ALL_FAILED); `attempts` says what each one did. */
export class QueryFailedError extends TrackerError {
  readonly attempts: Attempt[]

  constructor(attempts: Attempt[], why: string) {
    super('CLIENT_ALL_FAILED', `no tracker answered (${why})`)
    this.name = 'QueryFailedError'
    this.attempts = attempts
  }
}

export function queryMessage(
  spec: Spec,
  cookie: Uint8Array,
  txid: number,
  offset: number,
  count: number,
): Query {
  return {
    type: 'query',
    txid,
    cookie,
    network: spec.network,
    kind: spec.kind,
    mode: spec.mode,
    count: Math.max(1, count),
    offset,
    sort: spec.sort,
    notFull: spec.notFull,
    world: spec.world,
    version: spec.version,
    tags: spec.tags.slice(),
    exclude: spec.exclude,
  }
}

export function classify(tracker: string, err: unknown, transport: 'udp' | 'tcp'): Attempt {
  const base = { tracker, transport }
  if (err instanceof TrackerRefusedError) {
    return {
      ...base,
      outcome: err.rateLimited ? 'rate-limited' : 'refused',
      code: err.code,
      message: err.message,
      wireCode: err.wireCode,
      retryAfter: err.retryAfter,
    }
  }
  if (err instanceof TrackerError) {
    const outcome: AttemptOutcome =
      err.code === 'CLIENT_TIMEOUT'
        ? 'timeout'
        : err.code === 'CLIENT_ABORTED' || err.code === 'CLIENT_CLOSED'
          ? 'aborted'
          : err.code === 'CLIENT_UNREACHABLE' || err.code === 'TRANSPORT_CLOSED'
            ? 'unreachable'
            : err.code === 'TRANSPORT_REFUSED'
              ? 'refused'
              : 'bad-reply'
    return { ...base, outcome, code: err.code, message: err.message }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { ...base, outcome: 'bad-reply', message }
}
