import { TrackerError } from '../errors.js'
import { abortedError } from './deadline.js'
import { TrackerRefusedError } from './replies.js'
import type { ResolvedHost } from './resolve.js'
import type { Timers } from './timing.js'

/** RFC 8305 §8: the recommended Connection Attempt Delay. */
export const ATTEMPT_DELAY_MS = 250

/**
 * Happy Eyeballs (RFC 8305 §5) over a tracker's addresses, already in interleaved order: the
 * first is tried; when it fails, or has not succeeded after `delay` ms, the next is tried as
 * well, and so on. The first success wins and the other attempts are cancelled. A tracker's own
 * refusal (an `error` reply) is an answer, not a dead address: it ends the race at once. When
 * every address failed, the first failure is reported. An attempt calls `committed()` once it
 * has a connection (TCP): the next address is then tried only if that attempt fails.
 */
export function tryAddresses<T>(
  addresses: readonly ResolvedHost[],
  attempt: (host: ResolvedHost, signal: AbortSignal, committed: () => void) => Promise<T>,
  options: { signal: AbortSignal; timers: Timers; delay?: number },
): Promise<T> {
  const { signal, timers } = options
  const only = addresses[0]
  if (addresses.length === 1 && only !== undefined) return attempt(only, signal, () => undefined)
  if (signal.aborted) return Promise.reject(abortedError(signal))
  if (only === undefined) return Promise.reject(new TrackerError('CLIENT_UNREACHABLE'))
  const delay = options.delay ?? ATTEMPT_DELAY_MS
  return new Promise<T>((resolve, reject) => {
    const controllers: AbortController[] = []
    const errors: unknown[] = []
    let next = 0
    let running = 0
    let done = false
    let timer: ReturnType<Timers['setTimeout']> | null = null
    const finish = (err: unknown, value?: T): void => {
      if (done) return
      done = true
      if (timer !== null) timers.clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      for (const c of controllers)
        c.abort(new TrackerError('CLIENT_ABORTED', 'another address won'))
      if (err === null) resolve(value as T)
      else reject(err instanceof Error ? err : new TrackerError('CLIENT_UNREACHABLE'))
    }
    const onAbort = (): void => {
      finish(abortedError(signal))
    }
    const start = (): void => {
      if (done) return
      if (timer !== null) {
        timers.clearTimeout(timer)
        timer = null
      }
      const host = addresses[next++]
      if (host === undefined) return
      const c = new AbortController()
      controllers.push(c)
      running++
      const committed = (): void => {
        if (timer !== null) timers.clearTimeout(timer)
        timer = null
      }
      attempt(host, c.signal, committed).then(
        value => {
          finish(null, value)
        },
        (err: unknown) => {
          running--
          if (done) return
          if (err instanceof TrackerRefusedError) {
            finish(err)
            return
          }
          errors.push(err)
          if (next < addresses.length) start()
          else if (running === 0) finish(errors[0])
        },
      )
      if (next < addresses.length) {
        timer = timers.setTimeout(start, delay)
      }
    }
    signal.addEventListener('abort', onAbort, { once: true })
    start()
  })
}
