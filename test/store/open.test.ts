import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { isTrackerError } from '../../src/errors.js'
import { parseStoreUrl } from '../../src/store/url.js'

test('store URLs: memory, one node, cluster seeds, IPv6, parameters; bad ones coded', () => {
  assert.deepEqual(parseStoreUrl('memory'), { kind: 'memory' })
  assert.deepEqual(parseStoreUrl('redis://127.0.0.1:6379'), {
    kind: 'redis',
    nodes: [{ host: '127.0.0.1', port: 6379 }],
    prefix: 'mt',
    buckets: 64,
  })
  const c = parseStoreUrl('redis-cluster://h1:7000,[::1]:7001/?prefix=eu&buckets=128')
  assert.deepEqual(c, {
    kind: 'redis-cluster',
    nodes: [
      { host: 'h1', port: 7000 },
      { host: '::1', port: 7001 },
    ],
    prefix: 'eu',
    buckets: 128,
  })
  for (const bad of [
    'redis://h',
    'redis://h:0',
    'redis://a:1,b:2',
    'http://h:1',
    'redis://h:1?buckets=0',
    'redis://h:1?prefix=a{b}',
    'redis://h:1?x=1',
  ]) {
    assert.throws(
      () => parseStoreUrl(bad),
      (e: unknown) => isTrackerError(e) && e.code === 'STORE_BAD_URL',
      bad,
    )
  }
})

test('the memory store loads no Redis client', () => {
  const code = `
    const { openStore } = await import('./src/store/open.ts')
    const { ClientTable } = await import('./src/table/client-table.ts')
    const clock = { now: () => Date.now() }
    const table = new ClientTable({ maxEntries: 10, maxBytes: 1e6, maxTtl: 60, perBlockMax: 4, clock })
    await openStore('memory', { table, clock, maxEntries: 10, maxBytes: 1e6, perBlock: 4, perWideBlock: 8, maxTtl: 60, serverTtl: 60 })
    const { createRequire } = await import('node:module')
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter(k => k.includes('ioredis'))
    console.log(JSON.stringify(loaded))
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), '[]')
})
