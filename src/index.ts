/**
 * metatracker's public library surface. Importing it has no side effects.
 */
export * from './errors.js'
export * from './wire/index.js'
export * from './crypto/index.js'
export { naclVerify, naclVerifyRecord } from './crypto/nacl.js'
export { selfCheck, type SelfCheckReport } from './selfcheck.js'
// tracker core: the daemon, its options, the client table
export {
  Daemon,
  type DaemonDeps,
  type DaemonAddresses,
  type ListenerAddress,
} from './tracker/daemon.js'
export {
  DEFAULT_OPTIONS,
  type DaemonOptions,
  resolveOptions,
  parseSize,
} from './tracker/options.js'
export {
  ClientTable,
  type EntrySnapshot,
  type EntryView,
  type TableOptions,
} from './table/client-table.js'
export { Stats } from './tracker/stats.js'
// observe (operations): status page, JSON API, metrics, listing ports, stats-request client
export { Observers, type ObserveOptions, type ObserveDeps } from './tracker/observe/observers.js'
export { daemonView } from './tracker/observe/daemon-view.js'
export type { TrackerView, OperatorInfo, ViewEntry } from './tracker/observe/view.js'
export type { ListingSpec, ListingKind } from './tracker/observe/listing-render.js'
export { requestStats, type StatsTarget, type StatsOptions } from './client/stats.js'
