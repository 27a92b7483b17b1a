import { readFile } from 'node:fs/promises'
import { TrackerError } from '../errors.js'
import { type DenyRules, parseDenyList } from '../tracker/deny-list.js'

/*
 * The deny list's file (docs/operations.md, "Deny list"): read at start and on every reload
 * (SIGHUP); the rules themselves and how the tracker applies them are in
 * src/tracker/deny-list.ts.
 */

/** Read and parse a deny-list file; the error names the file (and line). */
export async function loadDenyList(path: string): Promise<DenyRules> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new TrackerError('DENY_READ_FAILED', `cannot read deny list ${path}: ${code}`, {
      cause: err,
    })
  }
  return parseDenyList(text, path)
}
