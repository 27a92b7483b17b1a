import { pino } from 'pino'
import type { Logger } from '../log.js'
import type { LogLevel } from '../ops/config.js'

/**
 * The library's Logger backed by pino on stderr (fd 2, synchronous so nothing is lost at exit):
 * one JSON line per notable event. stdout stays free for the command's own output (serve's
 * single "listening" line).
 */
export function stderrLogger(level: LogLevel): Logger {
  const log = pino({ level, base: null }, pino.destination({ fd: 2, sync: true }))
  return {
    debug: (f, m) => {
      log.debug(f, m)
    },
    info: (f, m) => {
      log.info(f, m)
    },
    warn: (f, m) => {
      log.warn(f, m)
    },
    error: (f, m) => {
      log.error(f, m)
    },
  }
}
