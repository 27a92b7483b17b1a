import { createHash } from 'node:crypto'
import {
  formatBytes,
  formatDuration,
  formatInt,
  formatPercent,
  formatRate,
  plainText,
} from './format.js'
import type { StatusModel } from './summary.js'
import { escapeHtml } from '../html.js'

/*
 * The status page for people: one self-contained HTML document (no script, no external asset),
 * rendered from plain data. Every value passes through `escapeHtml`; the style sheet is inline
 * and allowed by its hash in the Content-Security-Policy the HTTP listener sends.
 */

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; padding: 1.5rem; max-width: 52rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 0.2rem 1rem 0.2rem 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
meter { width: 10rem; }
footer { margin-top: 2rem; font-size: 0.85rem; opacity: 0.8; }
`.trim()

/** The CSP source that allows exactly the inline style above. */
export const STATUS_STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`

/** The Content-Security-Policy the status page is served with. */
export const STATUS_CSP = `default-src 'none'; style-src ${STATUS_STYLE_HASH}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

function text(value: string, fallback: string): string {
  return value === ''
    ? `<span class="none">${escapeHtml(fallback)}</span>`
    : escapeHtml(plainText(value))
}

export function renderStatusPage(m: StatusModel): string {
  const name = m.operator.name === '' ? 'unnamed tracker' : m.operator.name
  const t = m.table
  const drops =
    m.drops.length === 0
      ? '<p id="drops-none">No drops.</p>'
      : `<table id="drops"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody>${m.drops
          .map(
            d =>
              `<tr><td>${escapeHtml(d.reason)}</td><td class="n" data-value="${escapeHtml(d.count)}">${escapeHtml(formatInt(d.count))}</td></tr>`,
          )
          .join('')}</tbody></table>`
  const counters =
    m.counters.length === 0
      ? '<p>No counters.</p>'
      : `<table id="counters"><thead><tr><th>counter</th><th>value</th></tr></thead><tbody>${m.counters
          .map(
            s =>
              `<tr><td>${escapeHtml(s.name)}</td><td class="n">${escapeHtml(formatInt(s.value))}</td></tr>`,
          )
          .join('')}</tbody></table>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>metatracker: ${escapeHtml(plainText(name))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>metatracker <span id="operator-name">${escapeHtml(plainText(name))}</span></h1>
<dl id="operator">
<dt>Location</dt><dd id="operator-location">${text(m.operator.location, 'not given')}</dd>
<dt>Contact</dt><dd id="operator-contact">${text(m.operator.contact, 'not given')}</dd>
<dt>Uptime</dt><dd id="uptime" data-seconds="${escapeHtml(m.uptimeSeconds)}">${escapeHtml(formatDuration(m.uptimeSeconds))}</dd>
<dt>Version</dt><dd id="version">${escapeHtml(m.version)}</dd>
</dl>
<h2>Table</h2>
<table id="table">
<thead><tr><th></th><th>held</th><th>budget</th><th>used</th><th></th></tr></thead>
<tbody>
<tr><th>entries</th><td class="n" id="table-entries" data-value="${escapeHtml(t.entries)}">${escapeHtml(formatInt(t.entries))}</td><td class="n" id="table-max-entries">${escapeHtml(formatInt(t.maxEntries))}</td><td class="n">${escapeHtml(formatPercent(t.entries, t.maxEntries))}</td><td><meter min="0" max="${escapeHtml(Math.max(1, t.maxEntries))}" value="${escapeHtml(t.entries)}"></meter></td></tr>
<tr><th>bytes</th><td class="n" id="table-bytes" data-value="${escapeHtml(t.bytes)}">${escapeHtml(formatBytes(t.bytes))}</td><td class="n" id="table-max-bytes">${escapeHtml(formatBytes(t.maxBytes))}</td><td class="n">${escapeHtml(formatPercent(t.bytes, t.maxBytes))}</td><td><meter min="0" max="${escapeHtml(Math.max(1, t.maxBytes))}" value="${escapeHtml(t.bytes)}"></meter></td></tr>
</tbody>
</table>
<h2>Traffic, last minute</h2>
<table id="rates">
<tr><th>announces per second</th><td class="n" id="rate-announces">${escapeHtml(formatRate(m.announcesPerSecond))}</td></tr>
<tr><th>queries per second</th><td class="n" id="rate-queries">${escapeHtml(formatRate(m.queriesPerSecond))}</td></tr>
</table>
<h2>Drops by reason</h2>
${drops}
<h2>Counters</h2>
${counters}
</main>
<footer>
Generated ${escapeHtml(new Date(m.now).toISOString())}.
Machine-readable: <a href="/metrics">/metrics</a> (Prometheus), <a href="/healthz">/healthz</a>,
<code>/v1/servers?network=NAME</code>, <code>/v1/peers?network=NAME</code>.
</footer>
</body>
</html>
`
}
