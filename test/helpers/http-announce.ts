// HTTP registration (docs/protocol.md §12) against a real tracker on loopback: a tracker from
// startTracker with HTTP on a free port, a POST helper that can bind the client to another
// 127/8 address, and signed server records.
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConfigInput, type Tracker, startTracker } from '../../src/index.js'
import type { NodeRecord, SignedRecord } from '../../src/wire/record.js'
import { testKey } from './keys.js'
import { type Teardown, makeRecord } from './tracker.js'

/** A whole tracker on 127.0.0.1 (UDP, TCP, HTTP on free ports), stopped by `t.after`. */
export async function httpTracker(
  t: Teardown,
  config: ConfigInput = {},
): Promise<{ tracker: Tracker; http: number; tcp: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mt-httpreg-'))
  let tracker: Tracker
  try {
    tracker = await startTracker({
      host: '127.0.0.1',
      udp: 0,
      tcp: 0,
      http: 0,
      data: join(dir, 'data'),
      checkpoint: { interval: 0 },
      ...config,
    })
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  t.after(async () => {
    await tracker.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return { tracker, http: tracker.listening.http ?? 0, tcp: tracker.listening.tcp ?? 0 }
}

/** A signed server record of test key `n` listening on `0.0.0.0:port` (seq and fields as given). */
export function serverRecord(
  n: number,
  fields: Partial<NodeRecord> = {},
  port = 27960,
): SignedRecord {
  const k = testKey(n)
  return makeRecord(k.privateKey, k.publicKey, Math.floor(Date.now() / 1000), {
    kind: 'server',
    endpoints: [{ family: 4, address: '0.0.0.0', port }],
    server: {
      name: `server ${n}`,
      players: 1,
      maxPlayers: 8,
      world: 'dm4',
      version: '1',
      tags: [],
    },
    ...fields,
  })
}

export interface PostOptions {
  method?: string
  path?: string
  /** Headers (content-type defaults to application/octet-stream; null removes it). */
  headers?: Record<string, string | null>
  /** Bind the client to this address (another 127/8 address: a proxy, another source). */
  localAddress?: string
}

export interface PostResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json: unknown
}

/** One request on its own connection; rejects when the tracker closes it without an answer. */
export function post(port: number, body: Uint8Array, opts: PostOptions = {}): Promise<PostResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(body.byteLength),
  }
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === null) Reflect.deleteProperty(headers, k)
    else headers[k] = v
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/v1/announce',
        headers,
        agent: false,
        ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      },
      res => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = text === '' ? null : JSON.parse(text)
          } catch {
            json = null
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json })
        })
      },
    )
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')))
    req.on('error', reject)
    req.end(body.byteLength > 0 ? body : undefined)
  })
}

/** A counter of the tracker's stats (0 when absent). */
export function stat(tracker: Tracker, name: string): number {
  return tracker.daemon.stats.snapshot().find(s => s.name === name)?.value ?? 0
}
