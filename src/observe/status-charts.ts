import { escapeHtml } from '../html.js'

/*
 * Small inline SVG charts for the status page: one polyline per series over a fixed view box,
 * scaled to the largest value shown. No script, no style attribute (the CSP allows neither
 * inline): colours come from classes in web/web.css. web/status.js draws the same shapes when
 * the page updates itself (`chartPoints` there mirrors this one).
 */

export const CHART_WIDTH = 120
export const CHART_HEIGHT = 32

/** The `points` of a polyline for `values` (oldest first) scaled to `max`; '' for < 2 values. */
export function chartPoints(values: readonly number[], max: number): string {
  if (values.length < 2) return ''
  const top = max > 0 ? max : 1
  const dx = CHART_WIDTH / (values.length - 1)
  return values
    .map((v, i) => {
      const y = CHART_HEIGHT - (Math.max(0, v) / top) * (CHART_HEIGHT - 2) - 1
      return `${(i * dx).toFixed(1)},${y.toFixed(1)}`
    })
    .join(' ')
}

export interface ChartLine {
  /** Legend text (may come from the network: escaped). */
  label: string
  values: readonly number[]
}

/**
 * A chart with one or more lines (`c0`.. `c5` classes); `format` writes the latest value and
 * the scale. An empty series says so in text rather than drawing a flat line.
 */
export function renderChart(
  id: string,
  title: string,
  lines: readonly ChartLine[],
  format: (n: number) => string,
  empty = 'no data yet',
): string {
  const max = Math.max(0, ...lines.flatMap(l => l.values))
  const drawn = lines.filter(l => l.values.length >= 2)
  const latest = lines.reduce((a, l) => a + (l.values.at(-1) ?? 0), 0)
  const body =
    drawn.length === 0
      ? `<p class="chart-empty">${escapeHtml(empty)}</p>`
      : `<svg class="chart-svg" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(`${title}, last hour`)}">${drawn
          .map(
            (l, i) =>
              `<polyline class="c${i % 6}" vector-effect="non-scaling-stroke" points="${chartPoints(l.values, max)}"></polyline>`,
          )
          .join('')}</svg>`
  const legend =
    lines.length > 1
      ? `<ul class="legend">${lines
          .map((l, i) => `<li class="c${i % 6}">${escapeHtml(l.label)}</li>`)
          .join('')}</ul>`
      : ''
  return `<figure class="chart" id="${escapeHtml(id)}"><figcaption><span>${escapeHtml(title)}</span> <span class="chart-now">${escapeHtml(format(latest))}</span> <span class="chart-max">max ${escapeHtml(format(max))}</span></figcaption>${body}${legend}</figure>`
}
