import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { TestContext } from 'node:test'
import { Redis } from 'ioredis'

/*
 * Our own redis-server processes for tests (never a system instance): on free loopback ports, in
 * a temporary directory, killed and removed after the test. Debian's redis-server package
 * (.ci/apt-packages) ships redis-server and redis-cli.
 */

const run = promisify(execFile)

/** Whether redis-server can run: false (after t.skip) when missing outside CI; fails under CI. */
export function redisAvailable(t: TestContext): boolean {
  const ok = spawnSync('redis-server', ['--version']).status === 0
  if (ok) return true
  assert.notEqual(
    process.env.CI,
    'true',
    'redis-server is missing under CI: apt-get install redis-server',
  )
  t.skip('redis-server not found: apt-get install redis-server')
  return false
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => {
        resolve(port)
      })
    })
  })
}

/** Registers what to run at teardown: `t.after` of a test, or `after` of a suite. */
export type Cleanup = (fn: () => void) => void

export interface RedisNode {
  port: number
  busPort: number
  proc: ChildProcess | null
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])
  return stdout
}

/** A set of redis-server processes in one temporary directory. */
export class RedisFarm {
  readonly dir = mkdtempSync(join(tmpdir(), 'mt-redis-'))
  readonly nodes: RedisNode[] = []
  readonly #cluster: boolean

  private constructor(cluster: boolean) {
    this.#cluster = cluster
  }

  /** One standalone node. */
  static async single(cleanup: Cleanup, extra: string[] = []): Promise<RedisFarm> {
    const f = new RedisFarm(false)
    cleanup(() => {
      f.destroy()
    })
    await f.#add(extra)
    return f
  }

  /** A cluster of `masters` masters and `replicas` replicas per master, state ok on every node. */
  static async cluster(
    cleanup: Cleanup,
    masters = 3,
    replicas = 0,
    extra: string[] = [],
  ): Promise<RedisFarm> {
    const f = new RedisFarm(true)
    cleanup(() => {
      f.destroy()
    })
    for (let i = 0; i < masters * (1 + replicas); i++) await f.#add(extra)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...f.nodes.map(n => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ])
    await f.waitClusterOk()
    // A replica that never synced cannot be promoted: wait until every link is up.
    await until(
      async () => {
        for (const n of f.nodes) {
          const info = await cli(n.port, 'info', 'replication')
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false
        }
        return true
      },
      30_000,
      'replicas in sync',
    )
    return f
  }

  get url(): string {
    const hosts = this.nodes.map(n => `127.0.0.1:${n.port}`).join(',')
    return this.#cluster ? `redis-cluster://${hosts}` : `redis://${hosts}`
  }

  /** Every running node says cluster_state:ok and sees every slot. */
  async waitClusterOk(ms = 30_000): Promise<void> {
    await until(
      async () => {
        for (const n of this.nodes) {
          if (n.proc === null) continue
          const info = await cli(n.port, 'cluster', 'info')
          if (!info.includes('cluster_state:ok')) return false
        }
        return true
      },
      ms,
      'cluster_state:ok',
    )
  }

  /** The cluster slot of a key (CLUSTER KEYSLOT). */
  async slotOf(key: string): Promise<number> {
    const live = this.nodes.find(n => n.proc !== null) as RedisNode
    return Number((await cli(live.port, 'cluster', 'keyslot', key)).trim())
  }

  /** After `killed` died: until another node serves its slots and the cluster is ok again. */
  async waitFailover(killed: RedisNode, slot: number, ms = 30_000): Promise<void> {
    await until(async () => (await this.masterOf(slot)) !== killed, ms, 'replica promoted')
    await this.waitClusterOk(ms)
  }

  /** Until every replica has applied everything its master has (writes stopped meanwhile). */
  async waitReplicated(ms = 30_000): Promise<void> {
    await until(
      async () => {
        const offsets = new Map<number, number>()
        const replicas: [number, number][] = []
        for (const n of this.nodes) {
          if (n.proc === null) continue
          const info = await cli(n.port, 'info', 'replication')
          const field = (name: string): number =>
            Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? -1)
          if (info.includes('role:master')) offsets.set(n.port, field('master_repl_offset'))
          else replicas.push([field('master_port'), field('slave_repl_offset')])
        }
        return replicas.every(([port, at]) => at >= (offsets.get(port) ?? Infinity))
      },
      ms,
      'replicas caught up',
    )
  }

  /** The value of a hash field of a key, wherever the cluster keeps it (a Buffer, or null). */
  async hget(key: string, field: string): Promise<Buffer | null> {
    const slot = await this.slotOf(key)
    const master = await this.masterOf(slot)
    const c = new Redis({ port: master.port, host: '127.0.0.1', lazyConnect: true })
    try {
      await c.connect()
      return await c.hgetBuffer(key, field)
    } finally {
      c.disconnect()
    }
  }

  /** The port of the master serving `slot`. */
  async masterOf(slot: number): Promise<RedisNode> {
    const live = this.nodes.find(n => n.proc !== null) as RedisNode
    const c = new Redis({ port: live.port, host: '127.0.0.1', lazyConnect: true })
    try {
      await c.connect()
      const slots = await c.cluster('SLOTS')
      for (const [lo, hi, master] of slots) {
        const port = master?.[1]
        if (slot >= lo && slot <= hi) return this.nodes.find(n => n.port === port) as RedisNode
      }
    } finally {
      c.disconnect()
    }
    throw new Error(`no master for slot ${slot}`)
  }

  /** SIGKILL one node (it keeps its port and directory for restart). */
  kill(n: RedisNode): void {
    n.proc?.kill('SIGKILL')
    n.proc = null
  }

  /** Start a killed node again on its port with its node file. */
  async restart(n: RedisNode, extra: string[] = []): Promise<void> {
    n.proc = this.#spawn(n, extra)
    await until(async () => (await cli(n.port, 'ping')).includes('PONG'), 20_000, 'redis ping')
  }

  destroy(): void {
    for (const n of this.nodes) this.kill(n)
    rmSync(this.dir, { recursive: true, force: true })
  }

  async #add(extra: string[]): Promise<void> {
    const n: RedisNode = { port: await freePort(), busPort: await freePort(), proc: null }
    this.nodes.push(n)
    await this.restart(n, extra)
  }

  #spawn(n: RedisNode, extra: string[]): ChildProcess {
    const args = [
      '--port',
      String(n.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--logfile',
      join(this.dir, `redis-${n.port}.log`),
      ...(this.#cluster
        ? [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${n.port}.conf`,
            '--cluster-node-timeout',
            '1000',
            '--cluster-port',
            String(n.busPort),
            '--repl-diskless-sync-delay',
            '0',
          ]
        : []),
      ...extra,
    ]
    const p = spawn('redis-server', args, { stdio: 'ignore' })
    p.unref()
    return p
  }
}
