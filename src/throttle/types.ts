/**
 * Contracts between the tracker's handlers/listeners and the throttling layer. The tracker core
 * depends only on these interfaces; `src/throttle/` provides the real implementations
 * (bottleneck-backed egress budget, per-source token buckets) and permissive defaults.
 */

/** Egress priority classes, highest first (docs/design.md §4): lowest is dropped first when over budget. */
export type Priority = 'server' | 'signed' | 'cookie'

export interface Egress {
  /**
   * UDP: may `bytes` be sent now at this priority? false = drop the reply (the caller counts it
   * by reason). Never blocks.
   */
  admit(bytes: number, priority: Priority): boolean
  /** TCP: resolves when `bytes` may be sent (delayed, not dropped); rejects if its queue is full. */
  wait(bytes: number, priority: Priority): Promise<void>
  close(): Promise<void>
}

/** Sends everything at once: the default when no budget is configured. */
export const unlimitedEgress: Egress = {
  admit: () => true,
  wait: () => Promise.resolve(),
  close: () => Promise.resolve(),
}

export type FloodVerdict =
  /** Serve the request. */
  | { action: 'pass' }
  /** Over the limit for the first time in a while: answer RATE_LIMITED with this hint. */
  | { action: 'warn'; retryAfter: number }
  /** Still over the limit: stay silent. */
  | { action: 'drop' }

export interface FloodGate {
  /** One request from `ip` (canonical text form) costing `cost` tokens. */
  check(ip: string, cost?: number): FloodVerdict
}

export const openFloodGate: FloodGate = { check: () => ({ action: 'pass' }) }

/**
 * The global budget of replies to unvalidated UDP sources (cookie replies): sources that have
 * not proven their address never get per-source state, so they share this one budget.
 */
export interface CookieGate {
  /** May one more cookie reply go to `ip16` (the source as 16 bytes) now? Counts a refusal. */
  admit(ip16: Uint8Array): boolean
}

export const openCookieGate: CookieGate = { admit: () => true }
