import { TrackerError } from '../errors.js'
import { type Timers, systemTimers } from './timing.js'

/**
 * Run `fn` with a signal that aborts after `timeout` ms (reason CLIENT_TIMEOUT) or when `outer`
 * aborts (reason CLIENT_ABORTED). Whatever `fn` is waiting on must listen to the signal.
 */
export async function withDeadline<T>(
  timeout: number,
  outer: AbortSignal | undefined,
  fn: (signal: AbortSignal) => Promise<T>,
  what: string,
  timers: Timers = systemTimers,
): Promise<T> {
  const ac = new AbortController()
  if (outer?.aborted === true) throw abortedError(outer)
  const timer = timers.setTimeout(
    () => {
      ac.abort(new TrackerError('CLIENT_TIMEOUT', `${what}: no answer within ${timeout} ms`))
    },
    Math.max(0, timeout),
  )
  const onAbort = (): void => {
    ac.abort(abortedError(outer))
  }
  outer?.addEventListener('abort', onAbort, { once: true })
  try {
    return await fn(ac.signal)
  } finally {
    timers.clearTimeout(timer)
    outer?.removeEventListener('abort', onAbort)
  }
}

/** The error to reject with when `signal` aborted: its reason when that is a TrackerError. */
export function abortedError(signal: AbortSignal | undefined): TrackerError {
  const reason: unknown = signal?.reason
  if (reason instanceof TrackerError) return reason
  return new TrackerError('CLIENT_ABORTED', undefined, { cause: reason })
}

/**
 * Settle with `promise`, or reject as soon as `signal` aborts. The promise keeps running; a late
 * rejection from it is swallowed here so it never surfaces as unhandled.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined)
    return Promise.reject(abortedError(signal))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortedError(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      value => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err instanceof Error ? err : new Error(String(err)))
      },
    )
  })
}
