// The package as shipped: licence text, lifecycle scripts, source maps, one version string, and
// the service files (Dockerfile, systemd unit) checked as far as this machine allows.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'

const ROOT = new URL('../', import.meta.url).pathname
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8')
const pkg = JSON.parse(read('package.json')) as {
  version: string
  license: string
  author?: string
  files: string[]
  scripts: Record<string, string>
}

test('LICENSE carries the MIT text the package declares', () => {
  assert.equal(pkg.license, 'MIT')
  const text = read('LICENSE')
  assert.match(text, /^MIT License\n\nCopyright \(c\) \d{4} \S.*\n/)
  assert.match(text, /Permission is hereby granted, free of charge, to any person obtaining a copy/)
  assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/)
  if (pkg.author !== undefined) assert.ok(text.includes(pkg.author), 'LICENSE names the author')
})

test('the build runs on pack, not on every install (no prepare script)', () => {
  assert.equal(pkg.scripts.prepare, undefined)
  assert.match(pkg.scripts.prepack ?? '', /npm run build|tsc -p tsconfig\.build\.json/)
  for (const f of ['dist', 'bootpage', 'deploy']) assert.ok(pkg.files.includes(f), f)
})

test('source maps ship their sources (or are not emitted)', () => {
  const build = JSON.parse(read('tsconfig.build.json')) as {
    compilerOptions: { sourceMap?: boolean; inlineSources?: boolean; declarationMap?: boolean }
  }
  const o = build.compilerOptions
  if (o.sourceMap === true) assert.equal(o.inlineSources, true, 'sourceMap needs inlineSources')
  // A declaration map points at .ts files the package does not ship.
  assert.notEqual(o.declarationMap, true)
})

/** Every file under `dir` (relative to the root) whose name ends with `ext`. */
function filesUnder(dir: string, ext: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name)
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...filesUnder(p, ext))
    else if (name.endsWith(ext)) out.push(p)
  }
  return out
}

test('the version is written once: package.json (src/ reads it)', async () => {
  const { VERSION } = await import('../src/version.js')
  assert.equal(VERSION, pkg.version)
  const literal = new RegExp(`['"\`]${pkg.version.replaceAll('.', '\\.')}['"\`]`)
  const copies = filesUnder('src', '.ts').filter(f => literal.test(read(f)))
  assert.deepEqual(copies, [], 'files that write the version again')
})

test('Dockerfile: small base, non-root, data volume, healthcheck, node as PID 1', () => {
  const text = read('Dockerfile')
  const from = [...text.matchAll(/^FROM (\S+)/gm)].map(m => m[1])
  assert.ok(from.length >= 2, 'a build stage and a runtime stage')
  assert.match(from.at(-1) ?? '', /^node:\d+-(alpine|slim)/, 'a small runtime base')
  const user = [...text.matchAll(/^USER (\S+)/gm)].map(m => m[1]).at(-1)
  assert.ok(user !== undefined && user !== 'root' && user !== '0', 'runs as a non-root user')
  assert.match(text, /^VOLUME \["\/data"\]/m)
  assert.match(text, /^HEALTHCHECK .*\n?.*\/healthz/m)
  // Exec form with node first: node is PID 1 and gets docker's signals itself.
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1]
  assert.ok(entry !== undefined, 'an exec-form ENTRYPOINT')
  const argv = JSON.parse(entry) as string[]
  assert.deepEqual(argv.slice(0, 3), ['node', 'dist/cli/main.js', 'serve'])
  assert.ok(argv.includes('/data'))
  assert.doesNotMatch(text, /^(CMD|ENTRYPOINT) \["(npm|sh)"/m, 'no npm or shell in front of node')
  const ignore = read('.dockerignore').split('\n')
  for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignore.includes(p), p)
})

/** Whether a docker engine answers (a client alone is not enough). */
function dockerEngine(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 20_000,
  })
  return r.status === 0 && r.stdout.trim() !== ''
}

test('the Docker image builds and its healthcheck is declared', { timeout: 900_000 }, t => {
  if (!dockerEngine()) {
    t.skip('no docker engine answers here (docker info failed): image build not tried')
    return
  }
  const tag = `metatracker-test:${process.pid}`
  t.after(() => {
    spawnSync('docker', ['image', 'rm', '-f', tag])
  })
  const built = spawnSync('docker', ['build', '-q', '-t', tag, ROOT], {
    encoding: 'utf8',
    timeout: 850_000,
  })
  assert.equal(built.status, 0, built.stderr)
  const inspect = spawnSync('docker', ['image', 'inspect', '--format', '{{json .Config}}', tag], {
    encoding: 'utf8',
  })
  const config = JSON.parse(inspect.stdout) as {
    User: string
    Healthcheck?: { Test: string[] }
    Volumes: Record<string, unknown>
  }
  assert.equal(config.User, 'node')
  assert.ok(config.Healthcheck?.Test.join(' ').includes('/healthz'))
  assert.ok('/data' in config.Volumes)
})

/** `systemd-analyze verify` of `unit`: its exit status and what it printed. */
function verifyUnit(
  dir: string,
  name: string,
  text: string,
): { status: number | null; out: string } {
  const path = join(dir, name)
  writeFileSync(path, text)
  const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() }
}

function systemdAnalyze(t: TestContext, dir: string): boolean {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    assert.ok(!process.env.CI, 'systemd-analyze is missing under CI: apt-get install systemd')
    t.skip('systemd-analyze is missing: the unit is not verified')
    return false
  }
  // A unit known to be good: if even that fails, verify cannot run in this sandbox.
  const good = verifyUnit(dir, 'probe.service', '[Service]\nExecStart=/bin/true\n')
  if (good.status !== 0 || good.out !== '') {
    t.skip(`systemd-analyze verify cannot run here: ${good.out.split('\n')[0] ?? ''}`)
    return false
  }
  return true
}

test('deploy/metatracker.service passes systemd-analyze verify without a warning', t => {
  const text = read('deploy/metatracker.service')
  for (const line of [
    /^Type=(simple|notify|exec)$/m,
    /^DynamicUser=yes$/m,
    /^StateDirectory=metatracker$/m,
    /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m,
    /^ExecStart=\S*node \S+\/dist\/cli\/main\.js serve --data \$\{STATE_DIRECTORY\}/m,
    /^NoNewPrivileges=yes$/m,
    /^ProtectSystem=strict$/m,
    /^ProtectHome=yes$/m,
    /^PrivateTmp=yes$/m,
    /^RestrictAddressFamilies=/m,
    /^SystemCallFilter=@system-service$/m,
  ]) {
    assert.match(text, line)
  }
  assert.doesNotMatch(text, /npm start/, 'node itself is the main process')
  const dir = mkdtempSync(join(tmpdir(), 'mt-unit-'))
  t.after(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  if (!systemdAnalyze(t, dir)) return
  // verify checks that ExecStart's program exists: point it at this node when node lives elsewhere.
  const here = text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `)
  const r = verifyUnit(dir, 'metatracker.service', here)
  assert.equal(r.status, 0, r.out)
  assert.equal(r.out, '', 'warnings from systemd-analyze verify')
})
