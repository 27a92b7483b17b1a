import { createHash } from 'node:crypto'
import { TrackerError } from '../errors.js'
import type {
  BootpageDocument,
  BootpageFreshness,
  BootpagePage,
  BootpageTracker,
} from './schema.js'
import { pageDigest } from './sign.js'
import { isoTime } from './verify.js'
import { escapeHtml } from '../html.js'

/**
 * The pure HTML renderer of bootpage/README.md's page contract. Every value from the page is
 * escaped; the output depends only on the document and the assets (no clock, no randomness),
 * so a committed index.html can be checked against a rebuild.
 *
 * bootpage/verify.js re-renders the `signed-content` part in the browser from the verified
 * JSON with the same labels and order; keep the two in step (the browser test compares them).
 */

export interface PageAssets {
  /** bootpage/template.html */
  template: string
  /** bootpage/style.css */
  style: string
  /** bootpage/verify.js */
  verifier: string
  /** tweetnacl's nacl-fast.min.js */
  nacl: string
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** The labelled lines shown for one tracker, in display order (verify.js mirrors this). */
export function trackerRows(t: BootpageTracker): [label: string, value: string][] {
  const rows: [string, string][] = [['Operator', t.operator]]
  if (t.location !== undefined) rows.push(['Location', t.location])
  if (t.contact !== undefined) rows.push(['Contact', t.contact])
  if (t.udp !== undefined) rows.push(['UDP', hostPort(t.host, t.udp)])
  if (t.tcp !== undefined) rows.push(['TCP', hostPort(t.host, t.tcp)])
  if (t.http !== undefined) rows.push(['HTTP', `http://${hostPort(t.host, t.http)}/`])
  if (t.key !== undefined) rows.push(['Key', t.key])
  if (t.notes !== undefined) rows.push(['Notes', t.notes])
  return rows
}

/** The page facts shown above the list (verify.js mirrors this). */
export function factRows(page: BootpagePage): [label: string, value: string][] {
  return [
    ['Network', page.network],
    ['Sequence', String(page.sequence)],
    ['Issued', isoTime(page.issuedAt)],
    ['Valid until', isoTime(page.validUntil)],
    ['Threshold', `${page.threshold} of ${page.operators.length} operators`],
    ...(page.freshness === undefined ? [] : [freshnessRow(page.freshness)]),
  ]
}

/** docs/bootpage.md §9: who stamps the page, and for how long at most (verify.js mirrors it). */
function freshnessRow(f: BootpageFreshness): [string, string] {
  const keys = f.keys.map(k => `${k.name} ${k.key}`).join(', ')
  return [
    'Freshness',
    `a stamp signed by ${f.threshold} of ${f.keys.length} online keys (${keys}), valid at most ${f.maxLifetime} s`,
  ]
}

function dl(rows: [string, string][], cls: string): string {
  const items = rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
  return `<dl class="${cls}">${items.join('')}</dl>`
}

/** The part of the page the browser script re-renders from the verified JSON. */
export function renderSignedContent(page: BootpagePage): string {
  const trackers = page.trackers.map(
    t =>
      `<article class="tracker"><h3>${escapeHtml(t.name)}</h3>\n${dl(trackerRows(t), 'rows')}</article>`,
  )
  const operators = page.operators.map(
    o =>
      `<li><span class="op-name">${escapeHtml(o.name)}</span> <code class="op-key">${escapeHtml(o.key)}</code> <span class="op-status"></span></li>`,
  )
  return [
    `<section id="facts">${dl(factRows(page), 'facts')}</section>`,
    `<section id="trackers"><h2>Trackers (${page.trackers.length})</h2>\n${trackers.join('\n')}</section>`,
    `<section id="operators"><h2>Operators</h2>\n<ul>${operators.join('\n')}</ul></section>`,
  ].join('\n')
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

function checkInline(name: string, body: string, closer: string): void {
  if (body.toLowerCase().includes(closer))
    throw new TrackerError('BOOTPAGE_BAD_TEMPLATE', `${name} contains ${closer}`)
}

const SLOTS = ['title', 'csp', 'digest', 'style', 'content', 'nacl', 'verifier'] as const

/** The whole index.html: template slots filled, scripts and style inlined, a hash-based CSP. */
export function renderBootpageHtml(doc: BootpageDocument, assets: PageAssets): string {
  checkInline('style.css', assets.style, '</style')
  checkInline('nacl', assets.nacl, '</script')
  checkInline('verify.js', assets.verifier, '</script')
  const used = new Set([...assets.template.matchAll(/\{\{(\w+)\}\}/g)].map(m => m[1]))
  for (const slot of SLOTS) {
    if (!used.has(slot))
      throw new TrackerError('BOOTPAGE_BAD_TEMPLATE', `template lacks the {{${slot}}} slot`)
  }
  for (const slot of used) {
    if (!(SLOTS as readonly (string | undefined)[]).includes(slot))
      throw new TrackerError('BOOTPAGE_BAD_TEMPLATE', `template has an unknown slot {{${slot}}}`)
  }
  // The only script and style allowed to run are the inlined ones; the only fetch is 'self'
  // (bootpage.json and, when the page declares stamps, bootpage.stamp.json next to the page).
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(assets.nacl)} ${sha256(assets.verifier)}`,
    `style-src ${sha256(assets.style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const values: Record<(typeof SLOTS)[number], string> = {
    title: escapeHtml(`metatracker bootpage: ${doc.page.network}`),
    csp, // our own text: directives, base64 hashes and single quotes (no " < & >)
    digest: pageDigest(doc.page),
    style: assets.style,
    content: renderSignedContent(doc.page),
    nacl: assets.nacl,
    verifier: assets.verifier,
  }
  // One pass: text inserted into a slot is never scanned for further slots.
  return assets.template.replace(
    /\{\{(\w+)\}\}/g,
    (_m, name: string) => values[name as (typeof SLOTS)[number]],
  )
}
