import { createHash, randomBytes } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import type { Clock } from '../clock.js'
import { TrackerError } from '../errors.js'
import { type Logger, silentLogger } from '../log.js'
import { blockOf } from '../table/blocks.js'
import type { ClientTable } from '../table/client-table.js'
import type { Entry } from '../table/entry.js'
import { Limits } from '../wire/constants.js'
import type { Endpoint } from '../wire/endpoint.js'
import type { SignedRecord } from '../wire/record.js'
import { Follower, type RedisClient } from './follower.js'
import { bucketKeys, bucketOf, encodeValue, metaKey, secretKey } from './layout.js'
import { keyOf, withdrawLocal } from './memory-store.js'
import { SECRET_SCRIPT, STORE_SCRIPT } from './script.js'
import { SecretRing } from './secrets.js'
import type { PutResult, PutStatus, TableStore } from './types.js'
import type { StoreSpec } from './url.js'

/** Bytes charged per entry in Redis beyond its key and value (measured: docs/scale-out.md §6). */
export const REDIS_ENTRY_OVERHEAD = 160

/** The tracker's limits the store enforces, and its tuning (docs/scale-out.md §5). */
export interface RedisStoreOptions {
  /** The replica (built with caps at least the store's: the store checks the real ones). */
  table: ClientTable
  clock: Clock
  logger?: Logger
  maxEntries: number
  maxBytes: number
  perBlock: number
  perWideBlock: number
  /** Seconds an entry lives after its last announce (peers; servers: serverTtl). */
  maxTtl: number
  serverTtl: number
  /** Keys whose seq is remembered after they left, the whole tracker (split over buckets). */
  replayMemory?: number
  /** Milliseconds a command may take before the write is refused (STORE_UNAVAILABLE); 1000. */
  commandTimeoutMs?: number
  /** Writes waiting for Redis at most; beyond, refused (STORE_BUSY); 1024. */
  maxPending?: number
  /** Milliseconds between two polls of the change streams; 50. */
  followIntervalMs?: number
  /** Entries each bucket's stream keeps (approximately); 2000. */
  streamMax?: number
  /** Milliseconds between rotations of the shared secret; one hour (at least 10 minutes). */
  secretRotateMs?: number
  /** Milliseconds between two reads of the shared secret; 10 s. */
  secretPollMs?: number
}

const SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex')
const SECRET_SHA = createHash('sha1').update(SECRET_SCRIPT).digest('hex')
const MIN_ROTATE_MS = 600_000

function unavailable(err: unknown): TrackerError {
  if (err instanceof TrackerError) return err
  return new TrackerError('STORE_UNAVAILABLE', `store: ${(err as Error).message}`, { cause: err })
}

/**
 * The shared store over Redis or a Redis Cluster (docs/scale-out.md): each write one EVALSHA of
 * the store script on one bucket (one slot), then applied to the local replica; reads from the
 * replica, which the Follower keeps within the staleness bound; the shared secret read and
 * rotated every secretPollMs. Never blocks the event loop: every command has a timeout, writes
 * are bounded in number, and a store that is not ready refuses writes at once.
 */
export class RedisStore implements TableStore {
  readonly shared = true
  readonly table: ClientTable
  readonly secrets: SecretRing
  readonly follower: Follower
  readonly origin = randomBytes(6).toString('hex')
  readonly counts = { writes: 0, unavailable: 0, busy: 0, refreshDropped: 0 }
  readonly #io: RedisClient
  readonly #o: Required<Omit<RedisStoreOptions, 'logger'>> & { logger: Logger }
  readonly #spec: Extract<StoreSpec, { kind: 'redis' | 'redis-cluster' }>
  readonly #salt: Uint8Array
  #pending = 0
  #closed = false
  #followTimer: NodeJS.Timeout | null = null
  #secretTimer: NodeJS.Timeout | null = null
  #trimAt = 0

  private constructor(
    io: RedisClient,
    spec: Extract<StoreSpec, { kind: 'redis' | 'redis-cluster' }>,
    o: RedisStoreOptions,
    salt: Uint8Array,
    secrets: SecretRing,
  ) {
    this.#io = io
    this.#spec = spec
    this.#salt = salt
    this.secrets = secrets
    this.table = o.table
    this.#o = {
      replayMemory: 0,
      commandTimeoutMs: 1000,
      maxPending: 1024,
      followIntervalMs: 50,
      streamMax: 2000,
      secretRotateMs: 3_600_000,
      secretPollMs: 10_000,
      ...o,
      logger: o.logger ?? silentLogger,
    }
    this.follower = new Follower(io, o.table, {
      prefix: spec.prefix,
      buckets: spec.buckets,
      salt,
      count: 512,
      logger: this.#o.logger,
    })
  }

  /** Connect, read (or make) the keyspace's salt and secret, load the replica, start following. */
  static async open(
    spec: Extract<StoreSpec, { kind: 'redis' | 'redis-cluster' }>,
    o: RedisStoreOptions,
  ): Promise<RedisStore> {
    const timeout = o.commandTimeoutMs ?? 1000
    const rotate = Math.max(MIN_ROTATE_MS, o.secretRotateMs ?? 3_600_000)
    const redisOptions = {
      commandTimeout: timeout,
      connectTimeout: Math.max(2000, timeout),
      maxRetriesPerRequest: 1,
    }
    const first = spec.nodes[0] ?? { host: '127.0.0.1', port: 6379 }
    const io: RedisClient =
      spec.kind === 'redis'
        ? new Redis({
            ...redisOptions,
            ...first,
            // Not connected: refused at once (the store's `available` checks first anyway).
            enableOfflineQueue: false,
            retryStrategy: (times: number) => Math.min(50 * times, 1000),
            enableAutoPipelining: true,
          })
        : new Cluster(spec.nodes, {
            // In a cluster a redirection or a failover needs the queue while the new node
            // connects; commandTimeout and maxPending bound it.
            redisOptions,
            enableOfflineQueue: true,
            slotsRefreshInterval: 2000,
            enableAutoPipelining: true,
            retryDelayOnFailover: 100,
            retryDelayOnClusterDown: 200,
            retryDelayOnTryAgain: 100,
            maxRedirections: 16,
            slotsRefreshTimeout: Math.max(1000, timeout),
            clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
          })
    const log = o.logger ?? silentLogger
    io.on('error', (err: Error) => {
      log.debug({ err: err.message }, 'store connection error')
    })
    try {
      await ready(io, Math.max(10_000, 5 * timeout))
      const meta = metaKey(spec.prefix)
      await io.hsetnx(meta, 'salt', randomBytes(32))
      await io.hsetnx(meta, 'buckets', spec.buckets)
      const [salt, buckets] = await io.hmgetBuffer(meta, 'salt', 'buckets')
      if (Number(buckets?.toString()) !== spec.buckets || salt == null || salt.length !== 32) {
        throw new TrackerError(
          'STORE_BAD_URL',
          `store prefix ${spec.prefix} was made with ${buckets?.toString() ?? '?'} buckets`,
        )
      }
      const s = await rotateSecret(io, spec.prefix, o.clock.now(), rotate)
      const store = new RedisStore(
        io,
        spec,
        { ...o, secretRotateMs: rotate },
        new Uint8Array(salt),
        new SecretRing(s.current, s.previous, s.generation),
      )
      await store.follower.resyncAll()
      store.#start()
      return store
    } catch (err) {
      io.disconnect()
      throw unavailable(err)
    }
  }

  /** The store can take writes now (connected; a command may still fail). */
  get available(): boolean {
    return !this.#closed && this.#io.status === 'ready'
  }

  get pending(): number {
    return this.#pending
  }

  async put(
    signed: SignedRecord,
    observed: Endpoint,
    provenBy: Endpoint | null = null,
  ): Promise<PutResult> {
    const t = this.table
    const key = keyOf(signed.bytes)
    const rec = signed.record
    // The replica answers what it can without a round trip (Redis decides the rest).
    const held = t.peek(key)
    if (held !== undefined ? rec.seq <= held.seq : t.isReplay(signed)) return { status: 'stale' }
    const sameBlock = held !== undefined && blockOf(held.ip) === blockOf(observed.address)
    if (!sameBlock && t.blockCount(observed.address) >= this.#o.perBlock) {
      return { status: 'block-full' }
    }
    if (t.wideBlockCount(observed.address) >= this.#o.perWideBlock && held === undefined) {
      return { status: 'block-full' }
    }
    const nowMs = this.#o.clock.now()
    const seenMs = Math.floor(nowMs / 1000) * 1000
    const life = rec.kind === 'server' ? this.#o.serverTtl : this.#o.maxTtl
    const untilMs = Math.min(rec.expiresAt, seenMs / 1000 + life) * 1000
    const proven = provenBy !== null && sameEndpoint(provenBy, observed)
    const value = encodeValue({ observed, seenMs, proven, record: signed.bytes })
    const B = this.#spec.buckets
    const res = await this.#run(key, 'put', [
      Buffer.from(key, 'latin1'),
      rec.seq,
      value,
      untilMs,
      this.#o.perBlock,
      this.#o.perWideBlock,
      Math.max(1, Math.ceil(this.#o.maxEntries / B)),
      Math.max(1, Math.ceil(this.#o.maxBytes / B)),
      Math.max(1, Math.ceil((this.#o.maxEntries + this.#o.replayMemory) / B)),
    ])
    const status = String(res[0]) as PutStatus
    if (status !== 'new' && status !== 'replaced') return { status }
    // Acknowledged by Redis: into the replica now (the stream's copy will change nothing).
    const h = t.peek(key)
    if (h !== undefined && h.seq >= rec.seq) return { status, entry: h }
    const entry = t.insert(signed, observed, seenMs, proven ? observed : null)
    return { status, entry }
  }

  refresh(entry: Entry): void {
    this.table.refresh(entry)
    if (!this.available || this.#pending >= this.#o.maxPending) {
      this.counts.refreshDropped++
      return
    }
    this.#run(entry.key, 'refresh', [
      Buffer.from(entry.key, 'latin1'),
      entry.seq,
      entry.until * 1000,
    ]).catch(() => {
      this.counts.refreshDropped++
    })
  }

  prove(entry: Entry, mask: number, at: number): void {
    if (!this.available || this.#pending >= this.#o.maxPending) return
    const args = [Buffer.from(entry.key, 'latin1'), entry.seq, mask, at]
    this.#run(entry.key, 'proof', args).catch(() => undefined)
  }

  async withdraw(signed: SignedRecord): Promise<'stale' | boolean> {
    const t = this.table
    const key = keyOf(signed.bytes)
    const held = t.peek(key)
    if (held !== undefined ? signed.record.seq <= held.seq : t.isReplay(signed)) return 'stale'
    const res = await this.#run(key, 'withdraw', [
      Buffer.from(key, 'latin1'),
      signed.record.seq,
      Buffer.from(signed.bytes),
    ])
    if (res[0] === 'stale') return 'stale'
    withdrawLocal(t, signed)
    return res[0] === 'held'
  }

  async delete(key: string): Promise<boolean> {
    const res = await this.#run(key, 'delete', [Buffer.from(key, 'latin1')])
    this.table.delete(key)
    return res[0] === 'held'
  }

  /** Remove expired entries and forget old seqs in one bucket (every front-end does a few). */
  async trim(b: number, most = 64): Promise<number> {
    const res = await this.#eval(b, 'trim', [most])
    return Number(res[1] ?? 0)
  }

  /** Read the shared secret now (rotating it when due). */
  async pollSecrets(): Promise<void> {
    const s = await rotateSecret(
      this.#io,
      this.#spec.prefix,
      this.#o.clock.now(),
      this.#o.secretRotateMs,
    )
    this.secrets.update(s.current, s.previous, s.generation)
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    if (this.#followTimer !== null) clearTimeout(this.#followTimer)
    if (this.#secretTimer !== null) clearTimeout(this.#secretTimer)
    this.#io.disconnect()
    return Promise.resolve()
  }

  #start(): void {
    const follow = (): void => {
      if (this.#closed) return
      this.follower
        .poll()
        .catch(() => false)
        .then(busy => {
          if (this.#closed) return
          this.#followTimer = later(follow, busy ? 0 : this.#o.followIntervalMs)
          this.#trimSome()
        })
        .catch(() => undefined)
    }
    follow()
    const secrets = (): void => {
      this.pollSecrets()
        .catch((err: unknown) => {
          this.#o.logger.warn({ err: (err as Error).message }, 'store secret poll failed')
        })
        .finally(() => {
          if (!this.#closed) this.#secretTimer = later(secrets, this.#o.secretPollMs)
        })
    }
    this.#secretTimer = later(secrets, this.#o.secretPollMs)
  }

  /** One bucket trimmed per second, round robin from a random start. */
  #trimSome(): void {
    const now = this.#o.clock.now()
    if (now < this.#trimAt || !this.available) return
    this.#trimAt = now + 1000
    const b = Math.floor(Math.random() * this.#spec.buckets)
    this.trim(b).catch(() => undefined)
  }

  async #run(key: string, op: string, args: (string | number | Buffer)[]): Promise<unknown[]> {
    return this.#eval(bucketOf(this.#salt, key, this.#spec.buckets), op, args)
  }

  async #eval(b: number, op: string, args: (string | number | Buffer)[]): Promise<unknown[]> {
    if (!this.available) {
      this.counts.unavailable++
      throw new TrackerError('STORE_UNAVAILABLE')
    }
    if (this.#pending >= this.#o.maxPending) {
      this.counts.busy++
      throw new TrackerError('STORE_BUSY')
    }
    this.#pending++
    this.counts.writes++
    const keys = bucketKeys(this.#spec.prefix, b)
    const all = [
      op,
      this.#o.clock.now(),
      Limits.RECORD_LIFETIME_MAX * 1000,
      REDIS_ENTRY_OVERHEAD,
      this.#o.streamMax,
      this.origin,
      ...args,
    ]
    try {
      return (await evalScript(this.#io, SCRIPT_SHA, STORE_SCRIPT, keys, all)) as unknown[]
    } catch (err) {
      this.counts.unavailable++
      throw unavailable(err)
    } finally {
      this.#pending--
    }
  }
}

function later(f: () => void, ms: number): NodeJS.Timeout {
  const t = setTimeout(f, ms)
  t.unref()
  return t
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.address === b.address && a.port === b.port
}

/** EVALSHA, and EVAL once when the node does not know the script yet (a new or failed-over node). */
async function evalScript(
  io: RedisClient,
  sha: string,
  lua: string,
  keys: string[],
  args: (string | number | Buffer)[],
): Promise<unknown> {
  try {
    return await io.evalsha(sha, keys.length, ...keys, ...args)
  } catch (err) {
    if (!(err as Error).message.startsWith('NOSCRIPT')) throw err
    return await io.eval(lua, keys.length, ...keys, ...args)
  }
}

async function rotateSecret(
  io: RedisClient,
  prefix: string,
  nowMs: number,
  periodMs: number,
): Promise<{ current: Uint8Array; previous: Uint8Array | null; generation: number }> {
  const keys = [secretKey(prefix)]
  // Hex text in Redis: the replies of EVALSHA come back as strings.
  const res = await evalScript(io, SECRET_SHA, SECRET_SCRIPT, keys, [
    nowMs,
    periodMs,
    randomBytes(32).toString('hex'),
  ])
  const [cur, prev, , gen] = res as (string | null)[]
  if (cur?.length !== 64) throw new TrackerError('STORE_UNAVAILABLE', 'store secret unreadable')
  return {
    current: new Uint8Array(Buffer.from(cur, 'hex')),
    previous: prev?.length === 64 ? new Uint8Array(Buffer.from(prev, 'hex')) : null,
    generation: Number(gen ?? '1'),
  }
}

/** Resolve when the client is ready; reject after `ms`. */
function ready(io: RedisClient, ms: number): Promise<void> {
  if (io.status === 'ready') return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      io.off('ready', onReady)
      reject(new TrackerError('STORE_UNAVAILABLE', `store not ready after ${ms} ms`))
    }, ms)
    const onReady = (): void => {
      clearTimeout(timer)
      resolve()
    }
    io.once('ready', onReady)
  })
}
