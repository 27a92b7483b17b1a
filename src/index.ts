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
// bootpage area: the signed list of trackers and its client-side acceptance
export * from './bootpage/index.js'
export {
  type BootpageSourceOptions,
  type LoadedBootpage,
  bootpageTrackers,
  loadBootpage,
  readBootpageSource,
} from './client/bootpage-source.js'
