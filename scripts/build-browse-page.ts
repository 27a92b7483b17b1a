/**
 * Writes the server browser as static files into a directory, to publish beside a bootpage
 * (docs/operations.md, "Status page and server browser"):
 *
 *   npx tsx scripts/build-browse-page.ts OUT_DIR [--bootpage bootpage.json] [--tracker URL]...
 *
 * OUT_DIR/browse.html reads the bootpage (relative to the page; default bootpage.json, as
 * `metatracker bootpage build` writes it), verifies it in the browser, and asks the trackers it
 * lists with an http port, then any --tracker base URL, one after another.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { browseSiteFiles } from '../src/observe/browse-page.js'
import { loadWebAssets } from '../src/observe/web-pages.js'

const args = process.argv.slice(2)
const out = args[0]
if (out === undefined || out.startsWith('-')) {
  console.error('usage: build-browse-page.ts OUT_DIR [--bootpage bootpage.json] [--tracker URL]...')
  process.exit(2)
}
const valueOf = (flag: string): string[] =>
  args.flatMap((a, i) => (a === flag && args[i + 1] !== undefined ? [args[i + 1] ?? ''] : []))
const files = browseSiteFiles(loadWebAssets(), {
  bootpage: valueOf('--bootpage')[0] ?? 'bootpage.json',
  trackers: valueOf('--tracker'),
})
for (const [path, body] of files) {
  const target = join(out, path)
  await mkdir(dirname(target), { recursive: true })
  await writeFile(target, body, { mode: 0o644 })
  console.log(`wrote ${target}`)
}
