import { TrackerError } from '../../errors.js'
import type { ListingKind, ListingPort } from '../../ops/config.js'
import { isValidNetwork } from '../../wire/record.js'

/*
 * The syntax of serve's flags that commander does not read by itself: `--listing
 * KIND:PORT[:ARG]` becomes the `listing` entry the configuration file would hold
 * (src/ops/config.ts checks it like the file's).
 */

const LISTING_KINDS: readonly ListingKind[] = ['text', 'verbose', 'json', 'info']

function bad(value: string, rule: string): TrackerError {
  return new TrackerError(
    'CONFIG_BAD_OPTION',
    `--listing must be ${rule} (got ${JSON.stringify(value.slice(0, 200))})`,
  )
}

/** `text:3522:quake.example`, `verbose:3523`, `info:3525:motd.txt` (the file may hold colons). */
export function parseListingSpec(text: string): ListingPort {
  const [kind = '', portText = '', ...rest] = text.split(':')
  const arg = rest.join(':')
  const k = LISTING_KINDS.find(x => x === kind)
  if (k === undefined)
    throw bad(text, `KIND:PORT[:ARG] with KIND one of ${LISTING_KINDS.join(', ')}`)
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535)
    throw bad(portText, 'a port from 0 to 65535')
  const port = Number(portText)
  if (k === 'info') {
    if (arg === '') throw bad(text, 'info:PORT:FILE (an info port sends a file)')
    return { port, kind: k, file: arg }
  }
  if (arg === '') return { port, kind: k }
  if (!isValidNetwork(arg)) throw bad(text, 'KIND:PORT:NETWORK with a valid network name')
  return { port, kind: k, network: arg }
}
