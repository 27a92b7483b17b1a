import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseOperatorList } from '../bootpage/draft.js'
import type { BootpageOperator } from '../bootpage/schema.js'
import { TrackerError } from '../errors.js'

/** `HEX`, `name=HEX`, comma lists of those, or a file with one `HEX name` per line. */
export async function readKeyList(
  specs: readonly string[],
  what: string,
): Promise<BootpageOperator[]> {
  const out: BootpageOperator[] = []
  for (const spec of specs) {
    const looksInline = /^[^=,\s]*=?[0-9a-fA-F]{64}(,|$)/.test(spec) || !existsSync(spec)
    let text = spec
    if (!looksInline) {
      try {
        text = await readFile(spec, 'utf8')
      } catch (cause) {
        throw new TrackerError('BOOTPAGE_BAD_SPEC', `cannot read ${what} file ${spec}`, { cause })
      }
    }
    out.push(...parseOperatorList(text))
  }
  return out
}
