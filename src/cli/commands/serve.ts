import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { pino } from 'pino'
import { TrackerError } from '../../errors.js'
import type { Logger } from '../../log.js'
import { Daemon } from '../../tracker/daemon.js'
import { type DaemonOptions, parseSize } from '../../tracker/options.js'
import type { CliIo } from '../io.js'

interface ServeFlags {
  host: string[]
  udp?: string
  tcp?: string
  data?: string
  maxEntries?: string
  maxBytes?: string
  config?: string
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** What serve takes from a config file until the operations area's zod schema replaces it. */
export interface ServeConfig {
  options: Partial<DaemonOptions>
  logLevel: LogLevel
}

/** A value as the user wrote it, for error messages. */
function showValue(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined
  return text ?? typeof value
}

function bad(option: string, value: unknown, rule: string): TrackerError {
  return new TrackerError(
    'CONFIG_BAD_OPTION',
    `${option} must be ${rule} (got ${showValue(value)})`,
  )
}

function portValue(option: string, v: unknown): number | null {
  if (v === null) return null
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw bad(option, v, 'a port from 0 to 65535, or null to disable')
  }
  return n
}

function intValue(option: string, v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw bad(option, v, 'a non-negative integer')
  }
  return n
}

function sizeValue(option: string, v: unknown): number {
  const n = typeof v === 'string' || typeof v === 'number' ? parseSize(v) : null
  if (n === null) throw bad(option, v, 'a size such as 64MiB, 1GB or a number of bytes')
  return n
}

function stringList(option: string, v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v
  if (!Array.isArray(list) || !list.every(x => typeof x === 'string')) {
    throw bad(option, v, 'a list of strings')
  }
  return list
}

/**
 * Read the JSON config file (the keys of the brief's config contract that the tracker core
 * supports; other keys are left to the areas that own them). Replaced by src/tracker/config.ts.
 */
export async function readServeConfig(path: string): Promise<ServeConfig> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(path, 'utf8'))
  } catch (cause) {
    throw new TrackerError('CONFIG_READ_FAILED', `cannot read ${path} as JSON`, { cause })
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TrackerError('CONFIG_READ_FAILED', `${path} must hold a JSON object`)
  }
  const c = raw as Record<string, unknown>
  const o: Partial<DaemonOptions> = {}
  if (c.host !== undefined) o.hosts = stringList('host', c.host)
  if (c.udp !== undefined) o.udpPort = portValue('udp', c.udp)
  if (c.tcp !== undefined) o.tcpPort = portValue('tcp', c.tcp)
  if (c.data !== undefined) {
    if (typeof c.data !== 'string') throw bad('data', c.data, 'a directory path')
    o.dataDir = c.data
  }
  if (c.maxEntries !== undefined) o.maxEntries = intValue('maxEntries', c.maxEntries)
  if (c.maxBytes !== undefined) o.maxBytes = sizeValue('maxBytes', c.maxBytes)
  if (c.maxTtl !== undefined) o.maxTtl = intValue('maxTtl', c.maxTtl)
  if (c.announceInterval !== undefined) {
    o.announceInterval = intValue('announceInterval', c.announceInterval)
  }
  if (c.perBlock !== undefined) o.perBlockMax = intValue('perBlock', c.perBlock)
  if (c.networks !== undefined) o.networks = stringList('networks', c.networks)
  if (c.sampleWindow !== undefined) o.sampleWindow = intValue('sampleWindow', c.sampleWindow)
  let logLevel: LogLevel = 'info'
  const log = c.log as { level?: unknown } | undefined
  if (log?.level !== undefined) {
    if (typeof log.level !== 'string' || !['debug', 'info', 'warn', 'error'].includes(log.level)) {
      throw bad('log.level', log.level, 'one of debug, info, warn, error')
    }
    logLevel = log.level as LogLevel
  }
  return { options: o, logLevel }
}

/** Command-line flags over the config file's values. */
export function flagsToOptions(flags: ServeFlags): Partial<DaemonOptions> {
  const o: Partial<DaemonOptions> = {}
  if (flags.host.length > 0) o.hosts = flags.host
  if (flags.udp !== undefined) o.udpPort = portValue('--udp', flags.udp)
  if (flags.tcp !== undefined) o.tcpPort = portValue('--tcp', flags.tcp)
  if (flags.data !== undefined) o.dataDir = flags.data
  if (flags.maxEntries !== undefined) o.maxEntries = intValue('--max-entries', flags.maxEntries)
  if (flags.maxBytes !== undefined) o.maxBytes = sizeValue('--max-bytes', flags.maxBytes)
  return o
}

/** pino on stderr (fd 2, synchronous so nothing is lost at exit): one JSON line per event. */
function stderrLogger(level: LogLevel): Logger {
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

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise(resolve => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(signal)
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run a tracker: UDP and TCP listeners on each --host, until SIGINT/SIGTERM')
    .option('--host <address>', 'address to listen on, repeatable (default 127.0.0.1)', collect, [])
    .option('--udp <port>', 'UDP port, 0 = any free port (default 3520)')
    .option('--tcp <port>', 'TCP port, 0 = any free port (default 3520)')
    .option('--data <dir>', 'data directory (default ./metatracker-data)')
    .option('--max-entries <n>', 'most entries in the client table (default 100000)')
    .option(
      '--max-bytes <size>',
      'byte budget of the client table, e.g. 64MiB, 1GB (default 64MiB)',
    )
    .option('--config <file>', 'JSON configuration file; flags override it')
    .action(async (flags: ServeFlags) => {
      const config =
        flags.config !== undefined
          ? await readServeConfig(flags.config)
          : { options: {}, logLevel: 'info' as const }
      const options = { ...config.options, ...flagsToOptions(flags) }
      const logger = stderrLogger(config.logLevel)
      const daemon = new Daemon(options, { logger })
      const stopped = untilSignal()
      await daemon.start()
      const a = daemon.addresses()
      io.out(
        JSON.stringify({
          event: 'listening',
          udp: a.udp,
          tcp: a.tcp,
          http: null,
          hosts: a.hosts,
          listing: [],
          listeners: a.listeners,
        }),
      )
      const signal = await stopped
      logger.info({ signal }, 'stopping')
      await daemon.close()
    })
}
