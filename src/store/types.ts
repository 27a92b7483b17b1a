import type { ClientTable } from '../table/client-table.js'
import type { Entry } from '../table/entry.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { SignedRecord } from '../wire/record.js'

/**
 * What a write did (docs/scale-out.md §2). `new`/`replaced`: stored; `stale`: the seq is not
 * higher than the held or remembered one (replay); `block-full`: the address block is at its
 * cap; `table-full`: the store would not keep it (expired on arrival, or the budget cannot make
 * room); the last three are refusals and change nothing.
 */
export type PutStatus = 'new' | 'replaced' | 'stale' | 'block-full' | 'table-full'

export interface PutResult {
  status: PutStatus
  /** The replica's entry once stored (new, replaced); undefined otherwise. */
  entry?: Entry | undefined
}

/**
 * The tracker's write side of its table, with the read side in `table`, an in-memory
 * `ClientTable` the tracker queries directly (sample, list, best, peek) at memory speed.
 *
 * Every record handed to a write method has been VERIFIED by the caller (signature, times,
 * network, deny list): a store never receives unverified bytes, and never checks a signature.
 * A shared store (Redis) writes them to the shared state and then to the local replica; other
 * front-ends see them through the change stream within the store's staleness bound. Writes are
 * asynchronous; a shared store that cannot reach its backend, or whose queue of pending writes
 * is full, rejects with a TrackerError coded STORE_UNAVAILABLE or STORE_BUSY (docs/errors.md),
 * and the replica keeps serving reads.
 */
export interface TableStore {
  /** The in-memory table (the replica, for a shared store): the read side. */
  readonly table: ClientTable
  /** True for a store shared with other front-ends (writes leave the process). */
  readonly shared: boolean
  /**
   * Admit and store a verified record seen from `observed`: the seq check against the held and
   * the remembered seq, the per-block caps, the count and byte budget (evicting the least
   * recently used entries over it), the insert. `provenBy`: an endpoint the request proved.
   */
  put(signed: SignedRecord, observed: Endpoint, provenBy?: Endpoint | null): Promise<PutResult>
  /**
   * A held record announced again with identical bytes (the caller found it with
   * `table.peek`): it becomes most recent and lives longer. The replica is refreshed at once
   * (synchronously); a shared store then tells the backend in the background (a lost refresh
   * only shortens the entry's life), so this never waits.
   */
  refresh(entry: Entry): void
  /**
   * The endpoints in `mask` of a held entry answered a challenge at `at` (seconds): a shared
   * store tells the other front-ends in the background (their replicas mark them proven, for
   * this seq only); a lost message only costs them a challenge of their own. Absent: nothing to
   * share.
   */
  prove?(entry: Entry, mask: number, at: number): void
  /**
   * Apply a verified withdrawal: the held entry leaves, the seq is remembered (replay memory).
   * `stale` when its seq is not higher than the held or remembered one; else whether an entry
   * was held.
   */
  withdraw(signed: SignedRecord): Promise<'stale' | boolean>
  /** Delete a held entry (deny list, expired on refresh); its seq is remembered. */
  delete(key: string): Promise<boolean>
  /** Stop following and writing; idempotent. The replica stays readable. */
  close(): Promise<void>
}
