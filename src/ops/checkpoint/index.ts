// Checkpoints (warm restart): the file format, where it is stored, the restore path, the saver.
export {
  type Checkpoint,
  type CheckpointEntry,
  type CheckpointHeader,
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
} from './format.js'
export { CheckpointFile } from './file.js'
export {
  CHECKPOINT_FILE,
  type CheckpointSnapshot,
  type OpenResult,
  type ReadResult,
  openCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  writeCheckpointStream,
} from './store.js'
export {
  type DropTarget,
  type LoadOptions,
  type LoadResult,
  type LoadedCheckpoint,
  type RestoreTarget,
  type RestoredEntry,
  VERIFY_BATCH,
  type VerifyResult,
  dropInvalid,
  loadCheckpoint,
  restoreEntries,
  verifyEntries,
} from './restore.js'
export {
  Restore,
  type RestoreDeps,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreTable,
} from './restorer.js'
export { type SaveTable, heldEntries } from './held.js'
export { Checkpointer, type CheckpointerDeps, type CheckpointerOptions } from './checkpointer.js'
