import { TrackerError } from '../../errors.js'
import type { Logger } from '../../log.js'
import type { Daemon } from '../../tracker/daemon.js'
import { daemonView } from '../../ops/daemon-view.js'
import { LISTING_KINDS, type ListingSpec } from '../../observe/listing-render.js'
import { Observers } from '../../observe/observers.js'
import { EMPTY_OPERATOR, type OperatorInfo } from '../../observe/view.js'
import { isValidNetwork } from '../../wire/record.js'
import { VERSION } from '../../version.js'

/*
 * `serve`'s observers in one place: the HTTP port and addresses, the listing ports and the
 * operator info, as the configuration names them (`http`, `http.host`, `listing`, `operator`;
 * src/ops/config.ts reads them). The `--listing` syntax is parsed here.
 */

export interface ObserveSettings {
  /** 0 = any free port, null = none. */
  http: number | null
  /** Where HTTP binds; null or absent = the tracker's hosts. */
  httpHosts?: readonly string[] | null
  listing: ListingSpec[]
  operator: OperatorInfo
}

export const DEFAULT_HTTP_PORT = 3521

function bad(option: string, value: string, rule: string): TrackerError {
  return new TrackerError(
    'CONFIG_BAD_OPTION',
    `${option} must be ${rule} (got ${JSON.stringify(value.slice(0, 200))})`,
  )
}

function port(option: string, text: string, allowOff: boolean): number | null {
  if (allowOff && /^(off|none|null)$/i.test(text)) return null
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535)
    throw bad(option, text, `a port from 0 to 65535${allowOff ? ', or off' : ''}`)
  return Number(text)
}

/** `text:3522:quake.example`, `verbose:3523`, `info:3525:motd.txt` (the file may hold colons). */
export function parseListingSpec(text: string): ListingSpec {
  const [kind = '', portText = '', ...rest] = text.split(':')
  const arg = rest.join(':')
  const k = LISTING_KINDS.find(x => x === kind)
  if (k === undefined)
    throw bad('--listing', text, `KIND:PORT[:ARG] with KIND one of ${LISTING_KINDS.join(', ')}`)
  const p = port('--listing', portText, false) ?? 0
  if (k === 'info') {
    if (arg === '') throw bad('--listing', text, 'info:PORT:FILE (an info port sends a file)')
    return { port: p, kind: k, file: arg }
  }
  if (arg === '') return { port: p, kind: k }
  if (!isValidNetwork(arg))
    throw bad('--listing', text, 'KIND:PORT:NETWORK with a valid network name')
  return { port: p, kind: k, network: arg }
}

/** The settings from serve's flags; throws CONFIG_BAD_OPTION naming the flag. */
export function observeSettings(flags: { http?: string; listing?: string[] }): ObserveSettings {
  return {
    http: flags.http === undefined ? DEFAULT_HTTP_PORT : port('--http', flags.http, true),
    listing: (flags.listing ?? []).map(parseListingSpec),
    operator: EMPTY_OPERATOR,
  }
}

/** Nobody is exempt from the flood budget unless the caller says so. */
const nothingExempt = (): boolean => false

/**
 * Start the observers of a started daemon on its hosts (HTTP on `httpHosts` when given); they
 * share the daemon's flood budget, except the operator's pages for `exempt` addresses. Close
 * them with the daemon's listeners (TrackerRuntime.attach).
 */
export function startObserve(
  daemon: Daemon,
  settings: ObserveSettings,
  logger: Logger,
  exempt: (address: string) => boolean = nothingExempt,
): Promise<Observers> {
  return Observers.start(
    daemonView(daemon, settings.operator),
    {
      hosts: daemon.options.host,
      httpHosts: settings.httpHosts ?? null,
      http: settings.http,
      listing: settings.listing,
      version: VERSION,
    },
    { logger, flood: daemon.flood, exempt },
  )
}
