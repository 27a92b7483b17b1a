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
// operations (protect): config file, throttles, deny list, checkpoints, the runtime around a Daemon
export {
  DEFAULT_CONFIG,
  type TrackerConfig,
  type ConfigFlags,
  type ListingPort,
  type LogLevel,
  loadConfig,
  parseConfig,
} from './tracker/config.js'
export { FloodControl, createFloodGate, floodKey, type FloodOptions } from './throttle/flood.js'
export {
  EgressBudget,
  createEgress,
  type BudgetSource,
  type EgressOptions,
  PRIORITY_SHARE,
} from './throttle/egress.js'
export { DenyList, parseDenyList, loadDenyList, entryDenied } from './tracker/deny-list.js'
export {
  Checkpointer,
  type Checkpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  loadCheckpoint,
  writeCheckpoint,
} from './tracker/checkpoint.js'
export { TrackerRuntime, type DenyReload } from './tracker/runtime.js'
