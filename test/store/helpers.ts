import { ManualClock } from '../../src/clock.js'
import { ClientTable } from '../../src/table/client-table.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js'
import type { TableStore } from '../../src/store/types.js'
import { parseStoreUrl } from '../../src/store/url.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import { T0 } from '../helpers/records.js'

export interface Limits {
  maxEntries: number
  maxBytes: number
  perBlock: number
  perWideBlock: number
  maxTtl: number
  replayMemory: number
  /** Redis only: buckets (the budget is exact LRU within one bucket; shares across several). */
  buckets?: number
}

export const LIMITS: Limits = {
  maxEntries: 1000,
  maxBytes: 10_000_000,
  perBlock: 1000,
  perWideBlock: 100_000,
  maxTtl: 3600,
  replayMemory: 1000,
}

export const ep = (address: string, port = 1000): Endpoint => ({
  family: address.includes(':') ? 6 : 4,
  address,
  port,
})

/** The table a memory store owns: the tracker's limits. */
export function memoryTable(l: Limits, clock: ManualClock): ClientTable {
  return new ClientTable({
    maxEntries: l.maxEntries,
    maxBytes: l.maxBytes,
    maxTtl: l.maxTtl,
    perBlockMax: l.perBlock,
    perWideBlockMax: l.perWideBlock,
    replayMemory: l.replayMemory,
    clock,
  })
}

/** A replica table: room beyond the store's budget and no caps of its own (the store has them). */
export function replicaTable(l: Limits, clock: ManualClock): ClientTable {
  return new ClientTable({
    maxEntries: 2 * l.maxEntries + 1024,
    maxBytes: 4 * l.maxBytes,
    maxTtl: l.maxTtl,
    perBlockMax: 1e9,
    perWideBlockMax: 1e9,
    replayMemory: l.replayMemory,
    clock,
  })
}

export function memoryStore(l: Limits = LIMITS): { store: TableStore; clock: ManualClock } {
  const clock = new ManualClock(T0 * 1000)
  return { store: new MemoryStore(memoryTable(l, clock)), clock }
}

let prefixes = 0

/** A RedisStore on `url` under a fresh prefix (or `prefix`), closed after the test. */
export async function redisStore(
  url: string,
  l: Limits = LIMITS,
  o: Partial<RedisStoreOptions> & { prefix?: string; buckets?: number; clock?: ManualClock } = {},
): Promise<{ store: RedisStore; clock: ManualClock }> {
  const clock = o.clock ?? new ManualClock(T0 * 1000)
  const prefix = o.prefix ?? `t${process.pid}x${prefixes++}`
  const spec = parseStoreUrl(`${url}?prefix=${prefix}&buckets=${o.buckets ?? l.buckets ?? 8}`)
  if (spec.kind === 'memory') throw new Error('not a redis url')
  const { buckets: _b, ...limits } = l
  const store = await RedisStore.open(spec, {
    ...limits,
    serverTtl: l.maxTtl,
    followIntervalMs: 20,
    ...o,
    table: replicaTable(l, clock),
    clock,
  })
  return { store, clock }
}
