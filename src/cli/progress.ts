import type { CliIo } from './io.js'

/*
 * Status lines for long-running commands, always on stderr. They are coloured when stderr may
 * carry colours (`CliIo.colors.err`: a terminal, or FORCE_COLOR; never with NO_COLOR); otherwise
 * plain text (no ANSI). Progress chatter (which tracker is being asked) is shown only when stderr
 * is a terminal; state changes and warnings are always shown.
 */
const COLORS = { green: 32, red: 31, yellow: 33, dim: 2, bold: 1 } as const
export type Color = keyof typeof COLORS

export interface Reporter {
  /** A state change or warning: always printed. */
  note(text: string, color?: Color): void
  /** Progress chatter: printed only on a terminal. */
  progress(text: string): void
  paint(text: string, color: Color): string
}

export function reporter(io: CliIo, quiet = false): Reporter {
  const paint = (text: string, color: Color): string =>
    io.colors?.err === true ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text
  return {
    paint,
    note: (text, color) => {
      if (!quiet) io.err(color === undefined ? text : paint(text, color))
    },
    progress: text => {
      if (!quiet && io.interactive) io.err(paint(text, 'dim'))
    },
  }
}
