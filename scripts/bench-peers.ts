// metatracker beside its peers and the UDP ceilings, in one run, on loopback only.
// Usage: npm run bench:peers [-- --rounds 6 --seconds 2 --warmup 0.5 --sockets 4 --window 32
//          --memory-entries 1000000 (0 = skip) --fresh-rate 12000 --no-write]
//
// A closed-loop load generator written in C (scripts/loadgen/loadgen.c, compiled here with gcc
// into a temp dir) drives, one after another and round by round, every target in its own
// process: a C echo server (the kernel's ceiling), a node:dgram echo server (the runtime's),
// opentracker (Debian's package, BEP 15), bittorrent-tracker (npm, installed into the temp dir,
// BEP 15) and metatracker (refresh announces, sample queries, fresh signed announces). One
// core's node:crypto verify rate is measured in this process between them. Each figure is the
// median over the rounds; the table is printed and written into docs/benchmarks.md between the
// bench:peers markers. Then, unless --memory-entries 0, memory per entry at 1,000,000 entries.
// Not a test: figures depend on the machine and its load. Nothing leaves 127.0.0.1.
import { execFile } from 'node:child_process'
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  type LoadResult,
  type LoadShape,
  type LoadSpec,
  loadArgs,
  runLoad,
  sigItems,
  signFresh,
  verifyLoop,
} from './peers/measure.js'
import {
  bep15Announces,
  echoPayload,
  payloadFile,
  sampleQuery,
  signedAnnounces,
} from './peers/payloads.js'
import {
  BT_VERSION,
  type Server,
  bittorrentTracker,
  cEcho,
  compile,
  findOpentracker,
  installBittorrentTracker,
  metatracker,
  nodeEcho,
  opentracker,
} from './peers/servers.js'

const argv = process.argv.slice(2)
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name)
  return i >= 0 ? Number(argv[i + 1] ?? fallback) : fallback
}
const rounds = arg('--rounds', 6)
const shape: LoadShape = {
  sockets: arg('--sockets', 4),
  window: arg('--window', 32),
  seconds: arg('--seconds', 2),
  warmup: arg('--warmup', 0.5),
}
const memoryEntries = arg('--memory-entries', 1_000_000)
const freshRate = arg('--fresh-rate', 12_000)
const write = !argv.includes('--no-write')
const FRESH_KEYS = 20_000 // more than the tracker's KeyObject cache (16,384): every key is new to it
const REFRESH_RECORDS = 256
const SAMPLE_ENTRIES = 10_000
const docsFile = new URL('../docs/benchmarks.md', import.meta.url).pathname
const BEGIN = '<!-- bench:peers:begin -->'
const END = '<!-- bench:peers:end -->'
const log = (s: string): void => {
  console.error(`[bench:peers] ${s}`)
}

interface Target {
  key: string
  label: string
  server: Server
  spec: LoadSpec
  results: LoadResult[]
}

const started = new Date()
const load0 = loadavg()
const tmp = await mkdtemp(join(tmpdir(), 'mt-bench-peers-'))
const servers: Server[] = []
const skipped: string[] = []
try {
  log(`temp dir ${tmp}; compiling the generator, fetching peers, signing fresh announces`)
  const at = Math.floor(Date.now() / 1000)
  const freshNeeded = Math.ceil(rounds * (shape.seconds + shape.warmup) * freshRate)
  const seqs = Math.max(1, Math.ceil(freshNeeded / FRESH_KEYS))
  const [tools, freshFiles, btFailed, otFound] = await Promise.all([
    compile(tmp),
    signFresh(join(tmp, 'fresh'), FRESH_KEYS, seqs, at, Math.max(1, Math.min(2, cpus().length))),
    installBittorrentTracker(join(tmp, 'bt')),
    findOpentracker(tmp),
  ])
  const freshFile = join(tmp, 'fresh.bin')
  await writeFile(freshFile, Buffer.concat(await Promise.all(freshFiles.map(f => readFile(f)))))
  const file = async (name: string, packets: Uint8Array[]): Promise<string> => {
    const path = join(tmp, name)
    await writeFile(path, payloadFile(packets))
    return path
  }
  const echoFile = await file('echo.bin', [echoPayload()])
  const bep15File = await file('bep15.bin', bep15Announces(256))
  const refreshFile = await file('refresh.bin', signedAnnounces(REFRESH_RECORDS, at))
  const sampleFile = await file('sample.bin', [sampleQuery()])

  log('starting servers')
  const targets: Target[] = []
  const add = (key: string, label: string, server: Server, spec: LoadSpec): void => {
    targets.push({ key, label, server, spec, results: [] })
  }
  const ce = await cEcho(tools.echo)
  servers.push(ce)
  add('cecho', 'C echo (kernel ceiling)', ce, {
    port: ce.port,
    proto: 'raw',
    file: echoFile,
    expect: [],
  })
  const ne = await nodeEcho()
  servers.push(ne)
  add('echo', 'node:dgram echo (runtime ceiling)', ne, {
    port: ne.port,
    proto: 'raw',
    file: echoFile,
    expect: [],
  })
  const bep15 = (port: number): LoadSpec => ({
    port,
    proto: 'bep15',
    file: bep15File,
    expect: ['0=00000001'], // announce reply, not an error
  })
  if (typeof otFound === 'string') {
    skipped.push(`opentracker: ${otFound}`)
  } else {
    try {
      const ot = await opentracker(tmp, otFound)
      servers.push(ot)
      add('ot', 'opentracker (C, unsigned BEP 15 connect + announce)', ot, bep15(ot.port))
    } catch (e) {
      skipped.push(`opentracker: ${(e as Error).message}`)
    }
  }
  if (btFailed !== null) {
    skipped.push(`bittorrent-tracker: ${btFailed}`)
  } else {
    const bt = await bittorrentTracker(join(tmp, 'bt'))
    servers.push(bt)
    add('bt', 'bittorrent-tracker (Node, unsigned BEP 15 connect + announce)', bt, bep15(bt.port))
  }
  const mt = await metatracker(SAMPLE_ENTRIES)
  servers.push(mt)
  const mtSpec = (f: string, expect: string[]): LoadSpec => ({
    port: mt.port,
    proto: 'mt',
    file: f,
    expect,
  })
  // Store the refresh records once (each answered `new`); every later send is a refresh.
  const primed = await runLoad(
    tools.loadgen,
    { ...mtSpec(refreshFile, ['0=13', '5=00']), once: true },
    { ...shape, seconds: 1, warmup: 0 },
    mt.pid,
  )
  if (primed.ok !== REFRESH_RECORDS) {
    throw new Error(`metatracker stored ${primed.ok} of ${REFRESH_RECORDS} refresh records`)
  }
  add(
    'refresh',
    'metatracker refresh announces (cookie, then exact bytes)',
    mt,
    mtSpec(refreshFile, ['0=13', '5=01']),
  )
  add(
    'sample',
    `metatracker sample queries (8 of ${SAMPLE_ENTRIES.toLocaleString('en-US')})`,
    mt,
    mtSpec(sampleFile, ['0=15']),
  )
  const fresh: Target = {
    key: 'fresh',
    label: 'metatracker fresh signed announces (new key or higher seq)',
    server: mt,
    spec: { ...mtSpec(freshFile, ['0=13']), once: true, skip: 0 },
    results: [],
  }
  targets.push(fresh)

  const verifyItems = await sigItems(freshFile, FRESH_KEYS)
  const verifyNew: number[] = []
  const verifyCached: number[] = []
  let verifyAt = 0
  const cachedItems = verifyItems.slice(0, 1000)
  verifyLoop(cachedItems, 0.2, 0) // import the cached set once

  let freshRanOut = 0
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1}/${rounds}`)
    // Rotate the order each round so a drift in the machine's load hits every target alike.
    const order = [...targets.map(t => t.key), 'verify']
    const shift = r % order.length
    for (const key of [...order.slice(shift), ...order.slice(0, shift)]) {
      if (key === 'verify') {
        verifyNew.push(verifyLoop(verifyItems, shape.seconds, verifyAt))
        verifyAt += 7919 // start elsewhere in the cycle each round
        verifyCached.push(verifyLoop(cachedItems, shape.seconds / 2, 0))
        continue
      }
      const t = targets.find(x => x.key === key)
      if (t === undefined) continue
      const res = await runLoad(tools.loadgen, t.spec, shape, t.server.pid)
      if (t === fresh) {
        if (res.exhausted) freshRanOut++
        fresh.spec = { ...fresh.spec, skip: res.next }
      }
      t.results.push(res)
    }
  }
  const load1 = loadavg()

  // --- memory per entry at 1M ------------------------------------------------------------------
  const memory: string[] = []
  if (memoryEntries > 0) {
    log(`memory at ${memoryEntries.toLocaleString('en-US')} entries`)
    for (const s of servers) await s.stop()
    servers.length = 0
    memory.push(...(await measureMemory(memoryEntries, btFailed === null ? join(tmp, 'bt') : null)))
  }

  // --- the table --------------------------------------------------------------------------------
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b)
    const m = s.length >> 1
    return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
  }
  const k = (n: number): string =>
    n >= 100_000
      ? `${Math.round(n / 1000)}k`
      : n >= 1000
        ? `${(n / 1000).toFixed(1)}k`
        : n.toFixed(0)
  const pct = (x: number | null): string => (x === null ? '?' : `${Math.round(100 * x)} %`)
  const echoRate = median(targets.find(t => t.key === 'echo')?.results.map(x => x.rate) ?? [1])
  const vNew = median(verifyNew)
  const vCached = median(verifyCached)
  const lines: string[] = []
  lines.push(
    '| target | ops/s (median) | range over rounds | vs node:dgram echo | server CPU | generator CPU |',
  )
  lines.push('|---|---:|---:|---:|---:|---:|')
  for (const t of targets) {
    const rates = t.results.map(x => x.rate)
    const m = median(rates)
    let ratio = (m / echoRate).toFixed(2)
    if (t === fresh) ratio += `; **${(m / vNew).toFixed(2)}** of one core's verify`
    const bad = t.results.reduce((n, x) => n + x.bad, 0)
    const badNote = bad > 0 ? ` (${bad} unexpected replies)` : ''
    lines.push(
      `| ${t.label}${badNote} | ${k(m)} | ${k(Math.min(...rates))}–${k(Math.max(...rates))} | ${ratio} | ${pct(median(t.results.map(x => x.serverCpu ?? 0)))} | ${pct(median(t.results.map(x => x.cpu / x.wall)))} |`,
    )
  }
  lines.push(
    `| node:crypto Ed25519 verify, one core, new keys (import + verify) | ${k(vNew)} | ${k(Math.min(...verifyNew))}–${k(Math.max(...verifyNew))} | ${(vNew / echoRate).toFixed(2)} | (this process) | |`,
  )
  lines.push(
    `| node:crypto Ed25519 verify, one core, cached KeyObject | ${k(vCached)} | ${k(Math.min(...verifyCached))}–${k(Math.max(...verifyCached))} | ${(vCached / echoRate).toFixed(2)} | (this process) | |`,
  )
  const cmdline = `npm run bench:peers${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU'
  const notes: string[] = [
    '',
    `- **Run:** ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmdline}\`, ${rounds} rounds, each target ${shape.warmup} s warm-up + ${shape.seconds} s measured per round, order rotated every round; figures are medians over the rounds.`,
    `- **Machine:** ${cpus().length} × ${cpuModel}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, node ${process.version}; load average ${load0.map(x => x.toFixed(1)).join(' ')} before, ${load1.map(x => x.toFixed(1)).join(' ')} after (other work shares the machine: read the ratios).`,
    `- **Generator:** \`scripts/loadgen/loadgen.c\` (gcc -O2), closed loop, ${shape.sockets} sockets × ${shape.window} requests in flight on 127.0.0.1, e.g. \`loadgen ${loadArgs({ ...fresh.spec, file: 'fresh.bin', port: 0 }, shape).join(' ')}\`. A reply counts only when it is the expected kind (BEP 15 announce reply; metatracker \`announce-reply\` \`refreshed\`, \`introductions\`, \`announce-reply\`). "generator CPU" is its share of one core: the C echo row shows how far the generator itself goes.`,
    `- **Targets:** C echo (${ce.version}); node:dgram echo (${ne.version}); opentracker ${typeof otFound === 'string' ? '(skipped)' : `${otFound.version}, whitelist of one torrent, UDP only, chrooted, as \`nobody\``}; bittorrent-tracker ${btFailed === null ? `${BT_VERSION} from npm into the temp dir (\`server.js\` only, UDP 127.0.0.1)` : '(skipped)'}; BEP 15 announces of 256 peers of one torrent, numwant 8, after a connect per socket; metatracker: a \`Daemon\` (this tree) in its own process, per-block caps raised, ${SAMPLE_ENTRIES.toLocaleString('en-US')} peers held for the sample, ${REFRESH_RECORDS} records refreshed, fresh announces pre-signed in Node (${FRESH_KEYS.toLocaleString('en-US')} new keys × seq 1..${seqs}, each key back only after all the others, so the tracker's KeyObject cache never holds it).`,
    `- **Verify** rows: \`verifyBytes\` (the tracker's own, strict checks included) in a loop in the bench process, over the fresh announces' own signatures.`,
  ]
  if (freshRanOut > 0)
    notes.push(
      `- **Warning:** the fresh announces ran out in ${freshRanOut} round(s): raise \`--fresh-rate\`.`,
    )
  for (const s of skipped) notes.push(`- **Skipped:** ${s}`)
  const block = [...lines, ...notes, ...(memory.length > 0 ? ['', ...memory] : [])].join('\n')
  console.log(block)
  if (write) {
    const doc = await readFile(docsFile, 'utf8')
    const a = doc.indexOf(BEGIN)
    const b = doc.indexOf(END)
    if (a < 0 || b < a) throw new Error(`docs/benchmarks.md has no ${BEGIN} ... ${END} markers`)
    await writeFile(docsFile, `${doc.slice(0, a + BEGIN.length)}\n${block}\n${doc.slice(b)}`)
    log('written into docs/benchmarks.md')
  }
} finally {
  for (const s of servers) await s.stop()
  await rm(tmp, { recursive: true, force: true })
}

async function measureMemory(entries: number, btDir: string | null): Promise<string[]> {
  const run = promisify(execFile)
  const here = new URL('./peers/', import.meta.url).pathname
  interface Mem {
    entries: number
    rssBefore: number
    rssAfter: number
    heapBefore: number
    heapAfter: number
    recordBytes?: number
  }
  const rows: string[] = [
    `Memory at ${entries.toLocaleString('en-US')} entries, each tracker filled through its own code in a fresh process, (RSS after − RSS before) / entries, both after full GCs:`,
    '',
    '| tracker | entries | RSS before | RSS after | RSS per entry | heap per entry |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(0)} MiB`
  const row = (label: string, m: Mem): void => {
    rows.push(
      `| ${label} | ${m.entries.toLocaleString('en-US')} | ${mib(m.rssBefore)} | ${mib(m.rssAfter)} | **${Math.round((m.rssAfter - m.rssBefore) / m.entries)} B** | ${Math.round((m.heapAfter - m.heapBefore) / m.entries)} B |`,
    )
  }
  const opts = { timeout: 600_000, maxBuffer: 1 << 20 }
  const mt = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', `${here}metatracker-server.ts`, '--memory', String(entries)],
    opts,
  )
  const m = JSON.parse(mt.stdout) as Mem
  row(
    `metatracker (${Math.round((m.recordBytes ?? 0) / m.entries)}-byte signed records, \`table.insert\`)`,
    m,
  )
  if (btDir !== null) {
    const bt = await run(
      process.execPath,
      ['--expose-gc', `${here}bt-server.mjs`, btDir, '--memory', String(entries)],
      opts,
    )
    row(
      'bittorrent-tracker (1,000 peers per torrent, its request path)',
      JSON.parse(bt.stdout) as Mem,
    )
  }
  return rows
}
