import type { FlatRow } from '../../src/tracker/option-table.js'

/*
 * How docs/operations.md writes an option row's flag and default (test/tracker/config.test.ts
 * checks the document against the option table with these).
 */

const UNITS: readonly [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
]

/** `` `64MiB` ``, `` `["127.0.0.1"]` ``, `` `info` ``, `` `null` ``, `` `""` ``. */
export function docDefault({ row }: FlatRow): string {
  const v = row.default
  let text: string
  if (row.read === 'size' && typeof v === 'number' && v > 0) {
    const unit = UNITS.find(([n]) => v % n === 0)
    text = unit === undefined ? String(v) : `${v / unit[0]}${unit[1]}`
  } else if (Array.isArray(v)) text = `[${v.map(x => JSON.stringify(x)).join(', ')}]`
  else if (typeof v === 'string' && v !== '') text = v
  else text = JSON.stringify(v)
  return `\`${text}\``
}

/** `` `--max-entries N` ``, `` `--host ADDRESS` (repeatable) ``. */
export function docFlag({ flag, row }: FlatRow): string {
  const arg = row.arg.replace(/^<|>$/g, '').toUpperCase()
  const repeatable = row.read === 'list' || row.read === 'value' ? ' (repeatable)' : ''
  return `\`${flag} ${arg}\`${repeatable}`
}
