import { setFlagsFromString } from 'node:v8'

/**
 * How far V8 lets the old generation grow past its live size before the next full collection,
 * in percent. V8's own factor (up to 4× the live heap while allocation is fast) let a table
 * churning at its byte budget reach several times the budget in garbage: a tracker overfilled
 * 10× with `maxBytes` 64 MiB peaked 297 MiB above its idle RSS. With 25 % it peaks within
 * 1.25 × maxBytes plus a fixed allowance (the young generation), docs/operations.md (sizing).
 */
export const HEAP_GROWING_PERCENT = 25

/**
 * Bound the heap's growth between collections for this process (a V8 flag read at each
 * collection; idempotent). A process that holds a table at its budget calls it once at start.
 */
export function boundHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${Math.max(1, Math.floor(percent))}`)
}
