import { parentPort } from 'node:worker_threads'
import { verifyPacked } from './verify-pool-batch.js'

/*
 * A thread of the verify pool (src/crypto/verify-pool.ts): batches in (one transferred
 * ArrayBuffer each), one result byte per record out (transferred back). It says `ready` once
 * loaded, so no batch is posted before its listener exists.
 */

export interface BatchRequest {
  id: number
  buf: ArrayBuffer
}

export type WorkerMessage = { ready: true } | { id: number; ok: Uint8Array<ArrayBuffer> }

const port = parentPort
if (port !== null) {
  port.on('message', (m: BatchRequest) => {
    const ok = verifyPacked(m.buf)
    const reply: WorkerMessage = { id: m.id, ok }
    port.postMessage(reply, [ok.buffer])
  })
  const ready: WorkerMessage = { ready: true }
  port.postMessage(ready)
}
