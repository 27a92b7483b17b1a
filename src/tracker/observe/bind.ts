import { once } from 'node:events'
import type { Server } from 'node:net'
import { TrackerError } from '../../errors.js'

/** Wait for `listen` to finish; a failure becomes TRACKER_BIND_FAILED naming what and where. */
export async function bound(
  server: Server,
  what: string,
  host: string,
  port: number,
): Promise<void> {
  try {
    await once(server, 'listening')
  } catch (cause) {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
    throw new TrackerError(
      'TRACKER_BIND_FAILED',
      `cannot bind ${what} ${where}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
  }
}
