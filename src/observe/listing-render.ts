import { endpointToString } from '../wire/endpoint.js'
import { entryJson } from './entry-json.js'
import { formatDuration, plainText } from './format.js'
import { type OperatorInfo, type ViewEntry, ageSeconds, connectEndpoints } from './view.js'

/*
 * MetaServerII's human ports, rendered as text (pure). Each output is a short banner, the
 * demarcation line, the data, and an end line that says whether the output was cut at the
 * byte cap, so a simple client reads everything after `LISTING_START` and needs no parser.
 */

export const LISTING_START = '--- metatracker listing start ---'
export const LISTING_END = '--- metatracker listing end ---'

export type ListingKind = 'text' | 'verbose' | 'json' | 'info'
export const LISTING_KINDS: readonly ListingKind[] = ['text', 'verbose', 'json', 'info']

/** One configured listing port (the `listing` array of the config contract). */
export interface ListingSpec {
  port: number
  kind: ListingKind
  /** text/verbose/json: only servers of this network (all networks when absent). */
  network?: string
  /** info: the file to send. */
  file?: string
}

/** The servers a listing shows (already selected and sorted) and where they come from. */
export interface ListingData {
  operator: OperatorInfo
  /** Unix ms. */
  now: number
  network: string | undefined
  /** Live servers that matched, including any beyond `entries`. */
  total: number
  entries: readonly ViewEntry[]
}

function banner(d: ListingData | { operator: OperatorInfo; now: number }): string[] {
  const o = d.operator
  const who = [o.name === '' ? 'metatracker' : `metatracker ${o.name}`]
  if (o.location !== '') who.push(`(${o.location})`)
  const lines = [`# ${plainText(who.join(' '))}`]
  if (o.contact !== '') lines.push(`# contact: ${plainText(o.contact)}`)
  lines.push(`# ${new Date(d.now).toISOString()}`)
  return lines
}

function scope(d: ListingData): string {
  const where = d.network === undefined ? 'all networks' : `network ${d.network}`
  return `# ${where}: ${d.total} server${d.total === 1 ? '' : 's'}`
}

/**
 * Join lines up to `maxBytes` (UTF-8) including the closing line; when something is left out
 * the end line says how many servers were shown.
 */
function capped(head: string[], items: string[], total: number, maxBytes: number): string {
  let out = head.join('\n') + '\n'
  let size = Buffer.byteLength(out)
  let shown = 0
  const reserve = 80 // room for the end line
  for (const item of items) {
    const s = Buffer.byteLength(item) + 1
    if (size + s + reserve > maxBytes) break
    out += item + '\n'
    size += s
    shown++
  }
  const end =
    shown === total
      ? LISTING_END
      : `--- metatracker listing truncated: ${shown} of ${total} servers shown ---`
  return out + end + '\n'
}

function players(e: ViewEntry): string {
  const s = e.record.server
  return s === null ? '-' : `${s.players}/${s.maxPlayers}`
}

function firstConnect(e: ViewEntry): string {
  const ep = connectEndpoints(e)[0] ?? e.observed
  return endpointToString(ep)
}

/** `text`: one line per server: endpoint, players/max, world, name (and network when mixed). */
export function renderText(d: ListingData, maxBytes: number): string {
  const items = d.entries.map(e => {
    const s = e.record.server
    const cols = [
      firstConnect(e).padEnd(21),
      players(e).padStart(9),
      (s === null || s.world === '' ? '-' : plainText(s.world)).padEnd(12),
    ]
    if (d.network === undefined) cols.unshift(e.record.network.padEnd(16))
    cols.push(plainText(s?.name ?? ''))
    return cols.join(' ')
  })
  return capped([...banner(d), scope(d), LISTING_START], items, d.total, maxBytes)
}

/** `verbose`: one block per server with everything a person may want, blank line between. */
export function renderVerbose(d: ListingData, maxBytes: number): string {
  const items = d.entries.map(e => {
    const s = e.record.server
    const row = (k: string, v: string): string => `  ${k.padEnd(9)} ${v}`
    const lines = [plainText(s?.name ?? '(peer)')]
    lines.push(row('network', e.record.network))
    lines.push(row('connect', connectEndpoints(e).map(endpointToString).join(', ')))
    lines.push(row('observed', endpointToString(e.observed)))
    if (s !== null) {
      lines.push(row('players', `${s.players}/${s.maxPlayers}`))
      lines.push(row('world', s.world === '' ? '-' : plainText(s.world)))
      lines.push(row('version', s.version === '' ? '-' : plainText(s.version)))
      lines.push(row('tags', s.tags.length === 0 ? '-' : s.tags.map(plainText).join(', ')))
    }
    lines.push(row('age', formatDuration(ageSeconds(e, d.now))))
    lines.push(row('verified', e.verified ? 'yes' : 'no'))
    lines.push(row('key', Buffer.from(e.record.publicKey).toString('hex')))
    return lines.join('\n') + '\n'
  })
  return capped([...banner(d), scope(d), LISTING_START], items, d.total, maxBytes)
}

/**
 * `json`: after the demarcation line, one JSON document (entries as the HTTP API shows them).
 * Entries are added while the document stays under `maxBytes`; `truncated` says if any were
 * left out. The document is one line, followed by a newline.
 */
export function renderJson(d: ListingData, maxBytes: number): string {
  const head = LISTING_START + '\n'
  const doc = {
    network: d.network ?? null,
    generated: new Date(d.now).toISOString(),
    total: d.total,
    truncated: false,
  }
  const open = JSON.stringify(doc).slice(0, -1) + ',"servers":['
  const close = ']}\n'
  // `truncated` may flip to true, which is one byte shorter than false: no reserve needed.
  let size = Buffer.byteLength(head) + Buffer.byteLength(open) + close.length
  const parts: string[] = []
  for (const e of d.entries) {
    const s = JSON.stringify(entryJson(e, d.now))
    const n = Buffer.byteLength(s) + (parts.length > 0 ? 1 : 0)
    if (size + n > maxBytes) break
    parts.push(s)
    size += n
  }
  doc.truncated = parts.length < d.total
  return head + JSON.stringify(doc).slice(0, -1) + ',"servers":[' + parts.join(',') + close
}

/**
 * `info`: the file's text; when it cannot be read, the operator's contact instead (as
 * MetaServerII sent its admin address), so the port never answers with nothing.
 */
export function renderInfo(
  content: string | null,
  operator: OperatorInfo,
  now: number,
  maxBytes: number,
): string {
  const head = [...banner({ operator, now }), LISTING_START].join('\n') + '\n'
  let body: string
  if (content !== null) body = content.endsWith('\n') || content === '' ? content : content + '\n'
  else if (operator.contact !== '')
    body = `No information file is available here. Contact: ${plainText(operator.contact)}\n`
  else body = 'No information file is available here.\n'
  const out = head + body
  if (Buffer.byteLength(out) <= maxBytes) return out
  // Cut on a character boundary: decode the capped bytes, dropping a split last character.
  return Buffer.from(out)
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\ufffd$/, '')
}
