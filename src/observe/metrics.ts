import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { DROP_PREFIX, GAUGE_STATS } from './summary.js'
import type { TrackerView } from './view.js'

/*
 * Prometheus metrics in a private Registry (never prom-client's global default, so two trackers
 * in one process, as in tests, do not mix). Tracker figures are read by collect callbacks at
 * scrape time from the view; the observers' own traffic counters are incremented directly.
 * prom-client's default metrics (process_resident_memory_bytes, process_cpu_seconds_total,
 * nodejs_eventloop_lag_*, ...) go in the same registry, under their usual names.
 */

export const METRIC_PREFIX = 'metatracker_'

export interface TrackerMetrics {
  readonly registry: Registry
  /** HTTP requests answered, by route and status code. */
  readonly httpRequests: Counter<'route' | 'code'>
  /** Listing-port connections, by kind and outcome (served, refused, failed). */
  readonly listingConnections: Counter<'kind' | 'outcome'>
}

/** `announces` → `metatracker_announces_total`. Stat names are `[a-z][a-z0-9_]*` already. */
export function counterMetricName(stat: string): string {
  return `${METRIC_PREFIX}${stat.replace(/_total$/, '')}_total`
}

/**
 * Build the registry. Each tracker stat known when this is called becomes its own metric: a
 * gauge `metatracker_<name>` for the levels in GAUGE_STATS (unless a table gauge already has the
 * name), a counter `metatracker_<name>_total` for the rest; every `dropped_<reason>` counter
 * becomes `metatracker_drops_total{reason}`.
 */
export function createMetrics(view: TrackerView, version: string): TrackerMetrics {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  new Gauge({
    name: `${METRIC_PREFIX}info`,
    help: 'Always 1; the labels describe this tracker',
    labelNames: ['version', 'operator', 'location'] as const,
    registers,
    collect() {
      this.reset()
      this.set({ version, operator: view.operator.name, location: view.operator.location }, 1)
    },
  })
  new Gauge({
    name: `${METRIC_PREFIX}uptime_seconds`,
    help: 'Seconds since the tracker started',
    registers,
    collect() {
      this.set(Math.max(0, (view.clock.now() - view.startedAt) / 1000))
    },
  })
  const table = (
    name: string,
    help: string,
    pick: (t: ReturnType<TrackerView['table']>) => number,
  ) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers,
      collect() {
        this.set(pick(view.table()))
      },
    })
  table('table_entries', 'Entries held in the table', t => t.entries)
  table('table_bytes', 'Bytes the table accounts for its entries', t => t.bytes)
  table('table_max_entries', 'Entry budget of the table', t => t.maxEntries)
  table('table_max_bytes', 'Byte budget of the table', t => t.maxBytes)

  new Counter({
    name: `${METRIC_PREFIX}drops_total`,
    help: 'Requests or replies dropped, by reason',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      this.reset()
      for (const s of view.stats()) {
        if (s.name.startsWith(DROP_PREFIX)) {
          this.inc({ reason: s.name.slice(DROP_PREFIX.length) }, s.value)
        }
      }
    },
  })

  const read = (name: string): number => view.stats().find(x => x.name === name)?.value ?? 0
  const seen = new Set<string>(registry.getMetricsAsArray().map(m => m.name))
  for (const { name } of view.stats()) {
    if (name.startsWith(DROP_PREFIX)) continue
    if (GAUGE_STATS.has(name)) {
      const metric = `${METRIC_PREFIX}${name}`
      if (seen.has(metric)) continue
      seen.add(metric)
      new Gauge({
        name: metric,
        help: `Tracker level ${name}`,
        registers,
        collect() {
          this.set(read(name))
        },
      })
      continue
    }
    const metric = counterMetricName(name)
    if (seen.has(metric)) continue
    seen.add(metric)
    new Counter({
      name: metric,
      help: `Tracker counter ${name}`,
      registers,
      collect() {
        this.reset()
        this.inc(read(name))
      },
    })
  }

  const httpRequests = new Counter({
    name: `${METRIC_PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['route', 'code'] as const,
    registers,
  })
  const listingConnections = new Counter({
    name: `${METRIC_PREFIX}listing_connections_total`,
    help: 'Listing-port connections, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  })
  return { registry, httpRequests, listingConnections }
}
