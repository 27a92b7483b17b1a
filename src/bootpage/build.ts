import { mkdir, readFile, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TrackerError } from '../errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import { type PageAssets, renderBootpageHtml } from './render.js'
import { type BootpageDocument, formatBootpage } from './schema.js'

/** The package's top-level bootpage/ folder (from src/bootpage or dist/bootpage alike). */
export const ASSET_DIR = fileURLToPath(new URL('../../bootpage/', import.meta.url))

async function readAsset(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new TrackerError('BOOTPAGE_BAD_TEMPLATE', `cannot read ${path}`, { cause })
  }
}

/** Read the template, style, browser verifier and tweetnacl (inlined into every page). */
export async function loadPageAssets(dir: string = ASSET_DIR): Promise<PageAssets> {
  const require = createRequire(import.meta.url)
  const [template, style, verifier, nacl] = await Promise.all([
    readAsset(join(dir, 'template.html')),
    readAsset(join(dir, 'style.css')),
    readAsset(join(dir, 'verify.js')),
    readAsset(require.resolve('tweetnacl/nacl-fast.min.js')),
  ])
  return { template, style, verifier, nacl }
}

function writeFailed(path: string, cause: unknown): TrackerError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return new TrackerError(
    'BOOTPAGE_WRITE_FAILED',
    `cannot write ${path}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause },
  )
}

/**
 * Create `dir` and its missing parents, one level at a time, failing on the first error.
 * Not `mkdir(dir, { recursive: true })`: on a file system that refuses to create entries but
 * reports the parent as present (/proc, sysfs), Node's recursive mkdir retries the same two
 * calls forever and never settles. Here every level is tried once, so the loop is bounded by
 * the depth of the path.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const missing: string[] = []
  let at = resolve(dir)
  for (;;) {
    let isDir: boolean
    try {
      isDir = (await stat(at)).isDirectory()
    } catch (cause) {
      const parent = dirname(at)
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at)
        throw writeFailed(at, cause)
      missing.push(at)
      at = parent
      continue
    }
    if (!isDir)
      throw writeFailed(at, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }))
    break
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level)
    } catch (cause) {
      // Created by someone else in the meantime: fine if it is a directory now.
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
        const now = await stat(level).catch(() => null)
        if (now?.isDirectory() === true) continue
      }
      throw writeFailed(level, cause)
    }
  }
}

/**
 * Write one page file atomically (src/fs-atomic.ts), world-readable like any published page;
 * `exclusive`: refuse to replace an existing file. Any failure is a BOOTPAGE_WRITE_FAILED (its
 * cause says why), and the temporary file is removed.
 */
export async function writeBootpageFile(
  path: string,
  data: string,
  options: { exclusive?: boolean } = {},
): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode: 0o644, exclusive: options.exclusive === true })
  } catch (cause) {
    throw writeFailed(path, cause)
  }
}

/** Write bootpage.json and index.html into `outDir` (created if needed). */
export async function buildBootpage(
  doc: BootpageDocument,
  outDir: string,
  assets?: PageAssets,
): Promise<{ json: string; html: string }> {
  const html = renderBootpageHtml(doc, assets ?? (await loadPageAssets()))
  await ensureDirectory(outDir)
  const jsonPath = join(outDir, 'bootpage.json')
  const htmlPath = join(outDir, 'index.html')
  await writeBootpageFile(jsonPath, formatBootpage(doc))
  await writeBootpageFile(htmlPath, html)
  return { json: jsonPath, html: htmlPath }
}
