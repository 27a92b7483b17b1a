/**
 * Timers and delay arithmetic for the client. Timers are injected (like the Clock) so tests can
 * run the Announcer's schedule without waiting on wall-clock time.
 */
/** Whatever the timer implementation returns (a Timeout object in Node). */
export type TimerHandle = object | number

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

/**
 * Spread `ms` uniformly over ±`fraction` of itself so that many nodes started together do not
 * announce in lock-step (opentracker's ±3 min, Syncthing's Reannounce-After + rand(300)).
 */
export function jittered(ms: number, fraction: number, random: () => number): number {
  if (fraction <= 0) return Math.round(ms)
  const f = Math.min(fraction, 1)
  return Math.max(0, Math.round(ms * (1 - f + 2 * f * random())))
}

/**
 * Exponential backoff before retry number `failures` (1 = the first retry): base, 2·base, 4·base,
 * … capped at `cap`. Jitter is applied by the caller.
 */
export function backoffDelay(failures: number, base: number, cap: number): number {
  if (failures <= 0) return 0
  const exp = Math.min(failures - 1, 30)
  return Math.min(cap, base * 2 ** exp)
}
