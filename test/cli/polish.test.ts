// The command line as people meet it: colours per stream (NO_COLOR / FORCE_COLOR), help that
// shows each default once, one unit for --timeout, short usage errors, JSON errors under --json,
// an error code on every error line, `keygen --show-public` and the exposed-key warning.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Command } from 'commander'
import { ERROR_CODES } from '../../src/errors.js'
import { describeError, reportFailure } from '../../src/cli/errors.js'
import { type CliIo, useColor, watchOut } from '../../src/cli/io.js'
import { exposedKeyWarning } from '../../src/cli/key-file.js'
import { buildProgram, commandPathOf } from '../../src/cli/program.js'
import { reporter } from '../../src/cli/progress.js'
import type { Teardown } from '../helpers/tracker.js'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname
const ESC = '\u001b['

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `metatracker ARGS` as a child process with exactly `env` added to a colour-free environment. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const colourless = new Set(['FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS', 'TERM'])
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !colourless.has(k)))
  return new Promise(resolve => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { timeout: 60_000, env: { ...base, ...env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The command run in this process (main.ts's path, with captured output). */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io = watchOut({
    out: l => (stdout += l + '\n'),
    err: l => (stderr += l + '\n'),
    interactive: false,
  })
  const program = buildProgram(io)
  try {
    await program.parseAsync(['node', 'metatracker', ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const command = commandPathOf(program, args)
    const code = reportFailure(err, args, io, { command, wroteOut: io.wroteOut })
    return { code, stdout, stderr }
  }
}

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'mt-polish-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** A UDP socket on loopback that never answers: a tracker that times out. */
async function silentTracker(t: Teardown): Promise<string> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  t.after(() => {
    s.close()
  })
  return `127.0.0.1:${s.address().port}`
}

test('colour is decided per stream: FORCE_COLOR wins, then NO_COLOR, TERM=dumb, then the terminal', () => {
  const tty = { isTTY: true }
  const pipe = { isTTY: false }
  assert.equal(useColor(tty, {}), true)
  assert.equal(useColor(pipe, {}), false)
  assert.equal(useColor({}, {}), false)
  assert.equal(useColor(tty, { NO_COLOR: '1' }), false)
  assert.equal(useColor(tty, { NO_COLOR: '' }), true, 'an empty NO_COLOR is not set')
  assert.equal(useColor(tty, { TERM: 'dumb' }), false)
  assert.equal(useColor(pipe, { FORCE_COLOR: '1' }), true)
  assert.equal(useColor(pipe, { FORCE_COLOR: '' }), true)
  assert.equal(useColor(tty, { FORCE_COLOR: '0' }), false)
  assert.equal(useColor(tty, { FORCE_COLOR: 'false' }), false)
  assert.equal(useColor(pipe, { FORCE_COLOR: '3', NO_COLOR: '1' }), true)
})

test('status lines on stderr are coloured by what stderr allows, not by stdout', () => {
  const lines: string[] = []
  const io = (err: boolean, interactive: boolean): CliIo => ({
    out: () => undefined,
    err: l => lines.push(l),
    interactive,
    colors: { out: !err, err },
  })
  // stdout a terminal, stderr redirected to a file: no escape codes in the file.
  reporter(io(false, true)).note('down', 'red')
  assert.equal(lines.pop(), 'down')
  reporter(io(true, false)).note('down', 'red')
  assert.equal(lines.pop(), `${ESC}31mdown${ESC}0m`)
})

test('FORCE_COLOR colours stderr through a pipe; NO_COLOR keeps it plain', async t => {
  const tracker = await silentTracker(t)
  const args = ['peers', '--network', 'x', '--tracker', tracker, '--timeout', '200']
  const forced = await cli(args, { FORCE_COLOR: '1' })
  assert.equal(forced.code, 1, forced.stderr)
  assert.ok(forced.stderr.includes(ESC), `no colour in:\n${forced.stderr}`)
  const plain = await cli(args, { NO_COLOR: '1' })
  assert.equal(plain.code, 1, plain.stderr)
  assert.ok(!plain.stderr.includes(ESC), `colour despite NO_COLOR:\n${plain.stderr}`)
  assert.ok(!plain.stdout.includes(ESC))
})

/** Every command of the program, depth first. */
function commands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(commands)]
}

/** The help of `command`, one entry per option (its lines joined). */
function optionBlocks(command: Command): string[] {
  const help = command.helpInformation({ error: false })
  const options = help.split(/^Options:$/m)[1] ?? ''
  return options
    .split(/\n(?= {2}-)/)
    .map(b => b.replace(/\s+/g, ' ').trim())
    .filter(b => b.startsWith('-'))
}

test('help shows each default once, and none for off-by-default flags or empty lists', async () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined, interactive: false })
  const serve = program.commands.find(c => c.name() === 'serve')
  assert.ok(serve !== undefined)
  const blocks = optionBlocks(serve)
  assert.ok(blocks.length > 40, 'serve has a flag per option row')
  for (const b of blocks) {
    assert.ok((b.match(/\(default:/g) ?? []).length <= 1, `default shown twice: ${b}`)
  }
  assert.ok(blocks.some(b => b.startsWith('--max-bytes') && b.endsWith('(default: 64MiB)')))
  for (const c of commands(program)) {
    for (const b of optionBlocks(c)) {
      assert.ok(!b.includes('(default: false)'), `${c.name()}: ${b}`)
      assert.ok(!b.includes('(default: [])'), `${c.name()}: ${b}`)
      assert.ok((b.match(/\(default:/g) ?? []).length <= 1, `${c.name()}: ${b}`)
    }
  }
  // The subprocess prints the same text.
  const run = await cli(['serve', '--help'])
  assert.equal(run.code, 0)
  assert.equal((run.stdout.match(/--max-bytes/g) ?? []).length, 1)
})

test('--timeout is in milliseconds in every command', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined, interactive: false })
  const found: string[] = []
  for (const c of commands(program)) {
    for (const o of c.options) {
      if (o.long !== '--timeout') continue
      found.push(c.name())
      assert.equal(o.flags, '--timeout <ms>', `${c.name()} --timeout`)
      assert.match(o.description, /milliseconds/, c.name())
    }
  }
  for (const name of ['peers', 'servers', 'announce', 'stats', 'verify']) {
    assert.ok(found.includes(name), `${name} has --timeout`)
  }
})

test(
  'bootpage verify --timeout 300 gives up after 300 ms, not 300 s',
  { timeout: 90_000 },
  async t => {
    // An HTTP server that accepts the request and never answers.
    const server = createServer(() => undefined)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    t.after(() => {
      server.closeAllConnections()
      server.close()
    })
    const { port } = server.address() as AddressInfo
    const url = `http://127.0.0.1:${port}/bootpage.json`
    const started = Date.now()
    const r = await inProcess(['bootpage', 'verify', url, '--timeout', '300'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /^error BOOTPAGE_FETCH_FAILED: /m)
    // Generous: far below the 300 s the old unit (seconds) would wait.
    assert.ok(Date.now() - started < 60_000)
  },
)

test('a usage error prints the error with its code and a one-line hint, not the help', async () => {
  const r = await cli(['peers', '--network', 'x', '--tracker', '127.0.0.1:9', '--count', 'many'])
  assert.equal(r.code, 2)
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 2, r.stderr)
  assert.match(lines[0] ?? '', /^error CLI_USAGE: option '--count <n>' argument 'many' is invalid/)
  assert.equal(lines[1], "see 'metatracker peers --help'")
  assert.equal(r.stdout, '')

  const unknown = await inProcess(['no-such-command'])
  assert.equal(unknown.code, 2)
  assert.equal(
    unknown.stderr,
    "error CLI_USAGE: unknown command 'no-such-command'\nsee 'metatracker --help'\n",
  )

  // A command's own check (command.error) reads the same.
  const own = await inProcess([
    'announce',
    '--key',
    'k.pem',
    '--network',
    'x',
    '--tracker',
    '127.0.0.1:9',
    '--name',
    'a',
  ])
  assert.equal(own.code, 2)
  assert.equal(
    own.stderr,
    "error CLI_USAGE: --name needs --server\nsee 'metatracker announce --help'\n",
  )
  const nested = await inProcess(['bootpage', 'verify'])
  assert.match(nested.stderr, /^error CLI_USAGE: .*\nsee 'metatracker bootpage verify --help'\n$/)
  // A usage error the command finds itself (exit 2) gets the hint too.
  const noTrackers = await inProcess(['peers', '--network', 'x'])
  assert.equal(noTrackers.code, 2)
  assert.match(noTrackers.stderr, /^error CLI_NO_TRACKERS: .*\nsee 'metatracker peers --help'\n$/)
})

test('--json commands print a JSON error object on stdout when they fail', async t => {
  const dir = tempDir(t)
  const tracker = await silentTracker(t)
  const failed = await cli([
    'peers',
    '--network',
    'x',
    '--tracker',
    tracker,
    '--timeout',
    '200',
    '--json',
  ])
  assert.equal(failed.code, 1, failed.stderr)
  const e = JSON.parse(failed.stdout) as { error: { code: string; message: string } }
  assert.equal(e.error.code, 'CLIENT_ALL_FAILED')
  assert.match(e.error.message, /no tracker answered/)
  assert.doesNotMatch(failed.stderr, /^error /m, 'the error is not printed twice')

  const key = join(dir, 'k.pem')
  assert.equal((await inProcess(['keygen', '--out', key])).code, 0)
  const exists = await inProcess(['keygen', '--out', key, '--json'])
  assert.equal(exists.code, 1)
  assert.deepEqual(JSON.parse(exists.stdout), {
    error: { code: 'KEY_EXISTS', message: `refusing to overwrite ${key}` },
  })
  const usage = await inProcess(['servers', '--json', '--count', '0'])
  assert.equal(usage.code, 2)
  const u = JSON.parse(usage.stdout) as { error: { code: string; hint: string } }
  assert.equal(u.error.code, 'CLI_USAGE')
  assert.equal(u.error.hint, "see 'metatracker servers --help'")
  assert.equal(usage.stderr, '')

  // A command that printed its JSON result before failing keeps stdout one JSON document.
  const page = join(dir, 'bootpage.json')
  writeFileSync(page, '{')
  const invalid = await inProcess(['bootpage', 'verify', page, '--json'])
  assert.equal(invalid.code, 3)
  const verdict = JSON.parse(invalid.stdout) as { valid: boolean }
  assert.equal(verdict.valid, false)
  assert.match(invalid.stderr, /^error BOOTPAGE_NOT_VALID: /)
})

test('every error line carries a documented code', async t => {
  const dir = tempDir(t)
  const runs = [
    await inProcess(['no-such-command']),
    await inProcess(['peers', '--network', 'x']),
    await inProcess(['keygen', '--show-public', join(dir, 'missing.pem')]),
    await inProcess(['serve', '--max-entries', '-1']),
    await inProcess(['stats', '--tracker', 'nonsense']),
  ]
  for (const r of runs) {
    assert.notEqual(r.code, 0)
    const first = r.stderr.split('\n')[0] ?? ''
    const m = /^error ([A-Z][A-Z0-9_]*): \S/.exec(first)
    assert.ok(m !== null, `no code in: ${first}`)
    assert.ok((m[1] ?? '') in ERROR_CODES, `undocumented code ${m[1] ?? ''}`)
  }
  // An error without a code of its own (a bug) still gets one.
  assert.deepEqual(describeError(new Error('boom')), {
    message: 'error CLI_UNEXPECTED: boom',
    exitCode: 1,
  })
})

test('keygen --show-public prints the public key of an existing key file', async t => {
  const dir = tempDir(t)
  const key = join(dir, 'node.pem')
  const made = await inProcess(['keygen', '--out', key, '--json'])
  const { key: pub } = JSON.parse(made.stdout) as { key: string }
  const shown = await inProcess(['keygen', '--show-public', key])
  assert.equal(shown.code, 0, shown.stderr)
  assert.equal(shown.stdout, `${pub}\n`)
  assert.equal(shown.stderr, '', 'a 0600 key gives no warning')
  const json = await inProcess(['keygen', '--show-public', key, '--json'])
  assert.deepEqual(JSON.parse(json.stdout), { key: pub, file: key })
  const neither = await inProcess(['keygen'])
  assert.equal(neither.code, 2)
  assert.match(neither.stderr, /^error CLI_USAGE: --out <file> or --show-public <file> is needed/)
  const both = await inProcess(['keygen', '--out', join(dir, 'b.pem'), '--show-public', key])
  assert.equal(both.code, 2)
  const missing = await inProcess(['keygen', '--show-public', join(dir, 'nope.pem')])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /^error KEY_READ_FAILED: /)
})

test('a key file other users may read is used, with a warning', async t => {
  assert.equal(exposedKeyWarning('k.pem', 0o100600, 'linux'), null)
  assert.equal(exposedKeyWarning('k.pem', 0o100700, 'linux'), null)
  assert.match(exposedKeyWarning('k.pem', 0o100640, 'linux') ?? '', /mode 0640.*chmod 600 k\.pem/)
  assert.match(exposedKeyWarning('k.pem', 0o100604, 'linux') ?? '', /readable by other users/)
  assert.equal(exposedKeyWarning('k.pem', 0o100644, 'win32'), null)
  if (process.platform === 'win32') return
  const dir = tempDir(t)
  const key = join(dir, 'node.pem')
  await inProcess(['keygen', '--out', key])
  chmodSync(key, 0o644)
  const shown = await cli(['keygen', '--show-public', key])
  assert.equal(shown.code, 0, shown.stderr)
  assert.match(shown.stdout, /^[0-9a-f]{64}\n$/)
  assert.equal(
    shown.stderr,
    `warning: key file ${key} is readable by other users (mode 0644); keep it private: chmod 600 ${key}\n`,
  )
})
