/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to check what a
 * scrape would see: every sample line parses, every sample belongs to a declared family.
 */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface PromScrape {
  types: Map<string, string>
  samples: PromSample[]
  value(name: string, labels?: Record<string, string>): number | undefined
}

// prom-client writes NaN as `Nan` (Prometheus reads both: Go's ParseFloat ignores case).
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|Nan|\+Inf|-Inf)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y

export function parsePrometheus(text: string): PromScrape {
  const types = new Map<string, string>()
  const samples: PromSample[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# HELP ')) continue
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ')
      if (name === undefined || type === undefined) throw new Error(`bad TYPE line: ${line}`)
      types.set(name, type)
      continue
    }
    const m = SAMPLE.exec(line)
    if (m === null) throw new Error(`bad sample line: ${line}`)
    const labels: Record<string, string> = {}
    const body = m[3] ?? ''
    LABEL.lastIndex = 0
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body)
      if (l === null) throw new Error(`bad labels: ${body}`)
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    const name = m[1]!
    const family = [...types.keys()].find(t => name === t || name.startsWith(`${t}_`))
    if (family === undefined) throw new Error(`sample without TYPE: ${name}`)
    samples.push({ name, labels, value: Number(m[4]) })
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      return samples.find(
        s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value
    },
  }
}
