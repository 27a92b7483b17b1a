/*
 * One frame of `metatracker servers --watch` (README "Watching the server list"), as a pure
 * function of the table to show and the previous frame: which rows changed, and the exact text
 * to write. On a terminal the frame overwrites the previous one in place (cursor home, each line
 * followed by erase-to-end-of-line, erase-below at the end: no clear screen, so no flicker) and
 * changed rows are drawn in bold yellow; elsewhere (a pipe, a file) each frame is a plain table
 * and changed rows carry a `*` in the first column.
 */

export const ESC = {
  home: '\u001b[H',
  eraseLine: '\u001b[K',
  eraseBelow: '\u001b[J',
  highlight: '\u001b[1;33m',
  reset: '\u001b[0m',
  /** Alternate screen buffer on/off, cursor hidden while it is on. */
  enter: '\u001b[?1049h\u001b[?25l',
  leave: '\u001b[?25h\u001b[?1049l',
} as const

/** One row's identity and what counts as a change (not its age, which moves every frame). */
export interface WatchRow {
  key: string
  signature: string
}

export interface FrameInput {
  /** The first line (what is watched, the time, how to quit). */
  title: string
  /** A formatted table: a header line, a rule line, then one line per row in `rows`' order. */
  table: readonly string[]
  rows: readonly WatchRow[]
  /** Signatures of the previous frame by key; null for the first frame (nothing highlighted). */
  previous: ReadonlyMap<string, string> | null
  /** Extra lines under the table (an error of the last refresh, …). */
  notes?: readonly string[]
  tty: boolean
  /** Terminal height in lines (tty only): rows beyond it are summarised in one line. */
  height?: number
}

export interface Frame {
  text: string
  /** Keys of the rows new or changed since the previous frame. */
  changed: string[]
  /** How many rows of the previous frame are gone. */
  gone: number
  /** Pass as `previous` to the next frame. */
  state: Map<string, string>
}

export function renderFrame(input: FrameInput): Frame {
  const state = new Map(input.rows.map(r => [r.key, r.signature]))
  const prev = input.previous
  const changed =
    prev === null ? [] : input.rows.filter(r => prev.get(r.key) !== r.signature).map(r => r.key)
  const changedSet = new Set(changed)
  const gone = prev === null ? 0 : [...prev.keys()].filter(k => !state.has(k)).length
  const [header = '', rule = '', ...body] = input.table
  const footer = [...(input.notes ?? [])]
  if (gone > 0) footer.push(`${gone} server(s) left since the last refresh`)
  // Lines available for rows: the terminal minus title, header, rule, footer and one spare line
  // (the cursor's), so the frame never scrolls.
  const room =
    input.tty && input.height !== undefined
      ? Math.max(1, input.height - 4 - footer.length)
      : Infinity
  const shown = body.length > room ? room - 1 : body.length
  const rowLines = body.slice(0, shown).map((line, i) => {
    const key = input.rows[i]?.key ?? ''
    const mark = changedSet.has(key) ? '* ' : '  '
    if (input.tty && changedSet.has(key)) return `${ESC.highlight}${mark}${line}${ESC.reset}`
    return mark + line
  })
  if (shown < body.length) rowLines.push(`  … ${body.length - shown} more`)
  const lines = [input.title, `  ${header}`, `  ${rule}`, ...rowLines, ...footer]
  const text = input.tty
    ? ESC.home + lines.map(l => l + ESC.eraseLine).join('\n') + '\n' + ESC.eraseBelow
    : lines.join('\n') + '\n\n'
  return { text, changed, gone, state }
}
