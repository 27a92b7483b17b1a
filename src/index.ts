/**
 * metatracker's public library surface. Importing it has no side effects.
 */
export * from './errors.js'
export * from './wire/index.js'
export * from './crypto/index.js'
export { naclVerify, naclVerifyRecord } from './crypto/nacl.js'
export { selfCheck, type SelfCheckReport } from './crypto/selfcheck.js'
// src/tracker, src/table: the protocol engine (the Daemon, its options) and the client table
export {
  Daemon,
  type DaemonDeps,
  type DaemonAddresses,
  type ListenerAddress,
} from './tracker/daemon.js'
export {
  DAEMON_OPTION_ROWS,
  DEFAULT_OPTIONS,
  type DaemonOptions,
  resolveOptions,
  parseSize,
} from './tracker/options.js'
export { type OptionRow, type OptionValues } from './tracker/option-table.js'
export {
  ClientTable,
  type EntrySnapshot,
  type EntryView,
  type TableOptions,
} from './table/client-table.js'
export { Stats } from './tracker/stats.js'
// src/client: announce to every tracker, query one at random with failover, verify everything
export {
  Announcer,
  type AnnouncerOptions,
  type AnnouncerEvents,
  type CloseOptions,
  type RecordUpdate,
  type TrackerState,
  type TrackerStatus,
} from './client/announcer.js'
export {
  Querier,
  QueryFailedError,
  SERVER_COUNT_MAX,
  type QuerierOptions,
  type QuerierEvents,
  type CallOptions,
  type TransportChoice,
  type PeerQuery,
  type ServerQuery,
  type BestQuery,
  type QueryResult,
  type BestResult,
  type Attempt,
  type AttemptOutcome,
} from './client/querier.js'
export {
  type TrackerAddress,
  parseTrackerSpec,
  trackerLabel,
  randomOrder,
} from './client/trackers.js'
export {
  type VerifiedEntry,
  type DropCounts,
  type ServerFilter,
  verifyEntries,
  mergeEntries,
  sortServers,
  pickBest,
  connectEndpoints,
} from './client/verify.js'
export { type EntryJson, entryToJson } from './client/format.js'
export { TrackerRefusedError } from './client/replies.js'
export {
  ChallengeAnswerer,
  type ChallengeAnswererOptions,
  type ChallengeIdentity,
  type RemoteInfo,
  answerChallenge,
  looksLikeChallenge,
} from './client/challenge-answer.js'
export { ChallengeSocket, type ChallengeSocketOptions } from './client/challenge-socket.js'
export { type Timers, type TimerHandle, systemTimers } from './client/timing.js'
export { type Resolver, type ResolvedHost, systemResolver } from './client/resolve.js'
export {
  TrackerHealth,
  healthOf,
  type HealthOptions,
  type HealthSnapshot,
  type HealthPlan,
} from './client/health.js'
export { UdpTransport, type UdpTransportOptions } from './client/transport/udp.js'
export { TcpTransport, type TcpTransportOptions } from './client/transport/tcp.js'
// src/observe: status page, JSON API, metrics, listing ports, stats-request client
export { Observers, type ObserveOptions, type ObserveDeps } from './observe/observers.js'
export { daemonView } from './ops/daemon-view.js'
export type { TrackerView, OperatorInfo, ViewEntry } from './observe/view.js'
export type { ListingSpec, ListingKind } from './observe/listing-render.js'
export { requestStats, type StatsTarget, type StatsOptions } from './client/stats.js'
// src/ops, src/throttle: run a tracker as `serve` does (startTracker), config file, throttles,
// deny list, checkpoints
export {
  startTracker,
  type ConfigInput,
  type Listening,
  type Tracker,
  type TrackerDeps,
} from './ops/start.js'
export {
  DEFAULT_CONFIG,
  type TrackerConfig,
  type ConfigFlags,
  type ListingPort,
  type LogLevel,
  loadConfig,
  parseConfig,
} from './ops/config.js'
export { OPTION_ROWS } from './ops/options.js'
export { FloodControl, createFloodGate, floodKey, type FloodOptions } from './throttle/flood.js'
export {
  EgressBudget,
  createEgress,
  type BudgetSource,
  type EgressOptions,
  PRIORITY_SHARE,
} from './throttle/egress.js'
export { DenyList, parseDenyList, entryDenied } from './tracker/deny-list.js'
export { loadDenyList } from './ops/deny-list.js'
export {
  Checkpointer,
  type Checkpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  loadCheckpoint,
  writeCheckpoint,
} from './ops/checkpoint/index.js'
export type { DenyReload } from './ops/runtime.js'
// src/bootpage: the signed list of trackers and its client-side acceptance
export * from './bootpage/index.js'
export {
  type BootpageSourceOptions,
  type LoadedBootpage,
  type LoadedStamp,
  bootpageTrackers,
  loadBootpage,
  readBootpageSource,
  readStampSource,
} from './client/bootpage-source.js'
