import { ManualClock } from '../../src/clock.js'
import { makeCookie } from '../../src/crypto/cookie.js'
import { silentLogger } from '../../src/log.js'
import type { ClientTable } from '../../src/table/client-table.js'
import { createProver, createTable } from '../../src/tracker/engine.js'
import { CookieBudget } from '../../src/throttle/flood.js'
import { type CookieGate, type FloodGate, openFloodGate } from '../../src/throttle/types.js'
import { createAddressMatcher } from '../../src/tracker/handlers/allow-list.js'
import {
  type HandlerContext,
  type Reply,
  type Source,
  type Transport,
  deriveSampleKey,
  handleRequest,
} from '../../src/tracker/handlers/index.js'
import { createMemo, sourceFrom } from '../../src/tracker/handlers/context.js'
import { type DaemonOptions, resolveOptions } from '../../src/tracker/options.js'
import { type DenyPolicy, allowAll } from '../../src/tracker/policy.js'
import { Stats } from '../../src/tracker/stats.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'

/** Transport-free harness: a handler context on a ManualClock, no sockets. */
export interface Harness {
  ctx: HandlerContext
  clock: ManualClock
  table: ClientTable
  stats: Stats
  /** A source (throws on a bad literal). */
  source(address: string, port: number): Source
  /** A valid cookie for `src` at the clock's current time. */
  cookieFor(src: Source): Uint8Array
  /** Raw bytes in, raw reply out. */
  raw(data: Uint8Array, src: Source, transport?: Transport): Reply | null
  /** A message in (its cookie replaced by a valid one for src on UDP), the decoded reply out. */
  send(m: Message, src: Source, transport?: Transport): Message | null
  nowSeconds(): number
}

export function harness(
  options: Partial<DaemonOptions> = {},
  deps: { flood?: FloodGate; cookies?: CookieGate; deny?: DenyPolicy; clock?: ManualClock } = {},
): Harness {
  // listUnproven as in test/helpers/tracker.ts: scenarios name documentation addresses, never
  // challenged; proof tests pass listUnproven: false.
  const o = resolveOptions({ udp: 0, tcp: 0, listUnproven: true, ...options })
  const clock = deps.clock ?? new ManualClock()
  const table = createTable(o, clock)
  const stats = new Stats()
  const secret = new Uint8Array(32).fill(7)
  const ctx: HandlerContext = {
    options: o,
    table,
    stats,
    clock,
    logger: silentLogger,
    flood: deps.flood ?? openFloodGate,
    cookies:
      deps.cookies ??
      new CookieBudget({ rate: o.cookieRate, blockRate: o.cookieBlockRate }, { clock, seed: 1 }),
    operators: createAddressMatcher(o.operatorAllow),
    deny: deps.deny ?? allowAll,
    cookieSecret: secret,
    sampleKey: deriveSampleKey(secret),
    memo: createMemo(),
    prover: createProver(o, { table, deny: deps.deny ?? allowAll, clock, stats }),
  }
  const nowSeconds = (): number => Math.floor(clock.now() / 1000)
  const h: Harness = {
    ctx,
    clock,
    table,
    stats,
    nowSeconds,
    source(address, port) {
      const s = sourceFrom(address, port)
      if (s === null) throw new Error(`bad source ${address}:${port}`)
      return s
    },
    cookieFor: src => makeCookie(secret, nowSeconds(), src.ip16, src.port),
    raw: (data, src, transport = 'udp') => handleRequest(ctx, data, src, transport),
    send(m, src, transport = 'udp') {
      const msg =
        'cookie' in m && m.type !== 'cookie-reply' ? { ...m, cookie: h.cookieFor(src) } : m
      const reply = h.raw(encodeMessage(msg), src, transport)
      return reply === null ? null : decodeMessage(reply.bytes)
    },
  }
  return h
}
