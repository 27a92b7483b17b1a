import type { ClientTable } from '../table/client-table.js'
import type { Entry } from '../table/entry.js'
import type { Endpoint } from '../wire/endpoint.js'
import { latin1, recordKeyLength } from '../wire/layout.js'
import type { SignedRecord } from '../wire/record.js'
import type { PutResult, TableStore } from './types.js'

/**
 * The embedded default: the ClientTable is the whole state, and every write is applied to it
 * synchronously (the promise is already settled). A thin adapter over the table's public API,
 * with the same checks in the same order as the tracker's announce handler (docs/protocol.md
 * §8.3): seq against held and remembered, block caps, insert (the table evicts over budget).
 */
export class MemoryStore implements TableStore {
  readonly table: ClientTable
  readonly shared = false

  constructor(table: ClientTable) {
    this.table = table
  }

  put(
    signed: SignedRecord,
    observed: Endpoint,
    provenBy: Endpoint | null = null,
  ): Promise<PutResult> {
    return Promise.resolve(putLocal(this.table, signed, observed, provenBy))
  }

  refresh(entry: Entry): void {
    this.table.refresh(entry)
  }

  withdraw(signed: SignedRecord): Promise<'stale' | boolean> {
    return Promise.resolve(withdrawLocal(this.table, signed))
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.table.delete(key))
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** The table key of a record's bytes ('' when too short to hold one). */
export function keyOf(bytes: Uint8Array): string {
  const n = recordKeyLength(bytes)
  return n < 0 ? '' : latin1(bytes.subarray(0, n))
}

/** One put against a ClientTable alone (the memory store; a replica's pre-check). */
export function putLocal(
  table: ClientTable,
  signed: SignedRecord,
  observed: Endpoint,
  provenBy: Endpoint | null,
): PutResult {
  const held = table.peek(keyOf(signed.bytes))
  if (held !== undefined ? signed.record.seq <= held.seq : table.isReplay(signed)) {
    return { status: 'stale' }
  }
  if (table.admit(held, observed.address) === 'block-full') return { status: 'block-full' }
  const entry = table.insert(signed, observed, undefined, provenBy)
  if (entry === undefined) return { status: 'table-full' }
  return { status: held === undefined ? 'new' : 'replaced', entry }
}

/** One withdrawal against a ClientTable alone. */
export function withdrawLocal(table: ClientTable, signed: SignedRecord): 'stale' | boolean {
  const held = table.peek(keyOf(signed.bytes))
  if (held !== undefined ? signed.record.seq <= held.seq : table.isReplay(signed)) return 'stale'
  return table.withdraw(signed)
}
