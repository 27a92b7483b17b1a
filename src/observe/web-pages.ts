import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { HttpReply } from './http-api.js'
import { renderBrowsePage } from './browse-page.js'
import { ProcessHealth, type ProcessSource } from './process-health.js'
import { RateHistory, RateWindow } from './rates.js'
import { reuseMs, timed } from './reuse.js'
import { PAGE_CSP, STATUS_REFRESH_MS, renderStatusPage } from './status-page.js'
import { type StatusJson, historyKeeps, statusJson } from './status-json.js'
import type { TrackerView } from './view.js'

/*
 * The tracker's pages for people: the status page (`/`, kept live from `/status.json`), the
 * server browser (`/browse`, which verifies records in the browser), the network list it reads
 * (`/v1/networks`) and the same-origin files both load (`/assets/*`: the package's web/ folder,
 * bootpage/verify.js and tweetnacl, read once at start). Transport-free, like http-api.ts.
 */

/** The package's top-level web/ and bootpage/ folders (from src/observe or dist/observe). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url))
const BOOTPAGE_DIR = fileURLToPath(new URL('../../bootpage/', import.meta.url))

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}

/** `/assets/<name>` → the file served; nothing else under /assets exists. */
function assetFiles(): Record<string, string> {
  const require = createRequire(import.meta.url)
  return {
    'status.js': `${WEB_DIR}status.js`,
    'browse.js': `${WEB_DIR}browse.js`,
    'record.js': `${WEB_DIR}record.js`,
    'web.css': `${WEB_DIR}web.css`,
    'verify.js': `${BOOTPAGE_DIR}verify.js`,
    'nacl.js': require.resolve('tweetnacl/nacl-fast.min.js'),
  }
}

/** Read every asset once; a missing one is left out (answered 404) rather than fatal. */
export function loadWebAssets(): Map<string, string> {
  const out = new Map<string, string>()
  for (const [name, path] of Object.entries(assetFiles())) {
    try {
      out.set(name, readFileSync(path, 'utf8'))
    } catch {
      // left out: the pages still render, without their script or style
    }
  }
  return out
}

const HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

function html(body: string): HttpReply {
  return {
    status: 200,
    headers: {
      ...HEADERS,
      'cache-control': 'no-store',
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': PAGE_CSP,
      'x-frame-options': 'DENY',
    },
    body,
  }
}

function json(value: unknown, cors: boolean): HttpReply {
  const headers: Record<string, string> = {
    ...HEADERS,
    'cache-control': 'no-store',
    'content-type': 'application/json; charset=utf-8',
  }
  if (cors) headers['access-control-allow-origin'] = '*'
  return { status: 200, headers, body: JSON.stringify(value) + '\n' }
}

export interface WebSources {
  view: TrackerView
  version: string
  minute: RateWindow
  hour: RateHistory
  health: ProcessHealth
}

export interface WebPagesOptions {
  /** How long one `/status.json` answer (and the page built from it) is reused, ms. */
  cacheMs: number
  /** How often an open status page fetches `/status.json`, ms. */
  refreshMs: number
  /** The files under /assets (tests pass their own). */
  assets?: Map<string, string>
}

export class WebPages {
  readonly #src: WebSources
  readonly #cacheMs: number
  readonly #refreshMs: number
  readonly #assets: Map<string, string>
  #cached: { at: number; ttl: number; value: StatusJson } | null = null

  constructor(src: WebSources, options: Partial<WebPagesOptions> = {}) {
    this.#src = src
    this.#cacheMs = options.cacheMs ?? 2_000
    this.#refreshMs = options.refreshMs ?? STATUS_REFRESH_MS
    this.#assets = options.assets ?? loadWebAssets()
  }

  /**
   * The status model, reused for `cacheMs` (0: never), or for 20 times what it cost when that
   * is longer: however many pages are open, building it takes at most 1/20 of the event loop.
   */
  status(): StatusJson {
    const now = this.#src.view.clock.now()
    const c = this.#cached
    if (c !== null && now >= c.at && now - c.at < c.ttl) return c.value
    const { value, costMs } = timed(() =>
      statusJson({
        view: this.#src.view,
        version: this.#src.version,
        minute: this.#src.minute,
        hour: this.#src.hour,
        process: this.#src.health.figures,
      }),
    )
    // Reused for cacheMs, or longer when it was costly (reuse.ts): at most 1/20 of the loop.
    this.#cached = { at: now, ttl: this.#cacheMs <= 0 ? 0 : reuseMs(this.#cacheMs, costMs), value }
    return value
  }

  statusPage(): HttpReply {
    return html(renderStatusPage(this.status(), this.#src.view.stats(), this.#refreshMs))
  }

  /**
   * The routes besides `/`; null when `path` is none of them. None takes a query parameter:
   * `params` must be empty (a typo is refused by the caller as for every route).
   */
  handle(path: string): { route: string; reply: HttpReply } | null {
    switch (path) {
      case '/status.json':
        return { route: path, reply: json(this.status(), false) }
      case '/browse':
        return { route: path, reply: html(renderBrowsePage({ trackers: [''], bootpage: '' })) }
      case '/v1/networks':
        return {
          route: path,
          reply: json(
            {
              networks: this.status().networks.map(n => ({
                network: n.network,
                servers: n.servers,
                peers: n.peers,
              })),
            },
            true,
          ),
        }
    }
    if (!path.startsWith('/assets/')) return null
    const name = path.slice('/assets/'.length)
    const body = this.#assets.get(name)
    if (body === undefined) return null
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream'
    return {
      route: '/assets',
      reply: {
        status: 200,
        headers: { ...HEADERS, 'content-type': type, 'cache-control': 'max-age=300' },
        body,
      },
    }
  }
}

/**
 * Pages over fresh rate windows and a process sampler of their own, sampled once now: for
 * benchmarks and tests that drive an HttpApi without the Observers' timer.
 */
export function standaloneWebPages(
  view: TrackerView,
  version: string,
  options: Partial<WebPagesOptions> = {},
  source?: ProcessSource,
): WebPages {
  const minute = new RateWindow()
  const hour = new RateHistory(3_600_000, 60_000, historyKeeps)
  const health = new ProcessHealth(source)
  const now = view.clock.now()
  minute.record(now, view.stats())
  hour.record(now, view.stats())
  health.sample(now)
  return new WebPages({ view, version, minute, hour, health }, options)
}
