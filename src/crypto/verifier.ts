import type { SignedRecord } from '../wire/record.js'
import { verifyRecord } from './record-sign.js'

/**
 * Checks record signatures in batches, possibly off the main thread (a worker pool). Resolves
 * one boolean per record, in order; never rejects for a bad record (false), only when closed.
 * The caller redoes every state check (sequence, block cap, table) after the answer comes back.
 */
export interface BatchVerifier {
  verifyBatch(records: readonly SignedRecord[]): Promise<boolean[]>
  /** Stop accepting work and release threads. Idempotent. */
  close(): Promise<void>
}

/** The in-thread verifier: the same checks as `verifyRecord`, one record after another. */
export const inlineVerifier: BatchVerifier = {
  verifyBatch(records) {
    return Promise.resolve(records.map(r => verifyRecord(r)))
  },
  close() {
    return Promise.resolve()
  },
}
