import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { writeFileAtomic } from '../../src/fs-atomic.js'

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'mt-fs-atomic-'))

test('writeFileAtomic: the new content replaces the old one, no temporary file left', async () => {
  const dir = tempDir()
  const path = join(dir, 'f.bin')
  writeFileSync(path, 'old')
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]))
  assert.deepEqual([...readFileSync(path)], [1, 2, 3])
  await writeFileAtomic(path, 'text', { mode: 0o644 })
  assert.equal(readFileSync(path, 'utf8'), 'text')
  assert.deepEqual(readdirSync(dir), ['f.bin'])
})

test('writeFileAtomic: a new file gets mode 0600 unless told otherwise', async () => {
  const dir = tempDir()
  await writeFileAtomic(join(dir, 'secret'), 'x')
  assert.equal(statSync(join(dir, 'secret')).mode & 0o777, 0o600)
  await writeFileAtomic(join(dir, 'page'), 'x', { mode: 0o644 })
  // 0644 less the process umask: owner read-write, never more than 0644.
  const page = statSync(join(dir, 'page')).mode & 0o777
  assert.equal(page & 0o600, 0o600)
  assert.equal(page & ~0o644, 0)
})

test('writeFileAtomic: a failed rename removes the temporary file and rethrows the cause', async () => {
  const dir = tempDir()
  // Renaming a file over a non-empty directory fails after the temporary file was written.
  mkdirSync(join(dir, 'target'))
  writeFileSync(join(dir, 'target', 'inside'), 'kept')
  await assert.rejects(writeFileAtomic(join(dir, 'target'), 'data'), (err: unknown) => {
    assert.ok(typeof (err as NodeJS.ErrnoException).code === 'string')
    return true
  })
  assert.deepEqual(readdirSync(dir), ['target'])
  assert.equal(readFileSync(join(dir, 'target', 'inside'), 'utf8'), 'kept')
  // A missing directory fails before anything is written.
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'f'), 'data'), { code: 'ENOENT' })
  assert.deepEqual(readdirSync(dir), ['target'])
})

test('writeFileAtomic exclusive: refuses an existing name (EEXIST), keeps it, leaves no temp', async () => {
  const dir = tempDir()
  const path = join(dir, 'draft.json')
  await writeFileAtomic(path, 'first', { exclusive: true })
  assert.equal(readFileSync(path, 'utf8'), 'first')
  await assert.rejects(writeFileAtomic(path, 'second', { exclusive: true }), { code: 'EEXIST' })
  assert.equal(readFileSync(path, 'utf8'), 'first')
  assert.deepEqual(readdirSync(dir), ['draft.json'])
})
