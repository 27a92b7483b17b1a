// Checkpoints (warm restart): the file format, where it is stored, the restore path, the saver.
export {
  type Checkpoint,
  type CheckpointEntry,
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
} from './format.js'
export { CHECKPOINT_FILE, type ReadResult, readCheckpoint, writeCheckpoint } from './store.js'
export {
  type DropTarget,
  type LoadOptions,
  type LoadResult,
  type LoadedCheckpoint,
  type RestoreTarget,
  type RestoredEntry,
  type VerifyResult,
  dropInvalid,
  loadCheckpoint,
  restoreEntries,
  verifyEntries,
} from './restore.js'
export { Checkpointer, type CheckpointerDeps, type CheckpointerOptions } from './checkpointer.js'
