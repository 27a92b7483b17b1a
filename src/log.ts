/**
 * The logger interface the library writes to: one structured line per notable event, never one
 * per packet by default. The CLI backs it with pino; the library default is silent.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void
  info(fields: Record<string, unknown>, msg: string): void
  warn(fields: Record<string, unknown>, msg: string): void
  error(fields: Record<string, unknown>, msg: string): void
}

const nothing = (): void => undefined
export const silentLogger: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing }
