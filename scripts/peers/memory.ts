// Memory per held entry for scripts/bench-peers.ts: metatracker and bittorrent-tracker each
// filled through their own code in a fresh process (in parallel), opentracker through the wire
// by the C generator (it has no other way in); (RSS after − RSS before) / entries.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { runLoad } from './measure.js'
import { bep15Distinct } from './payloads.js'
import { type Server, rssBytes } from './servers.js'

const run = promisify(execFile)
const here = new URL('.', import.meta.url).pathname

interface Mem {
  entries: number
  rssBefore: number
  rssAfter: number
  heapBefore?: number
  heapAfter?: number
  recordBytes?: number
}

export interface MemoryPlan {
  entries: number
  tmp: string
  loadgen: string
  /** The tsc build of src/ (see buildMetatracker). */
  dist: string
  /** bittorrent-tracker's install dir, or null when it was skipped. */
  btDir: string | null
  /** The running opentracker, or null when it was skipped. */
  opentracker: Server | null
}

async function opentrackerFill(plan: MemoryPlan, ot: Server): Promise<Mem | string> {
  const file = join(plan.tmp, 'ot-fill.bin')
  await writeFile(file, bep15Distinct(plan.entries))
  const before = await rssBytes(ot.pid)
  const res = await runLoad(
    plan.loadgen,
    { port: ot.port, proto: 'bep15', file, expect: ['0=00000001'], once: true, skip: 0 },
    { sockets: 4, window: 32, seconds: 120, warmup: 0 },
    ot.pid,
  )
  const after = await rssBytes(ot.pid)
  if (before === null || after === null) return 'opentracker: RSS not readable'
  // Replies lost on a full socket buffer leave their peers stored but uncounted: count the
  // requests sent instead, the upper bound (the figure per entry is then a lower bound).
  return { entries: res.sent, rssBefore: before, rssAfter: after }
}

export async function measureMemory(plan: MemoryPlan): Promise<string[]> {
  const { entries } = plan
  const opts = { timeout: 600_000, maxBuffer: 1 << 20 }
  const ot = plan.opentracker === null ? null : await opentrackerFill(plan, plan.opentracker)
  const [mt, bt] = await Promise.all([
    run(
      process.execPath,
      [
        '--expose-gc',
        `${here}metatracker-server.mjs`,
        '--dist',
        plan.dist,
        '--memory',
        String(entries),
      ],
      opts,
    ).then(r => JSON.parse(r.stdout) as Mem),
    plan.btDir === null
      ? Promise.resolve(null)
      : run(
          process.execPath,
          ['--expose-gc', `${here}bt-server.mjs`, plan.btDir, '--memory', String(entries)],
          opts,
        ).then(r => JSON.parse(r.stdout) as Mem),
  ])
  const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(0)} MiB`
  const rows: string[] = [
    `Memory at ${entries.toLocaleString('en-US')} entries, (RSS after − RSS before) / entries (opentracker first, alone, through the wire; then metatracker and bittorrent-tracker in parallel, each in a fresh process):`,
    '',
    '| tracker | how filled | entries | RSS before | RSS after | RSS per entry | heap per entry |',
    '|---|---|---:|---:|---:|---:|---:|',
  ]
  const row = (label: string, how: string, m: Mem): void => {
    const heap =
      m.heapAfter === undefined || m.heapBefore === undefined
        ? ''
        : `${Math.round((m.heapAfter - m.heapBefore) / m.entries)} B`
    rows.push(
      `| ${label} | ${how} | ${m.entries.toLocaleString('en-US')} | ${mib(m.rssBefore)} | ${mib(m.rssAfter)} | **${Math.round((m.rssAfter - m.rssBefore) / m.entries)} B** | ${heap} |`,
    )
  }
  const recordAvg = Math.round((mt.recordBytes ?? 0) / mt.entries)
  row(
    'metatracker',
    `\`Daemon\` with \`maxEntries\` ${entries.toLocaleString('en-US')} (counted from before it was built), \`table.insert\` of ${recordAvg}-byte signed records, full GCs after 2 s idle`,
    mt,
  )
  if (bt !== null)
    row(
      'bittorrent-tracker',
      'its request path (`_onRequest`), 100 peers per torrent, full GCs after 2 s idle',
      bt,
    )
  if (typeof ot === 'string') rows.push(`| opentracker | ${ot} | | | | | |`)
  else if (ot !== null)
    row('opentracker', 'BEP 15 announces over loopback (16 torrents × distinct ports)', ot)
  return rows
}
