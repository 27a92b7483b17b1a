import { TrackerError } from '../errors.js'

/** A parsed `--store` value (docs/scale-out.md §5). */
export type StoreSpec =
  | { kind: 'memory' }
  | {
      kind: 'redis' | 'redis-cluster'
      nodes: { host: string; port: number }[]
      /** Key prefix (the hash tags' first part), so trackers can share one Redis: `mt`. */
      prefix: string
      /** Buckets (hash tags) the table is spread over; fixed for the life of the keyspace. */
      buckets: number
    }

export const DEFAULT_BUCKETS = 64
const PREFIX = /^[A-Za-z0-9_-]{1,32}$/

function bad(value: string, why: string): TrackerError {
  return new TrackerError('STORE_BAD_URL', `--store ${JSON.stringify(value)}: ${why}`)
}

/**
 * `memory` (the default), `redis://HOST:PORT` (one node) or `redis-cluster://H1:P1,H2:P2,...`
 * (seed nodes of a cluster), IPv6 hosts in brackets, with optional `?prefix=NAME&buckets=N`.
 */
export function parseStoreUrl(value: string): StoreSpec {
  if (value === '' || value === 'memory') return { kind: 'memory' }
  const m = /^(redis|redis-cluster):\/\/([^/?#]+)\/?(?:\?([^#]*))?$/.exec(value)
  if (m === null) throw bad(value, 'expected memory, redis://HOST:PORT or redis-cluster://...')
  const kind = m[1] === 'redis' ? 'redis' : 'redis-cluster'
  const nodes = (m[2] ?? '').split(',').map(s => {
    const hp = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s)
    const port = Number(hp?.[3])
    if (hp === null || port < 1 || port > 65535) throw bad(value, `bad HOST:PORT ${s}`)
    return { host: hp[1] ?? hp[2] ?? '', port }
  })
  if (kind === 'redis' && nodes.length !== 1) throw bad(value, 'redis:// takes one HOST:PORT')
  let prefix = 'mt'
  let buckets = DEFAULT_BUCKETS
  for (const [k, v] of new URLSearchParams(m[3] ?? '')) {
    if (k === 'prefix' && PREFIX.test(v)) prefix = v
    else if (k === 'buckets' && /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 4096) {
      buckets = Number(v)
    } else throw bad(value, `bad parameter ${k}=${v}`)
  }
  return { kind, nodes, prefix, buckets }
}
