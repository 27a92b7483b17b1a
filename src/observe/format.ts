/** Small text formatters shared by the status page and the listing ports. Pure. */

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** 1234567 → "1,234,567". */
export function formatInt(n: number): string {
  return INT.format(n)
}

/** A rate with two decimals: 0.5 → "0.50". */
export function formatRate(n: number): string {
  return Number.isFinite(n) ? n.toFixed(2) : '0.00'
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** Binary units: 67108864 → "64.0 MiB"; below 1 KiB, whole bytes. */
export function formatBytes(n: number): string {
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${UNITS[u] ?? ''}`
}

/** Seconds as "2d 3h 4m 5s", leading zero units left out: 65 → "1m 5s", 0 → "0s". */
export function formatDuration(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds))
  const parts: string[] = []
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    const n = Math.floor(s / size)
    s -= n * size
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`)
  }
  parts.push(`${s}s`)
  return parts.join(' ')
}

/** Part of a whole as a percentage with one decimal; "0.0%" when the whole is 0. */
export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0.0%'
}

/**
 * Characters that reorder or hide text on a terminal or page (bidirectional overrides and
 * isolates, zero-width marks). The codec already refuses control characters, so nothing else in
 * a record can move the cursor; these are replaced in human listings so that one server name
 * cannot disguise the lines around it.
 */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g

export function plainText(s: string): string {
  return s.replace(INVISIBLE, '\ufffd')
}
