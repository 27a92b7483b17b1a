import type { ClientTable } from '../table/client-table.js'
import { MemoryStore } from './memory-store.js'
import type { RedisStore, RedisStoreOptions } from './redis-store.js'
import type { TableStore } from './types.js'
import { parseStoreUrl } from './url.js'

/**
 * The store a `--store` value names. `memory` wraps `table` and loads nothing more; a Redis URL
 * loads the Redis client (ioredis) only now, connects, and makes `table` its replica.
 */
export async function openStore(
  url: string,
  o: Omit<RedisStoreOptions, 'table'> & { table: ClientTable },
): Promise<TableStore & { secrets?: RedisStore['secrets'] }> {
  const spec = parseStoreUrl(url)
  if (spec.kind === 'memory') return new MemoryStore(o.table)
  const { RedisStore: Store } = await import('./redis-store.js')
  return Store.open(spec, o)
}
