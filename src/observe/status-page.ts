import type { Stat } from '../wire/messages.js'
import {
  formatBytes,
  formatDuration,
  formatInt,
  formatPercent,
  formatRate,
  plainText,
} from './format.js'
import { renderChart } from './status-charts.js'
import type { ServerRow, StatusJson } from './status-json.js'
import { escapeHtml } from '../html.js'

/*
 * The status page for people. Rendered whole on the server from the same object as
 * `/status.json` (so it reads without JavaScript), then kept live by web/status.js, which
 * fetches `/status.json` on a timer and redraws the figures, charts and the server list, and
 * sorts and filters that list. Every value from the network passes through `escapeHtml` here
 * and `textContent` there. Style and script are same-origin files (CSP below): nothing from
 * elsewhere, nothing inline.
 */

/** The Content-Security-Policy of the tracker's own pages (status page and server browser). */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** How often the page fetches `/status.json`, ms (the page says so in a data attribute). */
export const STATUS_REFRESH_MS = 10_000

function text(value: string, fallback: string): string {
  return value === ''
    ? `<span class="none">${escapeHtml(fallback)}</span>`
    : escapeHtml(plainText(value))
}

function percent(n: number): string {
  return `${(n * 100).toFixed(1)}%`
}

function ms(n: number): string {
  return `${n.toFixed(1)} ms`
}

function perSecond(n: number): string {
  return `${formatRate(n)}/s`
}

function bytesPerSecond(n: number): string {
  return `${formatBytes(n)}/s`
}

/** One row of the server list; web/status.js builds the same cells (`serverRow` there). */
export function serverRowHtml(network: string, s: ServerRow): string {
  const cells = [
    `<td data-sort="${escapeHtml(network)}">${escapeHtml(network)}</td>`,
    `<td class="name" data-sort="${escapeHtml(plainText(s.name).toLowerCase())}">${escapeHtml(plainText(s.name))}</td>`,
    `<td class="n" data-sort="${s.players}">${s.players}/${s.maxPlayers}</td>`,
    `<td>${escapeHtml(plainText(s.world))}</td>`,
    `<td>${escapeHtml(plainText(s.version))}</td>`,
    `<td class="tags">${s.tags.map(t => `<span class="tag">${escapeHtml(plainText(t))}</span>`).join(' ')}</td>`,
    `<td class="proof ${s.verified ? 'proven' : 'unproven'}" data-sort="${s.verified ? 1 : 0}">${s.verified ? 'proven' : 'not proven'}</td>`,
    `<td class="n" data-sort="${s.age}">${escapeHtml(formatDuration(s.age))}</td>`,
    `<td class="n" data-sort="${s.served}">${s.served}</td>`,
  ]
  return `<tr data-key="${escapeHtml(s.key)}" title="${escapeHtml(s.connect)}">${cells.join('')}</tr>`
}

function networksHtml(m: StatusJson): string {
  const none = `<p id="networks-none"${m.networks.length === 0 ? '' : ' hidden'}>No network is held yet.</p>`
  const summary = m.networks
    .map(
      n =>
        `<li><span class="net">${escapeHtml(n.network)}</span> ${formatInt(n.servers)} servers, ${formatInt(n.peers)} peers${n.list.length < n.servers ? ` (${n.list.length} listed)` : ''}</li>`,
    )
    .join('')
  const more = `<p id="networks-more"${m.networksNotListed > 0 ? '' : ' hidden'}>${formatInt(m.networksNotListed)} more networks not listed.</p>`
  const rows = m.networks.flatMap(n => n.list.map(s => serverRowHtml(n.network, s))).join('')
  const head = [
    ['network', 'network'],
    ['name', 'name'],
    ['players', 'players'],
    ['world', ''],
    ['version', ''],
    ['tags', ''],
    ['proven', 'proven'],
    ['age', 'age'],
    ['handed out', 'served'],
  ]
    .map(([label, key]) =>
      key === ''
        ? `<th scope="col">${label}</th>`
        : `<th scope="col"><button type="button" class="sort" data-sort-key="${key}">${label}</button></th>`,
    )
    .join('')
  return `${none}<ul id="network-list">${summary}</ul>${more}
<div class="controls">
<label>Filter <input id="filter" type="search" placeholder="name, world, tag" autocomplete="off"></label>
<label><input id="proven-only" type="checkbox"> proven only</label>
</div>
<div class="scroll"><table id="servers"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>
<p id="servers-shown" class="muted"></p>`
}

function chartsHtml(m: StatusJson): string {
  const h = m.history
  const drops = h.drops.map(d => ({ label: d.reason, values: d.values }))
  return [
    renderChart(
      'chart-announces',
      'Announces',
      [{ label: 'announces', values: h.announces }],
      perSecond,
    ),
    renderChart('chart-queries', 'Queries', [{ label: 'queries', values: h.queries }], perSecond),
    renderChart('chart-drops', 'Drops', drops, perSecond, 'no drops'),
    renderChart(
      'chart-egress',
      'Egress',
      [{ label: 'bytes', values: h.egressBytes }],
      bytesPerSecond,
      'not counted (no egress budget set)',
    ),
    renderChart('chart-cpu', 'CPU', [{ label: 'cpu', values: h.cpu }], percent),
  ].join('\n')
}

function dropsHtml(m: StatusJson): string {
  if (m.drops.length === 0) return '<p id="drops-none">No drops.</p>'
  return `<table id="drops"><thead><tr><th>reason</th><th>count</th></tr></thead><tbody>${m.drops
    .map(
      d =>
        `<tr><td>${escapeHtml(d.reason)}</td><td class="n" data-value="${d.count}">${escapeHtml(formatInt(d.count))}</td></tr>`,
    )
    .join('')}</tbody></table>`
}

function meterRow(id: string, label: string, v: number, max: number, f: (n: number) => string) {
  return `<tr><th scope="row">${label}</th><td class="n" id="table-${id}" data-value="${v}">${escapeHtml(f(v))}</td><td class="n" id="table-max-${id}">${escapeHtml(f(max))}</td><td class="n" id="table-${id}-used">${escapeHtml(formatPercent(v, max))}</td><td><meter id="table-${id}-meter" min="0" max="${Math.max(1, max)}" value="${v}"></meter></td></tr>`
}

export function renderStatusPage(
  m: StatusJson,
  counters: readonly Stat[],
  refreshMs = STATUS_REFRESH_MS,
): string {
  const name = m.operator.name === '' ? 'unnamed tracker' : m.operator.name
  const t = m.table
  const p = m.process
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<noscript><meta http-equiv="refresh" content="60"></noscript>
<title>metatracker: ${escapeHtml(plainText(name))}</title>
<link rel="stylesheet" href="/assets/web.css">
<link rel="icon" href="data:,">
<script src="/assets/status.js" defer></script>
</head>
<body data-refresh-ms="${Math.max(500, Math.floor(refreshMs))}">
<main>
<header>
<h1>metatracker <span id="operator-name">${escapeHtml(plainText(name))}</span></h1>
<p class="live muted" id="live" role="status">Updated ${escapeHtml(new Date(m.now).toISOString())}</p>
</header>
<dl id="operator">
<dt>Location</dt><dd id="operator-location">${text(m.operator.location, 'not given')}</dd>
<dt>Contact</dt><dd id="operator-contact">${text(m.operator.contact, 'not given')}</dd>
<dt>Uptime</dt><dd id="uptime" data-seconds="${m.uptime}">${escapeHtml(formatDuration(m.uptime))}</dd>
<dt>Version</dt><dd id="version">${escapeHtml(m.version)}</dd>
</dl>
<h2>Networks and servers</h2>
${networksHtml(m)}
<h2>Last hour</h2>
<div class="charts" id="charts">
${chartsHtml(m)}
</div>
<p class="muted">Last minute: <span id="rate-announces">${escapeHtml(formatRate(m.lastMinute.announces))}</span> announces/s, <span id="rate-queries">${escapeHtml(formatRate(m.lastMinute.queries))}</span> queries/s.</p>
<h2>Table and process</h2>
<div class="scroll"><table id="table">
<thead><tr><th></th><th>held</th><th>budget</th><th>used</th><th></th></tr></thead>
<tbody>
${meterRow('entries', 'entries', t.entries, t.maxEntries, formatInt)}
${meterRow('bytes', 'bytes', t.bytes, t.maxBytes, formatBytes)}
</tbody>
</table></div>
<dl id="process">
<dt>Memory (RSS)</dt><dd id="process-rss" data-value="${p.rssBytes}">${escapeHtml(formatBytes(p.rssBytes))}</dd>
<dt>CPU</dt><dd id="process-cpu">${escapeHtml(percent(p.cpu))} of one core</dd>
<dt>Event-loop lag</dt><dd id="process-lag">${escapeHtml(ms(p.lagP99Ms))} p99, ${escapeHtml(ms(p.lagMaxMs))} max</dd>
</dl>
<h2>Drops by reason</h2>
<div id="drops-box">${dropsHtml(m)}</div>
<details>
<summary>All counters (when the page was loaded)</summary>
<table id="counters"><tbody>${counters
    .map(
      s =>
        `<tr><td>${escapeHtml(s.name)}</td><td class="n">${escapeHtml(formatInt(s.value))}</td></tr>`,
    )
    .join('')}</tbody></table>
</details>
</main>
<footer>
Machine-readable: <a href="/status.json">/status.json</a>, <a href="/metrics">/metrics</a> (Prometheus),
<a href="/healthz">/healthz</a>, <code>/v1/servers?network=NAME</code>. Players: <a href="/browse">the server browser</a>,
which checks every record's signature in your browser.
</footer>
</body>
</html>
`
}
