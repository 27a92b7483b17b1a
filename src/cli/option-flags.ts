import { type Command, Option } from 'commander'
import { OPTION_FLAGS } from '../ops/config.js'

/*
 * `serve`'s option flags, one per row of the option table (src/tracker/options.ts and
 * src/ops/options.ts): `--` + the kebab case of the key (`flood.rate` is `--flood-rate`) unless
 * the row names its flag. Each shows its doc line and its default once; no commander default is
 * set for a single-valued flag, so an absent flag leaves the config file's value in force.
 */

const collect = (value: string, previous: readonly string[] = []): string[] => [...previous, value]

const UNITS: readonly [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
]

/** A default as the flag would be written: 64MiB, off, 127.0.0.1 ::1, none. */
export function showDefault(read: string, value: unknown): string {
  if (value === null) return read === 'port' ? 'off' : 'none'
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(' ')
  if (value === '') return 'none'
  if (read === 'size' && typeof value === 'number' && value > 0) {
    const unit = UNITS.find(([n]) => value % n === 0)
    if (unit !== undefined) return `${value / unit[0]}${unit[1]}`
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/** Register a flag for every option row on `command` (repeatable rows collect a list). */
export function addOptionFlags(command: Command): Command {
  for (const { flag, row } of OPTION_FLAGS) {
    const shown = showDefault(row.read, row.default)
    const option = new Option(`${flag} ${row.arg}`, row.doc)
    if (row.read === 'list' || row.read === 'value') {
      // An empty list means "not given": the config file's value stays (src/ops/config.ts).
      option.argParser(collect).default([], shown)
    } else if (!(row.read === 'bool' && row.default === false)) {
      // Off by default needs no mention (the CLI's help rule: no "(default: false)").
      option.description = `${row.doc} (default: ${shown})`
    }
    command.addOption(option)
  }
  return command
}
