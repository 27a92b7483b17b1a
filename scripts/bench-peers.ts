// metatracker beside its peers and the UDP ceilings, in one run, on loopback only.
// Usage: npm run bench:peers [-- --rounds 6 --seconds 2 --warmup 0.5 --sockets 4 --window 32
//          --memory-entries 1000000 (0 = skip) --fresh-rate N --workers 0,1,2 --no-write]
//
// A closed-loop load generator written in C (scripts/loadgen/loadgen.c, compiled here with gcc
// into a temp dir) drives, one after another and round by round, every target in its own
// process: a C echo server (the kernel's ceiling), a node:dgram echo server (the runtime's),
// opentracker (Debian's package, BEP 15), bittorrent-tracker (npm, installed into the temp dir,
// BEP 15) and metatracker (refresh announces, sample queries, fresh signed announces: one
// tracker per `verifyWorkers` count of --workers, by default 0 (the main thread) and 1..N, N
// the cores, each against one core's verify rate: the scaling curve of docs/operations.md,
// "Verify workers"). One core's node:crypto verify rate is measured between them. Each figure is the
// median over the rounds; the table is printed and written into docs/benchmarks.md between the
// bench:peers markers. Then, unless --memory-entries 0, memory per entry at 1,000,000 entries.
// Not a test: figures depend on the machine and its load. Nothing leaves 127.0.0.1.
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import {
  type LoadResult,
  type LoadShape,
  type LoadSpec,
  loadArgs,
  runLoad,
  signFresh,
  startVerifier,
} from './peers/measure.js'
import { measureMemory } from './peers/memory.js'
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
  buildMetatracker,
  cEcho,
  compile,
  findOpentracker,
  installBittorrentTracker,
  metatracker,
  nodeEcho,
  opentracker,
} from './peers/servers.js'
import { type Row, renderTable } from './peers/table.js'

const argv = process.argv.slice(2)
if (argv.includes('--help')) {
  console.log(
    'npm run bench:peers [-- --rounds 6 --seconds 2 --warmup 0.5 --sockets 4 --window 32\n' +
      '  --memory-entries 1000000 (0 = skip) --fresh-rate N (fresh announces signed per second\n' +
      '  of measurement) --workers 0,1,..,cores (verifyWorkers counts for the fresh rows)\n' +
      '  --no-write (print only; otherwise the table goes into docs/benchmarks.md)]',
  )
  process.exit(0)
}
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
const cores = cpus().length
// Fresh announces signed ahead per second of measurement: enough for the fastest tracker.
const freshRate = arg('--fresh-rate', 10_000 * Math.max(1, Math.min(8, cores)))
const workersArg = argv[argv.indexOf('--workers') + 1]
/** verifyWorkers counts measured: 0 (main thread) and 1..cores unless --workers says. */
const workerCounts =
  argv.includes('--workers') && workersArg !== undefined
    ? workersArg.split(',').map(Number)
    : Array.from({ length: cores + 1 }, (_, i) => i)
if (workerCounts.some(n => !Number.isInteger(n) || n < 0 || n > 256)) {
  throw new Error(`--workers: a comma list of counts from 0 to 256, got ${workersArg}`)
}
const write = !argv.includes('--no-write')
const FRESH_KEYS = 20_000 // more than the tracker's KeyObject cache (16,384): every key is new to it
const REFRESH_RECORDS = 256
const SAMPLE_ENTRIES = 10_000
const docsFile = new URL('../docs/benchmarks.md', import.meta.url).pathname
const BEGIN = '<!-- bench:peers:begin -->'
const END = '<!-- bench:peers:end -->'
const t0 = performance.now()
const log = (s: string): void => {
  console.error(`[bench:peers ${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`)
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
  log(`temp dir ${tmp}; compiling the generator and the tracker, fetching peers, signing`)
  const at = Math.floor(Date.now() / 1000)
  const freshNeeded = Math.ceil(rounds * (shape.seconds + shape.warmup) * freshRate)
  const seqs = Math.max(1, Math.ceil(freshNeeded / FRESH_KEYS))
  const [tools, dist, freshFiles, btFailed, otFound] = await Promise.all([
    compile(tmp),
    buildMetatracker(),
    signFresh(join(tmp, 'fresh'), FRESH_KEYS, seqs, at, Math.max(1, Math.min(8, cores))),
    installBittorrentTracker(join(tmp, 'bt')),
    findOpentracker(tmp),
  ])
  log('built, fetched and signed')
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
  const mt = await metatracker(dist, SAMPLE_ENTRIES)
  servers.push(mt)
  const mtSpec = (f: string, expect: string[]): LoadSpec => ({
    port: mt.port,
    proto: 'mt',
    file: f,
    expect,
  })
  // Store the refresh records (each answered `new`); every later send is a refresh. A pass that
  // loses a datagram is run again: then every record is answered, `new` or `refreshed`.
  for (let pass = 1; ; pass++) {
    const primed = await runLoad(
      tools.loadgen,
      { ...mtSpec(refreshFile, ['0=13']), once: true },
      { sockets: 1, window: 1, seconds: 30, warmup: 0 },
      mt.pid,
    )
    if (primed.ok === REFRESH_RECORDS) break
    if (pass === 3) {
      throw new Error(`metatracker answered ${primed.ok} of ${REFRESH_RECORDS} refresh records`)
    }
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
    mtSpec(sampleFile, ['0=15', '7=08']), // introductions holding 8 entries
  )
  // One tracker per worker count, each with its own cursor over the same pre-signed announces
  // (each process has its own table, so every record is fresh to it).
  const freshTargets: Target[] = []
  for (const workers of workerCounts) {
    const server = await metatracker(dist, 0, workers)
    servers.push(server)
    const how = workers === 0 ? 'main thread' : `${workers} verify worker${workers > 1 ? 's' : ''}`
    const t: Target = {
      key: `fresh${workers}`,
      label: `metatracker fresh signed announces (new key or higher seq), ${how}`,
      server,
      spec: {
        port: server.port,
        proto: 'mt',
        file: freshFile,
        expect: ['0=13'],
        once: true,
        skip: 0,
      },
      results: [],
    }
    freshTargets.push(t)
    targets.push(t)
  }

  const verifier = await startVerifier(freshFile, FRESH_KEYS)
  const verifyNew: Row = {
    key: 'verify',
    label: 'node:crypto Ed25519 verify, one core, new keys (import + verify)',
    samples: [],
  }
  const verifyCached: Row = {
    key: 'verifyCached',
    label: 'node:crypto Ed25519 verify, one core, cached KeyObject',
    samples: [],
  }
  let verifyAt = 0

  let freshRanOut = 0
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1}/${rounds}`)
    // Rotate the order each round so a drift in the machine's load hits every target alike.
    const order = [...targets.map(t => t.key), 'verify']
    const shift = r % order.length
    for (const key of [...order.slice(shift), ...order.slice(0, shift)]) {
      if (key === 'verify') {
        for (const [row, items, secs] of [
          [verifyNew, false, shape.seconds],
          [verifyCached, true, shape.seconds / 2],
        ] as const) {
          const v = await verifier.run(secs, verifyAt, items)
          row.samples.push({ rate: v.rate, serverCpu: v.cpu, generatorCpu: null, bad: 0 })
        }
        verifyAt += 7919 // start elsewhere in the cycle each round
        continue
      }
      const t = targets.find(x => x.key === key)
      if (t === undefined) continue
      const res = await runLoad(tools.loadgen, t.spec, shape, t.server.pid)
      if (freshTargets.includes(t)) {
        if (res.exhausted) freshRanOut++
        t.spec = { ...t.spec, skip: res.next }
      }
      t.results.push(res)
    }
  }
  verifier.stop()
  const load1 = loadavg()

  // --- memory per entry at 1M ------------------------------------------------------------------
  const memory: string[] = []
  if (memoryEntries > 0) {
    log(`memory at ${memoryEntries.toLocaleString('en-US')} entries`)
    const ot = servers.find(s => s.name === 'opentracker') ?? null
    for (const s of servers) if (s !== ot) await s.stop()
    memory.push(
      ...(await measureMemory({
        entries: memoryEntries,
        tmp,
        loadgen: tools.loadgen,
        dist,
        btDir: btFailed === null ? join(tmp, 'bt') : null,
        opentracker: ot,
      })),
    )
  }

  // --- the table --------------------------------------------------------------------------------
  const rows: Row[] = targets.map(t => ({
    key: t.key,
    label: t.label,
    samples: t.results.map(x => ({
      rate: x.rate,
      serverCpu: x.serverCpu,
      generatorCpu: x.cpu / x.wall,
      bad: x.bad,
    })),
  }))
  for (const freshRow of rows.filter(r => freshTargets.some(t => t.key === r.key))) {
    freshRow.note = (f, all) => {
      const v = all.get('verify')
      if (v === undefined) return ''
      const cpu =
        f.perCpu !== null && v.perCpu !== null
          ? `, ${(f.perCpu / v.perCpu).toFixed(2)} per CPU-s`
          : ''
      return `; **${(f.rate / v.rate).toFixed(2)}** of one core's verify${cpu}`
    }
  }
  rows.push(verifyNew, verifyCached)
  const lines = renderTable(rows, 'echo')
  const cmdline = `npm run bench:peers${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  const cpuModel = cpus()[0]?.model ?? 'unknown CPU'
  const notes: string[] = [
    '',
    `- **Run:** ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmdline}\`, ${rounds} rounds, each target ${shape.warmup} s warm-up + ${shape.seconds} s measured per round, order rotated every round; figures are medians over the rounds.`,
    `- **Machine:** ${cpus().length} × ${cpuModel}, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, node ${process.version}; load average ${load0.map(x => x.toFixed(1)).join(' ')} before, ${load1.map(x => x.toFixed(1)).join(' ')} after (other work shares the machine: read the ratios).`,
    `- **Generator:** \`scripts/loadgen/loadgen.c\` (gcc -O2), closed loop, ${shape.sockets} sockets × ${shape.window} requests in flight on 127.0.0.1, e.g. \`loadgen ${loadArgs({ ...(freshTargets[0]?.spec ?? mtSpec(freshFile, ['0=13'])), file: 'fresh.bin', port: 0 }, shape).join(' ')}\`. A reply counts only when it is the expected kind (BEP 15 announce reply; metatracker \`announce-reply\` \`refreshed\`, \`introductions\` of 8 entries, \`announce-reply\`). "generator CPU" is its share of one core: the C echo row shows how far the generator itself goes.`,
    `- **Targets:** C echo (${ce.version}); node:dgram echo (${ne.version}); opentracker ${typeof otFound === 'string' ? '(skipped)' : `${otFound.version}, whitelist of 16 torrents, UDP only, chrooted, as \`nobody\``}; bittorrent-tracker ${btFailed === null ? `${BT_VERSION} from npm into the temp dir (\`server.js\` only, UDP 127.0.0.1)` : '(skipped)'}; BEP 15 announces of 256 peers of one torrent, numwant 8, after a connect per socket; metatracker: a \`Daemon\` of this tree built with tsc (as it ships, no tsx) in its own process, per-block caps raised, ${SAMPLE_ENTRIES.toLocaleString('en-US')} peers held for the sample, ${REFRESH_RECORDS} records refreshed, fresh announces pre-signed in Node (${FRESH_KEYS.toLocaleString('en-US')} new keys × seq 1..${seqs}, each key back only after all the others, so the tracker's KeyObject cache never holds it), sent to one tracker per \`verifyWorkers\` count (${workerCounts.join(', ')}; 0 = on the main thread), each with its own cursor over them; the fresh rows' ratio is to one core's verify rate (new keys), and their server CPU counts every thread of the tracker's process.`,
    `- **Verify** rows: \`verifyBytes\` (the tracker's own, strict checks included) in a loop in its own process (\`scripts/peers/verify-child.ts\`), over the fresh announces' own signatures; "server CPU" is that process's share of a core.`,
    `- **Columns:** ops/s is per wall second over the measured window; "ops per server CPU-s" divides it by the server's share of a core over the generator's run (from /proc), which the machine's other load moves much less.`,
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
