import { createHmac, randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { type ErrorCode, ERROR_CODES, TrackerError, isTrackerError } from '../errors.js'
import { Limits, WIRE_ERROR_REASONS, WireErrorCode } from '../wire/constants.js'
import type { QuerySort } from '../wire/messages.js'
import { VERSION } from '../version.js'
import { isValidNetwork } from '../wire/record.js'
import { entryJson } from './entry-json.js'
import type { TrackerMetrics } from './metrics.js'
import { reuseMs, timed } from './reuse.js'
import {
  ANY_SERVER,
  type AnnounceOutcome,
  type ServerFilter,
  type TrackerView,
  type WireErrorName,
} from './view.js'
import type { WebPages } from './web-pages.js'

/*
 * The HTTP routes, transport-free: (method, URL, remote address, a body reader) in, status +
 * headers + body out. The listener (`http-listener.ts`) owns sockets, limits and timeouts; this
 * module owns what each path means. Query values are validated strictly (unknown or repeated
 * parameters are refused) and never echoed back.
 */

export interface HttpRequestInfo {
  method: string
  url: string
  /** The client's address, canonical text (the sample seed depends on it). */
  remoteAddress: string
  /** The connection's source port (an HTTP announce's source, protocol §12). */
  remotePort?: number
  /** The Content-Type header, as sent. */
  contentType?: string
  /**
   * Read the request body, at most `max` bytes: null when it is longer (or declares to be,
   * then nothing is read). Absent: the request has no body to read.
   */
  readBody?: (max: number) => Promise<Uint8Array | null>
}

export interface HttpReply {
  status: number
  headers: Record<string, string>
  body: string
}

export interface HttpApiOptions {
  version: string
  /** Longest request target accepted, in bytes. */
  maxUrl: number
  /** Entries `/v1/peers` returns when `count` is not given. */
  defaultPeerCount: number
  /** The same asker gets the same `/v1/peers` sample within one window (protocol §8.5). */
  sampleWindowMs: number
  /** How long a `/v1/servers` answer is reused for the same query. */
  cacheMs: number
  /** Key of the per-asker sample seed; random per process when absent. */
  sampleSecret?: Uint8Array
}

export const DEFAULT_HTTP_API_OPTIONS: HttpApiOptions = {
  version: VERSION,
  maxUrl: 2048,
  defaultPeerCount: 20,
  sampleWindowMs: 30_000,
  cacheMs: 1_000,
}

/** Map from error code to HTTP status. */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  HTTP_NOT_FOUND: 404,
  HTTP_METHOD_NOT_ALLOWED: 405,
  HTTP_URL_TOO_LONG: 414,
  HTTP_BAD_QUERY: 400,
  HTTP_BAD_REQUEST: 400,
  HTTP_TIMEOUT: 408,
  HTTP_RATE_LIMITED: 429,
  HTTP_INTERNAL: 500,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
}

/**
 * The HTTP status of an announce refused by the rules of protocol §8.3 (the JSON error carries
 * the §6 name): the request (400, 422), the key or its signature (403), its sequence (409), the
 * source's budget (429), the tracker's room (507) or the tracker itself (500, 503).
 */
export const ANNOUNCE_STATUS: Readonly<Record<WireErrorName, number>> = {
  MALFORMED: 400,
  BAD_SIGNATURE: 403,
  DENIED: 403,
  STALE_SEQUENCE: 409,
  EXPIRED: 422,
  BAD_TIME: 422,
  UNKNOWN_NETWORK: 422,
  UNSUPPORTED: 422,
  RATE_LIMITED: 429,
  TABLE_FULL: 507,
  BLOCK_FULL: 507,
  OVERLOADED: 503,
  INTERNAL: 500,
}

/** The path of HTTP registration (protocol §12). */
export const ANNOUNCE_PATH = '/v1/announce'
const ANNOUNCE_TYPE = 'application/octet-stream'

const BASE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/** A JSON body with the common headers; `/v1/*` and `/healthz` may be read cross-origin. */
export function jsonReply(status: number, value: unknown, cors = false): HttpReply {
  const headers: Record<string, string> = {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
  }
  if (cors) headers['access-control-allow-origin'] = '*'
  return { status, headers, body: JSON.stringify(value) + '\n' }
}

/** `{"error":{"code","message"}}` with the status the code maps to. */
export function errorReply(
  code: ErrorCode,
  message: string = ERROR_CODES[code],
  extra: Record<string, string> = {},
): HttpReply {
  const reply = jsonReply(STATUS_OF[code] ?? 500, { error: { code, message } })
  Object.assign(reply.headers, extra)
  return reply
}

/** A bad query string: HTTP_BAD_QUERY, answered 400 with the message naming the parameter. */
function badQuery(message: string): TrackerError {
  return new TrackerError('HTTP_BAD_QUERY', message)
}

/** Strict reader of a query string: every parameter known, each once (unless repeatable). */
class QueryReader {
  readonly #params: URLSearchParams
  readonly #used = new Set<string>()

  constructor(params: URLSearchParams) {
    this.#params = params
  }

  all(name: string, max: number): string[] {
    this.#used.add(name)
    const v = this.#params.getAll(name)
    if (v.length > max) throw badQuery(`${name} may be given at most ${max} times`)
    return v
  }

  one(name: string): string | undefined {
    const v = this.all(name, 1)
    return v[0]
  }

  network(): string {
    const v = this.one('network')
    if (v === undefined || !isValidNetwork(v))
      throw badQuery('network is required: 1-32 characters of a-z 0-9 . _ - ')
    return v
  }

  int(name: string, min: number, max: number, fallback: number): number {
    const v = this.one(name)
    if (v === undefined) return fallback
    if (!/^[0-9]{1,6}$/.test(v) || Number(v) < min || Number(v) > max)
      throw badQuery(`${name} must be an integer ${min}-${max}`)
    return Number(v)
  }

  flag(name: string): boolean {
    const v = this.one(name)
    if (v === undefined || v === '0' || v === 'false') return false
    if (v === '1' || v === 'true' || v === '') return true
    throw badQuery(`${name} must be 1, 0, true or false`)
  }

  text(name: string, maxBytes: number): string {
    const v = this.one(name) ?? ''
    if (Buffer.byteLength(v) > maxBytes || hasControl(v))
      throw badQuery(`${name} must be at most ${maxBytes} bytes of text`)
    return v
  }

  /** Refuse any parameter no reader asked for (a typo would otherwise be ignored silently). */
  done(): void {
    for (const k of this.#params.keys()) {
      if (!this.#used.has(k)) throw badQuery('unknown query parameter')
    }
  }
}

// Control characters are refused by the codec in every record string, so no filter holding one
// can match anything: refuse it as a bad value.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

function hasControl(s: string): boolean {
  return CONTROL.test(s)
}

/** `type/subtype` of a Content-Type header, lower case, without parameters ('' when absent). */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

/** The path of a request target, without its query. */
function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/** The JSON reply to an announce (protocol §12). */
export function announceReply(o: AnnounceOutcome): HttpReply {
  if (o.ok) {
    return jsonReply(200, {
      status: o.status,
      observed: { family: o.observed.family, address: o.observed.address, port: o.observed.port },
      interval: o.interval,
    })
  }
  const error: Record<string, string | number> = {
    code: o.error,
    message: WIRE_ERROR_REASONS[WireErrorCode[o.error]],
  }
  if (o.retryAfter > 0) error.retryAfter = o.retryAfter
  const reply = jsonReply(ANNOUNCE_STATUS[o.error], { error })
  if (o.retryAfter > 0) reply.headers['retry-after'] = String(o.retryAfter)
  return reply
}

const SORTS: readonly QuerySort[] = ['players', 'name', 'room']
const NO_SEED = new Uint8Array(32)

export class HttpApi {
  readonly #view: TrackerView
  readonly #pages: WebPages
  readonly #metrics: TrackerMetrics
  readonly #opts: HttpApiOptions
  readonly #secret: Uint8Array
  readonly #cache: LRUCache<string, HttpReply>

  constructor(
    view: TrackerView,
    pages: WebPages,
    metrics: TrackerMetrics,
    options: Partial<HttpApiOptions> = {},
  ) {
    this.#view = view
    this.#pages = pages
    this.#metrics = metrics
    this.#opts = { ...DEFAULT_HTTP_API_OPTIONS, ...options }
    this.#secret = this.#opts.sampleSecret ?? randomBytes(32)
    this.#cache = new LRUCache({
      max: 256,
      ttl: Math.max(1, this.#opts.cacheMs),
      ttlAutopurge: false,
      ttlResolution: 0,
      perf: { now: () => view.clock.now() },
    })
  }

  /**
   * Answer one request; a null reply means no answer (close the connection). Throws only on a
   * bug or a vanished connection (the listener answers a coded 500 when it still can).
   */
  async handle(req: HttpRequestInfo): Promise<{ route: string; reply: HttpReply | null }> {
    if (pathOf(req.url) === ANNOUNCE_PATH && this.#view.announce !== undefined) {
      return { route: ANNOUNCE_PATH, reply: await this.#announce(req) }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return {
        route: 'other',
        reply: errorReply('HTTP_METHOD_NOT_ALLOWED', undefined, { allow: 'GET, HEAD' }),
      }
    }
    if (Buffer.byteLength(req.url) > this.#opts.maxUrl) {
      return { route: 'other', reply: errorReply('HTTP_URL_TOO_LONG') }
    }
    let url: URL
    try {
      url = new URL(req.url, 'http://tracker.invalid')
    } catch {
      return { route: 'other', reply: errorReply('HTTP_BAD_REQUEST') }
    }
    const route = url.pathname
    const q = new QueryReader(url.searchParams)
    try {
      switch (route) {
        case '/':
          q.done()
          return { route, reply: this.#pages.statusPage() }
        case '/healthz':
          q.done()
          return { route, reply: this.#health() }
        case '/metrics':
          q.done()
          return { route, reply: await this.#prometheus() }
        case '/v1/peers':
          return { route, reply: this.#peers(q, req.remoteAddress) }
        case '/v1/servers':
          return { route, reply: this.#servers(q, url.searchParams) }
        default: {
          // The status data, the server browser and their files (web-pages.ts).
          const page = this.#pages.handle(route)
          if (page !== null) q.done()
          return page ?? { route: 'other', reply: errorReply('HTTP_NOT_FOUND') }
        }
      }
    } catch (err) {
      if (isTrackerError(err) && err.code === 'HTTP_BAD_QUERY') {
        const reply = errorReply(err.code, err.message)
        // A cross-origin reader of /v1/* (a static /browse page) must see why it got a 400.
        if (route.startsWith('/v1/')) reply.headers['access-control-allow-origin'] = '*'
        return { route, reply }
      }
      throw err
    }
  }

  /** `POST /v1/announce` (protocol §12): the signed record bytes, answered in JSON. */
  async #announce(req: HttpRequestInfo): Promise<HttpReply | null> {
    const view = this.#view
    if (req.method !== 'POST' || view.announce === undefined) {
      return errorReply('HTTP_METHOD_NOT_ALLOWED', undefined, { allow: 'POST' })
    }
    if (Buffer.byteLength(req.url) > this.#opts.maxUrl) return errorReply('HTTP_URL_TOO_LONG')
    if (req.url !== ANNOUNCE_PATH) {
      return errorReply('HTTP_BAD_QUERY', 'unknown query parameter')
    }
    if (mediaType(req.contentType) !== ANNOUNCE_TYPE) {
      return errorReply('HTTP_UNSUPPORTED_MEDIA_TYPE')
    }
    const body =
      req.readBody === undefined ? new Uint8Array(0) : await req.readBody(Limits.RECORD_MAX)
    if (body === null) return errorReply('HTTP_BODY_TOO_LARGE')
    const outcome = await view.announce(body, {
      address: req.remoteAddress,
      port: req.remotePort ?? 0,
    })
    return outcome === null ? null : announceReply(outcome)
  }

  #health(): HttpReply {
    const uptime = Math.max(0, Math.floor((this.#view.clock.now() - this.#view.startedAt) / 1000))
    return jsonReply(200, { status: 'ok', uptime }, true)
  }

  async #prometheus(): Promise<HttpReply> {
    const body = await this.#metrics.registry.metrics()
    return {
      status: 200,
      headers: { ...BASE_HEADERS, 'content-type': this.#metrics.registry.contentType },
      body,
    }
  }

  #peers(q: QueryReader, asker: string): HttpReply {
    const network = q.network()
    const count = q.int('count', 1, Limits.QUERY_COUNT_MAX, this.#opts.defaultPeerCount)
    const unproven = q.flag('unproven')
    q.done()
    const now = this.#view.clock.now()
    // One asker (by address: HTTP source ports change per connection) asking the same thing
    // within one window gets the same sample, as on the wire (protocol §8.5).
    const window = Math.floor(now / Math.max(1, this.#opts.sampleWindowMs))
    const seed = createHmac('sha256', this.#secret)
      .update(`${asker}|${window}|${network}|${count}|${unproven ? 1 : 0}`)
      .digest()
    const sel = this.#view.select({
      ...ANY_SERVER,
      network,
      kind: 'peer',
      mode: 'sample',
      count,
      offset: 0,
      sort: 'players',
      seed,
      unproven,
    })
    return jsonReply(
      200,
      {
        network,
        kind: 'peer',
        mode: 'sample',
        total: sel.total,
        entries: sel.entries.map(e => entryJson(e, now)),
      },
      true,
    )
  }

  #servers(q: QueryReader, params: URLSearchParams): HttpReply {
    const network = q.network()
    const filter: ServerFilter = {
      world: q.text('world', Limits.WORLD_MAX),
      version: q.text('version', Limits.VERSION_MAX),
      notFull: q.flag('notFull'),
      tags: q.all('tag', Limits.QUERY_TAGS_MAX),
    }
    for (const t of filter.tags) {
      if (t === '' || Buffer.byteLength(t) > Limits.TAG_MAX || hasControl(t))
        throw badQuery(`tag must be 1-${Limits.TAG_MAX} bytes of text`)
    }
    const best = q.flag('best')
    const unproven = q.flag('unproven')
    const count = q.int('count', 1, Limits.QUERY_COUNT_MAX, Limits.QUERY_COUNT_MAX)
    const offset = q.int('offset', 0, 0xffff, 0)
    const sortText = q.one('sort') ?? 'players'
    const sort = SORTS.find(s => s === sortText)
    if (sort === undefined) throw badQuery('sort must be players, name or room')
    q.done()
    // The same query is answered from the cache for cacheMs, or longer when it was costly
    // (reuse.ts), so a busy client costs at most a small share of the event loop.
    const key = JSON.stringify([...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const now = this.#view.clock.now()
    const { value: reply, costMs } = timed(() => {
      const sel = this.#view.select({
        ...filter,
        network,
        kind: 'server',
        mode: best ? 'best' : 'list',
        count,
        offset,
        sort,
        seed: NO_SEED,
        unproven,
      })
      return jsonReply(
        200,
        {
          network,
          kind: 'server',
          mode: best ? 'best' : 'list',
          total: sel.total,
          entries: sel.entries.map(e => entryJson(e, now)),
        },
        true,
      )
    })
    this.#cache.set(key, reply, { ttl: reuseMs(Math.max(1, this.#opts.cacheMs), costMs) })
    return reply
  }
}
