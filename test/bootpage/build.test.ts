import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { buildBootpage, ensureDirectory, writeBootpageFile } from '../../src/bootpage/build.js'
import { formatBootpage } from '../../src/bootpage/schema.js'
import { isTrackerError } from '../../src/errors.js'
import { makePage } from '../helpers/bootpage.js'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname
/** Far above the second or two the command needs on a loaded machine; the old code never ended. */
const DEADLINE_MS = 60_000

const isWriteFailed = (err: unknown) => isTrackerError(err) && err.code === 'BOOTPAGE_WRITE_FAILED'

function signedPageFile(dir: string): string {
  const now = Math.floor(Date.now() / 1000)
  const path = join(dir, 'bootpage.json')
  writeFileSync(path, formatBootpage(makePage({ issuedAt: now - 3600, validUntil: now + 86_400 })))
  return path
}

/** Run the real CLI in a child process; killed (and reported as such) at the deadline. */
function runCli(
  args: string[],
): Promise<{ code: number | null; killed: boolean; stderr: string; ms: number }> {
  const started = Date.now()
  return new Promise(resolve => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: DEADLINE_MS, killSignal: 'SIGKILL' },
      (err, _stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          killed: e?.killed === true,
          stderr,
          ms: Date.now() - started,
        })
      },
    )
  })
}

test('bootpage build --out under /proc ends with BOOTPAGE_WRITE_FAILED instead of spinning', async t => {
  if (!existsSync('/proc/self')) {
    t.skip('no /proc on this system')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'mt-build-proc-'))
  const file = signedPageFile(dir)
  // Node's recursive mkdir loops forever here (mkdir says ENOENT, the parent exists).
  const r = await runCli(['bootpage', 'build', file, '--out', '/proc/x/', '--draft'])
  assert.equal(r.killed, false, `still running after ${DEADLINE_MS} ms`)
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /error BOOTPAGE_WRITE_FAILED: cannot write \/proc\/x/)
})

test('bootpage build --out through a regular file ends with BOOTPAGE_WRITE_FAILED', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-build-file-'))
  const file = signedPageFile(dir)
  const r = await runCli(['bootpage', 'build', file, '--out', join(file, 'site'), '--draft'])
  assert.equal(r.killed, false)
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /error BOOTPAGE_WRITE_FAILED: .*ENOTDIR/)
})

test('ensureDirectory: creates missing levels, accepts existing ones, refuses files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-ensure-'))
  await ensureDirectory(join(dir, 'a', 'b', 'c'))
  assert.ok(existsSync(join(dir, 'a', 'b', 'c')))
  await ensureDirectory(join(dir, 'a', 'b'))
  await ensureDirectory(dir + '/a/b/c/')
  writeFileSync(join(dir, 'f'), 'x')
  await assert.rejects(ensureDirectory(join(dir, 'f')), isWriteFailed)
  await assert.rejects(ensureDirectory(join(dir, 'f', 'g', 'h')), isWriteFailed)
  // Concurrent builds into the same new folder both succeed.
  await Promise.all([ensureDirectory(join(dir, 'x', 'y')), ensureDirectory(join(dir, 'x', 'y'))])
})

test('writeBootpageFile: a failed write is coded and leaves no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-atomic-'))
  await ensureDirectory(join(dir, 'target'))
  // Renaming a file over a directory fails after the temporary file was written.
  await assert.rejects(writeBootpageFile(join(dir, 'target'), 'data'), isWriteFailed)
  assert.deepEqual(readdirSync(dir), ['target'])
  await assert.rejects(writeBootpageFile(join(dir, 'missing', 'f.json'), 'data'), isWriteFailed)
})

test('buildBootpage writes both files into a new nested folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-build-ok-'))
  const out = join(dir, 'site', 'v1')
  const written = await buildBootpage(makePage(), out)
  assert.deepEqual(readdirSync(out).sort(), ['bootpage.json', 'index.html'])
  assert.equal(written.json, join(out, 'bootpage.json'))
})
