import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TrackerError } from '../errors.js'
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

/** Write a file through a temporary name and a rename, so readers never see half of it. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  await writeFile(tmp, data)
  await rename(tmp, path)
}

/** Write bootpage.json and index.html into `outDir` (created if needed). */
export async function buildBootpage(
  doc: BootpageDocument,
  outDir: string,
  assets?: PageAssets,
): Promise<{ json: string; html: string }> {
  const html = renderBootpageHtml(doc, assets ?? (await loadPageAssets()))
  await mkdir(outDir, { recursive: true })
  const jsonPath = join(outDir, 'bootpage.json')
  const htmlPath = join(outDir, 'index.html')
  await writeFileAtomic(jsonPath, formatBootpage(doc))
  await writeFileAtomic(htmlPath, html)
  return { json: jsonPath, html: htmlPath }
}
