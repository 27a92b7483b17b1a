import { performance } from 'node:perf_hooks'

/*
 * How long a rendered answer (a listing, a /v1/servers page) is reused: at least the configured
 * time, and at least REUSE_FACTOR times what it cost to make, so that however many clients ask,
 * rendering takes at most 1/REUSE_FACTOR of the event loop and the tracker's own traffic keeps
 * the rest. The cost is measured in real elapsed time (it is CPU spent now, not a point on the
 * tracker's clock); the reuse period is then counted on the tracker's clock.
 */

export const REUSE_FACTOR = 20
/** Never reuse longer than this, whatever the cost (a listing a minute old at worst). */
export const REUSE_MAX_MS = 60_000

export function reuseMs(minMs: number, costMs: number): number {
  return Math.min(REUSE_MAX_MS, Math.max(minMs, Math.ceil(costMs * REUSE_FACTOR)))
}

/** Run `make` and return its result with the time it took, ms. */
export function timed<T>(make: () => T): { value: T; costMs: number } {
  const t0 = performance.now()
  const value = make()
  return { value, costMs: performance.now() - t0 }
}
