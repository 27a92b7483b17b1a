import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KeyObject } from 'node:crypto'
import { signRecord } from '../../src/crypto/record-sign.js'
import { Daemon, type DaemonDeps } from '../../src/tracker/daemon.js'
import type { DaemonOptions } from '../../src/tracker/options.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/framing.js'
import { type Message, type Query, decodeMessage, encodeMessage } from '../../src/wire/messages.js'
import type { NodeRecord, SignedRecord } from '../../src/wire/record.js'
import { UdpProbe } from './udp.js'

/** Registers teardown; node:test's TestContext fits. */
export interface Teardown {
  after(fn: () => unknown): void
}

export interface TestTracker {
  daemon: Daemon
  host: string
  udp: number
  tcp: number
  dataDir: string
  close(): Promise<void>
}

/**
 * Start a Daemon on `host` (127.0.0.1 by default), UDP and TCP on port 0, with a temporary data
 * directory; torn down by `t.after` (and by close(), which is idempotent).
 *
 * `listUnproven` defaults to true here: most scenarios announce documentation addresses
 * (192.0.2.x, 2001:db8::), which a tracker never challenges (docs/protocol.md §9), so their
 * entries are never proven; tests of proof of address pass `listUnproven: false`, the tracker's
 * own default.
 */
export async function startTracker(
  t: Teardown | null,
  options: Partial<DaemonOptions> = {},
  deps: Partial<DaemonDeps> = {},
): Promise<TestTracker> {
  const dataDir = options.data ?? (await mkdtemp(join(tmpdir(), 'mt-tracker-')))
  const host = options.host?.[0] ?? '127.0.0.1'
  const daemon = new Daemon(
    { udp: 0, tcp: 0, host: [host], listUnproven: true, ...options, data: dataDir },
    deps,
  )
  await daemon.start()
  const a = daemon.addresses()
  let closed: Promise<void> | null = null
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await daemon.close()
      if (options.data === undefined) await rm(dataDir, { recursive: true, force: true })
    })()
    return closed
  }
  t?.after(close)
  return { daemon, host, udp: a.udp ?? 0, tcp: a.tcp ?? 0, dataDir, close }
}

/** Build and sign a record with sensible defaults (times from `nowSeconds`). */
export function makeRecord(
  privateKey: KeyObject,
  publicKey: Uint8Array,
  nowSeconds: number,
  fields: Partial<NodeRecord> = {},
): SignedRecord {
  return signRecord(
    {
      network: 'testnet',
      publicKey,
      seq: 1,
      issuedAt: nowSeconds,
      expiresAt: nowSeconds + 3600,
      kind: 'peer',
      endpoints: [],
      server: null,
      ...fields,
    },
    privateKey,
  )
}

export function queryMessage(fields: Partial<Query> = {}): Query {
  return {
    type: 'query',
    txid: 7,
    cookie: new Uint8Array(12),
    network: 'testnet',
    kind: 'peer',
    mode: 'sample',
    count: 10,
    offset: 0,
    sort: 'players',
    notFull: false,
    world: '',
    version: '',
    tags: [],
    exclude: null,
    ...fields,
  }
}

/** A UDP client that fetches a cookie first and decodes replies. */
export class UdpTrackerClient {
  cookie: Uint8Array = new Uint8Array(12)
  private constructor(
    readonly probe: UdpProbe,
    readonly host: string,
    readonly port: number,
  ) {}

  static async open(host: string, port: number): Promise<UdpTrackerClient> {
    const c = new UdpTrackerClient(await UdpProbe.open(host), host, port)
    await c.refreshCookie()
    return c
  }

  async refreshCookie(): Promise<void> {
    const reply = await this.probe.request(
      encodeMessage({ type: 'cookie-request', txid: 1 }),
      this.port,
      this.host,
    )
    if (reply === null) throw new Error('no cookie reply')
    const m = decodeMessage(reply)
    if (m.type !== 'cookie-reply') throw new Error(`expected cookie-reply, got ${m.type}`)
    this.cookie = m.cookie
  }

  /** Send a message (its cookie replaced by ours) and decode the reply; null on timeout. */
  async request(m: Message, timeoutMs = 2000): Promise<Message | null> {
    const withCookie =
      'cookie' in m && m.type !== 'cookie-reply' ? { ...m, cookie: this.cookie } : m
    const reply = await this.probe.request(
      encodeMessage(withCookie),
      this.port,
      this.host,
      timeoutMs,
    )
    return reply === null ? null : decodeMessage(reply)
  }

  close(): Promise<void> {
    return this.probe.close()
  }
}

/** A TCP client speaking framed messages, one reply per request. */
export class TcpTrackerClient {
  readonly #decoder = new FrameDecoder()
  readonly #frames: Uint8Array[] = []
  #waiter: (() => void) | null = null
  #closed = false

  private constructor(readonly socket: Socket) {
    socket.on('data', chunk => {
      try {
        for (const f of this.#decoder.push(chunk)) this.#frames.push(f)
      } catch {
        socket.destroy()
      }
      this.#wake()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#wake()
    })
    socket.on('error', () => undefined)
  }

  #wake(): void {
    const w = this.#waiter
    this.#waiter = null
    w?.()
  }

  static open(host: string, port: number): Promise<TcpTrackerClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => {
        s.off('error', reject)
        resolve(new TcpTrackerClient(s))
      })
      s.once('error', reject)
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  send(m: Message): void {
    this.socket.write(encodeFrame(encodeMessage(m)))
  }

  /** The next reply frame, or null on timeout or close. */
  async nextFrame(timeoutMs = 2000): Promise<Uint8Array | null> {
    const deadline = Date.now() + timeoutMs
    while (this.#frames.length === 0) {
      if (this.#closed || Date.now() >= deadline) return null
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.#waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    return this.#frames.shift() ?? null
  }

  async request(m: Message, timeoutMs = 2000): Promise<Message | null> {
    this.send(m)
    const f = await this.nextFrame(timeoutMs)
    return f === null ? null : decodeMessage(f)
  }

  /** Resolves when the server has closed the connection (false after `timeoutMs`). */
  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.#closed && Date.now() < deadline) await new Promise(r => setTimeout(r, 10))
    return this.#closed
  }

  close(): void {
    this.socket.destroy()
  }
}
