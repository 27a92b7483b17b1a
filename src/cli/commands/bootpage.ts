import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { buildBootpage, writeBootpageFile } from '../../bootpage/build.js'
import { createDraft, parseBootpageTrackerSpec } from '../../bootpage/draft.js'
import {
  type BootpageDocument,
  type BootpageTracker,
  formatBootpage,
} from '../../bootpage/schema.js'
import { mergeBootpages, signBootpage } from '../../bootpage/sign.js'
import {
  type BootpageVerdict,
  isoTime,
  pinnedAnchor,
  verifyBootpage,
} from '../../bootpage/verify.js'
import { readBootpageSource } from '../../client/bootpage-source.js'
import { systemClock } from '../../clock.js'
import { keyPairFrom } from '../../crypto/keys.js'
import { isTrackerError, TrackerError } from '../../errors.js'
import type { CliIo } from '../io.js'
import { readKeyFile } from '../key-file.js'
import { readKeyList } from '../key-list.js'
import {
  checkStamp,
  describeStamp,
  type FreshnessOptions,
  freshnessFromOptions,
  parseDuration,
  type StampOptions,
  type StampReport,
  stampCommand,
} from './bootpage-stamp.js'
import { stampSourceFor } from '../../bootpage/stamp.js'

const collect = (value: string, previous: string[]): string[] => [...previous, value]

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `${name} must be an integer ${min}..${max}`)
    return Number(value)
  }
}

async function readDoc(path: string): Promise<BootpageDocument> {
  return readBootpageSource(path)
}

async function writeDoc(path: string, doc: BootpageDocument, force: boolean): Promise<void> {
  try {
    await writeBootpageFile(path, formatBootpage(doc), { exclusive: !force })
  } catch (err) {
    const cause = err instanceof Error ? err.cause : undefined
    if ((cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST')
      throw new TrackerError('BOOTPAGE_BAD_SPEC', `${path} exists (use --force)`, { cause })
    throw err
  }
}

async function readTrackersFile(path: string): Promise<BootpageTracker[]> {
  let value: unknown
  try {
    value = JSON.parse(await readFile(path, 'utf8'))
  } catch (cause) {
    throw new TrackerError('BOOTPAGE_BAD_SPEC', `cannot read trackers from ${path}`, { cause })
  }
  const list = Array.isArray(value)
    ? value
    : typeof value === 'object' && value !== null && 'trackers' in value
      ? value.trackers
      : null
  if (!Array.isArray(list))
    throw new TrackerError(
      'BOOTPAGE_BAD_SPEC',
      `${path}: expected an array of trackers or {"trackers": [...]}`,
    )
  return list as BootpageTracker[]
}

interface InitOptions extends FreshnessOptions {
  network?: string
  tracker: string[]
  trackers?: string
  operatorKey: string[]
  operator?: string
  threshold?: number
  sequence?: number
  validDays: number
  from?: string
  out?: string
  force: boolean
}

async function init(io: CliIo, opts: InitOptions): Promise<void> {
  const previous = opts.from === undefined ? null : (await readDoc(opts.from)).page
  const trackers: BootpageTracker[] =
    opts.trackers === undefined ? [] : await readTrackersFile(opts.trackers)
  for (const spec of opts.tracker) trackers.push(parseBootpageTrackerSpec(spec, opts.operator))
  const operators = await readKeyList(opts.operatorKey, 'operator key')
  const network = opts.network ?? previous?.network
  if (network === undefined) throw new TrackerError('BOOTPAGE_BAD_SPEC', '--network is required')
  const issuedAt = Math.floor(systemClock.now() / 1000)
  const freshness = await freshnessFromOptions(opts, previous?.freshness)
  const draft = createDraft({
    network,
    trackers: trackers.length > 0 ? trackers : (previous?.trackers ?? []),
    operators: operators.length > 0 ? operators : (previous?.operators ?? []),
    ...(opts.threshold !== undefined
      ? { threshold: opts.threshold }
      : previous !== null && operators.length === 0
        ? { threshold: previous.threshold }
        : {}),
    sequence: opts.sequence ?? (previous === null ? 1 : previous.sequence + 1),
    issuedAt,
    validUntil: issuedAt + opts.validDays * 86_400,
    ...(freshness === undefined ? {} : { freshness }),
  })
  if (opts.out === undefined) {
    io.out(formatBootpage(draft).trimEnd())
    return
  }
  await writeDoc(opts.out, draft, opts.force)
  const p = draft.page
  io.out(
    `draft ${opts.out}: network ${p.network}, sequence ${p.sequence}, ${p.trackers.length} tracker(s), ` +
      `${p.threshold} of ${p.operators.length} operators must sign, valid until ${isoTime(p.validUntil)}`,
  )
}

async function sign(io: CliIo, file: string, opts: { key: string; out?: string }): Promise<void> {
  const doc = await readDoc(file)
  const pair = keyPairFrom(await readKeyFile(opts.key, io))
  const signed = signBootpage(doc, pair.privateKey, pair.publicKey)
  await writeDoc(opts.out ?? file, signed, true)
  const verdict = verifyBootpage(signed, { now: systemClock.now() })
  const me = Buffer.from(pair.publicKey).toString('hex')
  const op = signed.page.operators.find(o => o.key === me)
  io.out(
    `signed by ${op === undefined ? `${me} (not an operator of this page: counts only for a rotation)` : `${op.name} ${me}`}; ` +
      `${verdict.signed} of ${signed.page.operators.length} operators have signed, ${signed.page.threshold} required`,
  )
  if (verdict.badSignatures.length > 0)
    io.err(
      `warning: ${verdict.badSignatures.length} other signature(s) do not verify over this page`,
    )
}

async function merge(
  io: CliIo,
  files: string[],
  opts: { out: string; force: boolean },
): Promise<void> {
  const docs = await Promise.all(files.map(readDoc))
  const merged = mergeBootpages(docs)
  await writeDoc(opts.out, merged, opts.force)
  io.out(`merged ${merged.signatures.length} signature(s) into ${opts.out}`)
}

function describe(verdict: BootpageVerdict, doc: BootpageDocument, pinned: boolean): string[] {
  const lines: string[] = []
  const days = Math.floor(Math.abs(verdict.expiresIn) / 86_400)
  lines.push(
    `bootpage for network ${verdict.network}, sequence ${verdict.sequence} (digest ${verdict.digest.slice(0, 16)})`,
  )
  lines.push(
    `issued ${isoTime(verdict.issuedAt)}, valid until ${isoTime(verdict.validUntil)} ` +
      (verdict.expiresIn > 0 ? `(in ${days} days)` : `(EXPIRED ${days} days ago)`),
  )
  lines.push(`operators (${verdict.threshold} of ${verdict.operators.length} must sign):`)
  const nameWidth = Math.max(...verdict.operators.map(o => o.name.length))
  for (const o of verdict.operators)
    lines.push(`  ${o.signed ? 'signed    ' : 'not signed'}  ${o.name.padEnd(nameWidth)}  ${o.key}`)
  for (const k of verdict.otherSigners)
    lines.push(`  also signed by ${k} (not an operator of this page)`)
  for (const k of verdict.badSignatures) lines.push(`  BAD signature claiming key ${k}`)
  if (verdict.anchor !== null)
    lines.push(
      `pinned keys: ${verdict.anchor.signed} of ${verdict.anchor.of} signed, ${verdict.anchor.required} required`,
    )
  else if (!pinned)
    lines.push('no --pin given: this shows only that the page is signed by the operators it names')
  lines.push(`trackers (${doc.page.trackers.length}):`)
  const trackerWidth = Math.max(...doc.page.trackers.map(t => t.name.length))
  const hostWidth = Math.max(...doc.page.trackers.map(t => t.host.length))
  for (const t of doc.page.trackers) {
    const ports = [
      t.udp === undefined ? '' : `udp ${t.udp}`,
      t.tcp === undefined ? '' : `tcp ${t.tcp}`,
      t.http === undefined ? '' : `http ${t.http}`,
    ].filter(s => s !== '')
    const where = [t.operator, t.location, t.contact].filter(s => s !== undefined).join(', ')
    lines.push(
      `  ${t.name.padEnd(trackerWidth)}  ${t.host.padEnd(hostWidth)}  ${ports.join('  ')}  (${where})`,
    )
  }
  if (verdict.valid)
    lines.push(`VALID: signed by ${verdict.signed} of ${verdict.operators.length} operators`)
  else for (const p of verdict.problems) lines.push(`NOT VALID: ${p.code}: ${p.message}`)
  return lines
}

interface VerifyOptions {
  pin: string[]
  pinThreshold?: number
  network?: string
  json: boolean
  timeout: number
  stamp?: string
}

async function verify(io: CliIo, source: string, opts: VerifyOptions): Promise<void> {
  const pins = opts.pin.length === 0 ? null : (await readKeyList(opts.pin, 'pin')).map(o => o.key)
  const anchor = pins === null ? null : pinnedAnchor(pins, opts.pinThreshold)
  let doc: BootpageDocument
  try {
    doc = await readBootpageSource(source, { timeoutMs: opts.timeout })
  } catch (err) {
    // Unreadable is a failure (exit 1); read but malformed is "not valid" (exit 3).
    if (
      !isTrackerError(err) ||
      err.code === 'BOOTPAGE_READ_FAILED' ||
      err.code === 'BOOTPAGE_FETCH_FAILED'
    )
      throw err
    if (opts.json)
      io.out(JSON.stringify({ valid: false, problems: [{ code: err.code, message: err.message }] }))
    else io.out(`NOT VALID: ${err.code}: ${err.message}`)
    throw new TrackerError('BOOTPAGE_NOT_VALID', `${source}: ${err.code}`)
  }
  const verdict = verifyBootpage(doc, {
    now: systemClock.now(),
    anchor,
    ...(opts.network === undefined ? {} : { network: opts.network }),
  })
  // A page that declares freshness stamps is valid only with a stamp that holds (§9).
  const stamp: StampReport | null =
    doc.page.freshness === undefined
      ? null
      : await checkStamp(doc, opts.stamp ?? stampSourceFor(source), opts.timeout * 1000)
  if (opts.json) io.out(JSON.stringify({ ...verdict, trackers: doc.page.trackers, stamp }))
  else {
    for (const line of describe(verdict, doc, pins !== null)) io.out(line)
    for (const line of stamp === null ? [] : describeStamp(stamp)) io.out(line)
  }
  const problems = [...verdict.problems, ...(stamp?.problems ?? [])]
  if (problems.length > 0) {
    throw new TrackerError(
      'BOOTPAGE_NOT_VALID',
      `${source}: ${problems.map(p => p.code).join(', ')}`,
    )
  }
}

async function build(
  io: CliIo,
  file: string,
  opts: { out: string; draft: boolean },
): Promise<void> {
  const doc = await readDoc(file)
  const verdict = verifyBootpage(doc, { now: systemClock.now() })
  if (!verdict.valid && !opts.draft) {
    for (const p of verdict.problems) io.err(`NOT VALID: ${p.code}: ${p.message}`)
    throw new TrackerError(
      'BOOTPAGE_NOT_VALID',
      `refusing to publish ${file} (--draft builds a preview anyway)`,
    )
  }
  const written = await buildBootpage(doc, opts.out)
  io.out(
    `wrote ${written.json} and ${written.html} (signed by ${verdict.signed} of ${verdict.operators.length} operators, ` +
      `${verdict.threshold} required${verdict.valid ? '' : '; NOT VALID, preview only'})`,
  )
}

export function registerBootpage(program: Command, io: CliIo): void {
  const cmd = program
    .command('bootpage')
    .description('the signed static list of trackers: init, sign, merge, build, stamp, verify')

  cmd
    .command('init')
    .description('write an unsigned draft bootpage from a list of trackers and operator keys')
    .option('--network <name>', 'network name')
    .option(
      '--tracker <spec>',
      'name=N,host=H,udp=P,tcp=P[,http=P,port=P,key=HEX,operator=O,location=L,contact=C,notes=X] (repeatable; \\, escapes a comma)',
      collect,
      [],
    )
    .option('--trackers <file>', 'JSON file: an array of trackers or {"trackers": [...]}')
    .option(
      '--operator-key <keys>',
      'operator public key: HEX, name=HEX, a comma list, or a file of "HEX name" lines (repeatable)',
      collect,
      [],
    )
    .option('--operator <name>', 'default operator name for --tracker entries without operator=')
    .option(
      '--threshold <k>',
      'signatures required (default: a majority)',
      intOption('--threshold', 1, 16),
    )
    .option(
      '--sequence <n>',
      'sequence number (default 1, or one more than --from)',
      intOption('--sequence', 1, Number.MAX_SAFE_INTEGER),
    )
    .option(
      '--valid-days <days>',
      'days until the page expires',
      intOption('--valid-days', 1, 36_500),
      90,
    )
    .option('--from <file>', 'start from a previous bootpage: same content, next sequence')
    .option(
      '--stamp-key <keys>',
      'online freshness-stamp key: HEX, name=HEX, a comma list or a file (repeatable; docs/bootpage.md §9)',
      collect,
      [],
    )
    .option(
      '--stamp-threshold <k>',
      'stamp keys that must sign a stamp (default 1)',
      intOption('--stamp-threshold', 1, 8),
    )
    .option(
      '--stamp-lifetime <duration>',
      'longest stamp the page allows: 36h, 2d, 90m (default 24h; at least 60s, at most 7d)',
      parseDuration('--stamp-lifetime'),
    )
    .option('--out <file>', 'write the draft here (default: stdout)')
    .option('--force', 'overwrite --out', false)
    .action((opts: InitOptions) => init(io, opts))

  cmd
    .command('sign')
    .description("add this operator's signature (offline); other signatures are kept as they are")
    .argument('<draft>', 'the bootpage file (signed in place unless --out)')
    .requiredOption('--key <file>', 'the operator private key (PEM PKCS#8)')
    .option('--out <file>', 'write the signed page here instead')
    .action((file: string, opts: { key: string; out?: string }) => sign(io, file, opts))

  cmd
    .command('merge')
    .description('merge the signatures of copies of one page signed in parallel')
    .argument('<drafts...>', 'signed copies of the same page')
    .requiredOption('--out <file>', 'where to write the merged page')
    .option('--force', 'overwrite --out', false)
    .action((files: string[], opts: { out: string; force: boolean }) => merge(io, files, opts))

  cmd
    .command('build')
    .description('write bootpage.json and index.html into a folder, ready for any static host')
    .argument('<file>', 'the signed bootpage')
    .requiredOption('--out <dir>', 'output folder')
    .option('--draft', 'build even when the page is not validly signed (a preview)', false)
    .action((file: string, opts: { out: string; draft: boolean }) => build(io, file, opts))

  cmd
    .command('stamp')
    .description('write a short-lived freshness stamp for a signed page, with an online stamp key')
    .argument('<page>', 'the signed bootpage.json (file or http(s) URL)')
    .requiredOption('--key <file>', 'a stamp private key (PEM PKCS#8) the page names')
    .option(
      '--lifetime <duration>',
      "how long the stamp holds: 36h, 2d, 90m, 3600s (default: the page's maxLifetime)",
      parseDuration('--lifetime'),
    )
    .option('--add <stamp>', 'co-sign this existing stamp (k of n stamp keys) and write it back')
    .option(
      '--out <file>',
      'where to write the stamp (default: bootpage.stamp.json beside the page)',
    )
    .action((page: string, opts: StampOptions) => stampCommand(io, page, opts))

  cmd
    .command('verify')
    .description('check signatures, threshold, pins and expiry; exit 3 when not valid')
    .argument('<source>', 'a bootpage.json file or http(s) URL')
    .option(
      '--pin <keys>',
      'pinned operator keys: comma list of HEX or a file of "HEX name" lines (repeatable)',
      collect,
      [],
    )
    .option(
      '--pin-threshold <k>',
      'pinned keys that must have signed (default: a majority)',
      intOption('--pin-threshold', 1, 64),
    )
    .option('--network <name>', 'refuse a page for another network')
    .option(
      '--timeout <ms>',
      'milliseconds the fetch may take',
      intOption('--timeout', 1, 600_000),
      10_000,
    )
    .option('--json', 'print JSON', false)
    .option(
      '--stamp <file|url>',
      'the freshness stamp, for a page that declares stamps (default: <page>.stamp.json beside it)',
    )
    .action((source: string, opts: VerifyOptions) => verify(io, source, opts))
}
