import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { Socket } from 'node:net'
import { type Logger, silentLogger } from '../log.js'
import { listenOn } from '../net/bind.js'
import { type FloodGate, type FloodVerdict, openFloodGate } from '../throttle/types.js'
import { endpointFrom } from '../wire/endpoint.js'
import { clientAddress } from './forwarded.js'
import { type HttpApi, type HttpReply, errorReply } from './http-api.js'
import type { TrackerMetrics } from './metrics.js'

/*
 * The HTTP listener: node:http (no framework: five GET routes and one POST need no router, and
 * node:http has every limit we want built in). Bounded everywhere: header size and
 * header/request timeouts, idle keep-alive, requests per socket, connection count; GET and HEAD,
 * and POST of one record on /v1/announce (read only up to its cap, refused unread beyond it); a
 * request body not read in full is a reason to close the connection after answering. Transport
 * errors become coded JSON replies when the socket can still take one, and never escape.
 */

export interface HttpListenerOptions {
  /** Literal addresses to bind; every one gets the same port (the first one's when 0). */
  hosts: readonly string[]
  /** 0 = any free port. */
  port: number
  maxConnections: number
  /** Largest request head (request line and headers), bytes. */
  maxHeaderBytes: number
  /** Time allowed to receive the request head, ms. */
  headersTimeoutMs: number
  /** Time allowed to receive the whole request, ms. */
  requestTimeoutMs: number
  /** Idle time between keep-alive requests, ms. */
  keepAliveTimeoutMs: number
  maxRequestsPerSocket: number
}

export const DEFAULT_HTTP_LISTENER_OPTIONS: Omit<HttpListenerOptions, 'hosts' | 'port'> = {
  maxConnections: 128,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 100,
}

export interface HttpListenerDeps {
  logger?: Logger
  flood?: FloodGate
  metrics?: TrackerMetrics
  /**
   * Addresses (canonical text, IPv4-mapped given as IPv4) whose requests for the operator's
   * pages (`OPERATOR_PATHS`) are not charged to the flood budget, so monitoring keeps working
   * through a public flood. Default: nothing is exempt.
   */
  exempt?: (address: string) => boolean
  /**
   * Reverse proxies (the connection's address, canonical text) whose `X-Forwarded-For` names the
   * client (forwarded.ts). Default: none, the header is ignored.
   */
  trustProxy?: (address: string) => boolean
}

/** The status page (and what it loads), health check and metrics: what an operator polls. */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set([
  '/',
  '/status.json',
  '/assets/status.js',
  '/assets/web.css',
  '/healthz',
  '/metrics',
])

const nothingExempt = (): boolean => false

/** The path of a request target, without its query (`/metrics?x` -> `/metrics`). */
function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

/** Whether a listener is closing: a request whose body arrives after that is not handled. */
interface Closing {
  closing: boolean
}

export class HttpListener {
  readonly #servers: Server[]
  readonly #logger: Logger
  readonly #state: Closing = { closing: false }
  #closing: Promise<void> | null = null

  private constructor(servers: Server[], logger: Logger) {
    this.#servers = servers
    this.#logger = logger
  }

  /** Bind every host; resolves once all are listening, rejects (and closes) if one fails. */
  static async start(
    api: HttpApi,
    options: Pick<HttpListenerOptions, 'hosts' | 'port'> & Partial<HttpListenerOptions>,
    deps: HttpListenerDeps = {},
  ): Promise<HttpListener> {
    const opts = { ...DEFAULT_HTTP_LISTENER_OPTIONS, ...options }
    const logger = deps.logger ?? silentLogger
    const servers: Server[] = []
    const listener = new HttpListener(servers, logger)
    let port = opts.port
    try {
      for (const host of opts.hosts) {
        const server = makeServer(api, opts, { ...deps, logger }, listener.#state)
        servers.push(server)
        port = await listenOn(server, 'http', host, port, opts.hosts)
      }
    } catch (err) {
      await listener.close()
      throw err
    }
    logger.info({ port, hosts: opts.hosts }, 'http listening')
    return listener
  }

  /** The bound port (the same on every host). */
  get port(): number {
    const addr = this.#servers[0]?.address()
    return addr !== null && typeof addr === 'object' ? addr.port : 0
  }

  /** Stop accepting, drop open connections; idempotent. */
  close(): Promise<void> {
    this.#state.closing = true
    this.#closing ??= Promise.all(
      this.#servers.map(
        s =>
          new Promise<void>(resolve => {
            s.close(() => {
              resolve()
            })
            s.closeAllConnections()
          }),
      ),
    ).then(() => {
      this.#logger.debug({}, 'http closed')
    })
    return this.#closing
  }
}

const PASS: FloodVerdict = { action: 'pass' }

function makeServer(
  api: HttpApi,
  opts: HttpListenerOptions,
  deps: HttpListenerDeps & { logger: Logger },
  state: Closing,
): Server {
  const flood = deps.flood ?? openFloodGate
  const server = createServer(
    {
      maxHeaderSize: opts.maxHeaderBytes,
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      keepAliveTimeout: opts.keepAliveTimeoutMs,
      // Timeouts are checked on this interval (Node's default, 30 s, would let a slow client
      // hold a connection three times longer than requestTimeout says).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      serve(api, req, res, flood, deps, state).catch((err: unknown) => {
        // serve() answers every expected failure itself; this is a bug or a vanished socket.
        deps.logger.error({ err: String(err) }, 'http handler failed')
        res.destroy()
      })
    },
  )
  // `Expect: 100-continue`: the interim answer is sent only when the body is about to be read
  // (readBody), so a body refused from its head (413, 415, 405, ...) is never invited.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    server.emit('request', req, res)
  })
  server.maxConnections = opts.maxConnections
  server.maxRequestsPerSocket = opts.maxRequestsPerSocket
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    clientError(err, socket)
  })
  return server
}

async function serve(
  api: HttpApi,
  req: IncomingMessage,
  res: ServerResponse,
  flood: FloodGate,
  deps: HttpListenerDeps & { logger: Logger },
  state: Closing,
): Promise<void> {
  const remote = endpointFrom(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0)
  const peer = remote?.address ?? 'unknown'
  // Behind a listed reverse proxy the client is named by X-Forwarded-For; otherwise the header
  // is ignored. The client is who is charged, exempted and (on /v1/announce) observed.
  const address =
    remote === null
      ? peer
      : clientAddress(peer, req.headers['x-forwarded-for'], deps.trustProxy ?? nothingExempt)
  const method = req.method ?? ''
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  let route = 'other'
  let reply: HttpReply | null
  const exempt = deps.exempt ?? nothingExempt
  const free = OPERATOR_PATHS.has(pathOf(req.url ?? '')) && exempt(address)
  const verdict = free ? PASS : flood.check(address)
  if (verdict.action === 'drop') {
    deps.metrics?.httpRequests.inc({ route, code: 'dropped' })
    req.socket.destroy()
    return
  }
  if (verdict.action === 'warn') {
    reply = errorReply('HTTP_RATE_LIMITED', undefined, {
      'retry-after': String(verdict.retryAfter),
    })
  } else {
    try {
      ;({ route, reply } = await api.handle({
        method,
        url: req.url ?? '',
        remoteAddress: address,
        remotePort: remote?.port ?? 0,
        ...(req.headers['content-type'] === undefined
          ? {}
          : { contentType: req.headers['content-type'] }),
        readBody: max => readBody(req, res, max, state),
      }))
    } catch (err) {
      // A connection that went away while its body was read is no failure of ours.
      if (err instanceof BodyAborted || req.socket.destroyed) {
        deps.metrics?.httpRequests.inc({ route, code: 'dropped' })
        req.socket.destroy()
        return
      }
      deps.logger.error({ err: String(err), url: req.url?.slice(0, 200) }, 'http request failed')
      reply = errorReply('HTTP_INTERNAL')
    }
  }
  if (reply === null) {
    // No answer (a denied source, a tracker stopping): close, as TCP does (protocol §8.10).
    deps.metrics?.httpRequests.inc({ route, code: 'dropped' })
    req.socket.destroy()
    return
  }
  deps.metrics?.httpRequests.inc({ route, code: String(reply.status) })
  const body = Buffer.from(reply.body)
  const headers: Record<string, string> = {
    ...reply.headers,
    'content-length': String(body.byteLength),
  }
  // A body not read in full (refused, too large, or sent where none is read) or a refused
  // method: answer, then close, so the rest of the body is never read.
  if ((hasBody && !req.complete) || reply.status === 405) headers.connection = 'close'
  res.writeHead(reply.status, headers)
  res.end(method === 'HEAD' ? undefined : body)
}

/** The connection closed, or the listener began closing, while the body was read. */
class BodyAborted extends Error {}

/**
 * Read a request body of at most `max` bytes: null, having read nothing more, when it declares
 * a longer Content-Length or turns out longer (chunked). Rejects with BodyAborted when the
 * connection goes away first (the request timeout bounds a slow body).
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  max: number,
  state: Closing,
): Promise<Uint8Array | null> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > max) return Promise.resolve(null)
  if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue()
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let length = 0
    const done = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      req.off('error', onClose)
    }
    const onData = (chunk: Buffer): void => {
      length += chunk.byteLength
      if (length > max) {
        done()
        req.pause()
        resolve(null)
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      done()
      if (state.closing) reject(new BodyAborted('listener closing'))
      else resolve(new Uint8Array(Buffer.concat(chunks)))
    }
    const onClose = (): void => {
      done()
      reject(new BodyAborted('connection closed'))
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.on('error', onClose)
  })
}

/** Errors Node raises before a request exists: answer with a coded JSON error if we can. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy()
    return
  }
  let reply: HttpReply
  let reason: string
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    reply = errorReply('HTTP_BAD_REQUEST', 'request head too large')
    reply.status = 431
    reason = 'Request Header Fields Too Large'
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    reply = errorReply('HTTP_TIMEOUT')
    reason = 'Request Timeout'
  } else {
    reply = errorReply('HTTP_BAD_REQUEST')
    reason = 'Bad Request'
  }
  const body = Buffer.from(reply.body)
  const head = [`HTTP/1.1 ${reply.status} ${reason}`]
  for (const [k, v] of Object.entries(reply.headers)) head.push(`${k}: ${v}`)
  head.push(`content-length: ${body.byteLength}`, 'connection: close', '', '')
  socket.end(Buffer.concat([Buffer.from(head.join('\r\n')), body]))
}
