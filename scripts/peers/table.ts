// The markdown table of scripts/bench-peers.ts: medians over the rounds, ratios to the
// node:dgram echo ceiling, per wall second and per CPU-second of the server.

/** One round's figures for one row. */
export interface Sample {
  /** Operations per wall second, measured window only. */
  rate: number
  /** Share of one core the server used (null if unknown). */
  serverCpu: number | null
  /** Share of one core the generator used (null when no generator ran). */
  generatorCpu: number | null
  /** Replies of the wrong kind. */
  bad: number
}

export interface Row {
  key: string
  label: string
  samples: Sample[]
  /** Extra text for the ratio cell. */
  note?: (row: Figures, all: Map<string, Figures>) => string
}

export interface Figures {
  rate: number
  min: number
  max: number
  perCpu: number | null
  serverCpu: number | null
  generatorCpu: number | null
  bad: number
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  if (s.length === 0) return 0
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

function figures(samples: readonly Sample[]): Figures {
  const rates = samples.map(s => s.rate)
  const cpu = samples.flatMap(s => (s.serverCpu === null || s.serverCpu <= 0 ? [] : [s]))
  const gen = samples.flatMap(s => (s.generatorCpu === null ? [] : [s.generatorCpu]))
  return {
    rate: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    perCpu: cpu.length === 0 ? null : median(cpu.map(s => s.rate / (s.serverCpu ?? 1))),
    serverCpu: cpu.length === 0 ? null : median(cpu.map(s => s.serverCpu ?? 0)),
    generatorCpu: gen.length === 0 ? null : median(gen),
    bad: samples.reduce((n, s) => n + s.bad, 0),
  }
}

export const kilo = (n: number): string =>
  n >= 100_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0)
const pct = (x: number | null): string => (x === null ? '' : `${Math.round(100 * x)} %`)

/** The table's lines; `echoKey` names the row every ratio is taken against. */
export function renderTable(rows: readonly Row[], echoKey: string): string[] {
  const all = new Map(rows.map(r => [r.key, figures(r.samples)]))
  const echo = all.get(echoKey)
  const lines = [
    '| target | ops/s | range | vs node:dgram echo | ops per server CPU-s | vs echo, per CPU-s | server CPU | generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const r of rows) {
    const f = all.get(r.key)
    if (f === undefined || r.samples.length === 0) continue
    const ratio = echo === undefined ? '' : (f.rate / echo.rate).toFixed(2)
    const ratioCpu =
      echo?.perCpu == null || f.perCpu === null ? '' : (f.perCpu / echo.perCpu).toFixed(2)
    const note = r.note?.(f, all) ?? ''
    const bad = f.bad > 0 ? ` (${f.bad} unexpected replies)` : ''
    lines.push(
      `| ${r.label}${bad} | **${kilo(f.rate)}** | ${kilo(f.min)}–${kilo(f.max)} | ${ratio}${note} | ${f.perCpu === null ? '' : kilo(f.perCpu)} | ${ratioCpu} | ${pct(f.serverCpu)} | ${pct(f.generatorCpu)} |`,
    )
  }
  return lines
}
