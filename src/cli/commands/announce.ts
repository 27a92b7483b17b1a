import { ChallengeSocket } from '../../client/challenge-socket.js'
import { type Command, InvalidArgumentError } from 'commander'
import { Announcer, type TrackerStatus } from '../../client/announcer.js'
import { type TrackerAddress, parseTrackerSpec } from '../../client/trackers.js'
import { toHex } from '../../crypto/keys.js'
import { TrackerError, WireError, isTrackerError } from '../../errors.js'
import { type Endpoint, endpointToString } from '../../wire/endpoint.js'
import type { ServerInfo } from '../../wire/record.js'
import type { CliIo } from '../io.js'
import { readKeyFile } from '../key-file.js'
import { collect, intIn, networkName } from '../parse.js'
import { type Reporter, reporter } from '../progress.js'
import { onStopSignal } from '../signals.js'
import { type TrackerSourceOptions, addTrackerOptions, resolveTrackers } from '../trackers.js'

interface AnnounceFlags extends TrackerSourceOptions {
  key: string
  network: string
  port?: number
  endpoint: Endpoint[]
  server: boolean
  name?: string
  players: number
  maxPlayers?: number
  world: string
  version: string
  tag: string[]
  lifetime: number
  timeout: number
  once: boolean
  json: boolean
  answerChallenges: boolean
}

function endpointArg(value: string, previous: Endpoint[]): Endpoint[] {
  const bad = (): InvalidArgumentError =>
    new InvalidArgumentError('expected ADDRESS:PORT or [IPv6]:PORT (an address literal)')
  let t: TrackerAddress
  try {
    t = parseTrackerSpec(value)
  } catch (err) {
    if (isTrackerError(err)) throw bad()
    throw err
  }
  // A host name parses as a tracker address but cannot be announced: an address literal only.
  if (!/^[0-9a-f.:]+$/.test(t.host)) throw bad()
  const family = t.host.includes(':') ? 6 : 4
  return [...previous, { family, address: t.host, port: t.udp ?? 0 }]
}

/** One line per tracker state, e.g. "127.0.0.1:3520  up  new, next in 300 s, seen as …". */
export function describeStatus(s: TrackerStatus): string {
  const next = s.nextIn === null ? '' : `next in ${Math.round(s.nextIn / 1000)} s`
  if (s.state === 'up') {
    const seen = s.observed === undefined ? '' : `, seen as ${endpointToString(s.observed)}`
    return `${s.tracker}  up  ${s.status ?? ''}${next === '' ? '' : `, ${next}`}${seen}`
  }
  const why = s.error === undefined ? '' : `${s.error.code}: ${s.error.message}`
  const retry =
    s.nextIn === null ? '' : `; retry ${s.failures + 1} in ${Math.round(s.nextIn / 1000)} s`
  return `${s.tracker}  ${s.state}  ${why}${retry}`
}

function statusJson(s: TrackerStatus): Record<string, unknown> {
  return {
    tracker: s.tracker,
    state: s.state,
    failures: s.failures,
    nextIn: s.nextIn,
    seq: s.seq,
    status: s.status ?? null,
    interval: s.interval ?? null,
    observed: s.observed === undefined ? null : endpointToString(s.observed),
    error: s.error ?? null,
  }
}

function serverInfo(flags: AnnounceFlags, command: Command): ServerInfo | null {
  if (!flags.server) {
    const serverOnly = ['name', 'maxPlayers'] as const
    for (const k of serverOnly) {
      if (flags[k] !== undefined)
        command.error(`error: --${k === 'name' ? 'name' : 'max-players'} needs --server`, {
          exitCode: 2,
        })
    }
    return null
  }
  if (flags.name === undefined) command.error('error: --server needs --name', { exitCode: 2 })
  return {
    name: flags.name,
    players: flags.players,
    maxPlayers: flags.maxPlayers ?? 16,
    world: flags.world,
    version: flags.version,
    tags: flags.tag,
  }
}

export function registerAnnounce(program: Command, io: CliIo): void {
  const command = program
    .command('announce')
    .description(
      'keep a signed record announced to every tracker until stopped (SIGINT/SIGTERM: the record is withdrawn), or --once',
    )
    .requiredOption('--key <file>', 'the node key (PEM, from `metatracker keygen`)')
    .requiredOption('--network <name>', 'the network to announce in', networkName)
  addTrackerOptions(command)
    .option('--port <port>', 'announce this port at the address the tracker sees', intIn(1, 65535))
    .option('--endpoint <addr:port>', 'announce this endpoint, repeatable', endpointArg, [])
    .option('--server', 'announce a game server (with --name etc.)', false)
    .option('--name <name>', 'server name')
    .option('--players <n>', 'players now on the server', intIn(0, 65535), 0)
    .option('--max-players <n>', 'player slots (default 16)', intIn(0, 65535))
    .option('--world <world>', 'the map / world the server hosts', '')
    .option('--version <version>', 'server version', '')
    .option('--tag <tag>', 'a server tag, repeatable', collect, [])
    .option('--lifetime <s>', 'seconds a signed record stays valid', intIn(1, 86_400), 3600)
    .option('--timeout <ms>', 'milliseconds to wait for each tracker', intIn(1, 600_000), 3000)
    .option('--once', 'announce once to every tracker and exit', false)
    .option(
      '--answer-challenges',
      "bind each announced port on UDP and answer the trackers' reachability challenges there",
      false,
    )
    .option('--json', 'print tracker states as JSON on stdout', false)
    .action(async (flags: AnnounceFlags) => {
      const trackers = await resolveTrackers(flags, line => {
        io.err(line)
      })
      const server = serverInfo(flags, command)
      const privateKey = await readKeyFile(flags.key, io)
      const endpoints =
        flags.port === undefined
          ? [...flags.endpoint]
          : [{ family: 4 as const, address: '0.0.0.0', port: flags.port }, ...flags.endpoint]
      let announcer: Announcer
      try {
        announcer = new Announcer({
          trackers,
          privateKey,
          network: flags.network,
          endpoints,
          server,
          lifetime: flags.lifetime,
          timeout: flags.timeout,
          // On SIGINT/SIGTERM the withdrawal waits a second at most (less with a shorter --timeout).
          withdrawTimeout: Math.min(flags.timeout, 1000),
        })
      } catch (err) {
        if (err instanceof WireError)
          throw new TrackerError('CLI_BAD_RECORD', err.message, { cause: err })
        throw err
      }
      const r = reporter(io)
      const sockets = flags.answerChallenges
        ? await bindChallengeSockets(announcer.publicKey, flags.network, endpoints, trackers)
        : []
      for (const s of sockets) r.note(`answering challenges on UDP port ${s.port}`)
      const kind = server === null ? 'peer' : `server "${server.name}"`
      r.note(
        `announcing ${toHex(announcer.publicKey)} as ${kind} on ${flags.network} to ${trackers.length} tracker(s)`,
      )
      if (flags.once) {
        try {
          await runOnce(announcer, io, r, flags.json)
          // The trackers challenge right after the announce: answer for one more timeout.
          if (sockets.length > 0) await new Promise(res => setTimeout(res, flags.timeout))
        } finally {
          await Promise.all(sockets.map(s => s.close()))
        }
        return
      }
      const stop = onStopSignal()
      announcer.on('state', s => {
        report(s, io, r, flags.json)
      })
      announcer.start()
      const signal = await stop.stopped
      r.note(`${signal}: stopping, withdrawing the record`)
      // close() sends a signed withdrawal to every tracker and waits at most about a second.
      await announcer.close()
      await Promise.all(sockets.map(s => s.close()))
      const states = announcer.status()
      if (flags.json) for (const s of states) io.out(JSON.stringify(statusJson(s)))
      const gone = states.filter(s => s.status === 'withdrawn').length
      r.note(
        `withdrawn from ${gone} of ${states.length} tracker(s)`,
        gone === states.length ? 'green' : 'yellow',
      )
    })
}

/**
 * One UDP socket per announced port number and family (0.0.0.0 for IPv4, :: for IPv6), each
 * answering challenges for this key (docs/protocol.md §9). A record naming no endpoint is
 * announced from the client's own socket and proven by its cookie: nothing to bind.
 */
async function bindChallengeSockets(
  publicKey: Uint8Array,
  network: string,
  endpoints: readonly Endpoint[],
  trackers: readonly TrackerAddress[],
): Promise<ChallengeSocket[]> {
  // The trackers' challenges have a bucket of their own (forged ones cannot use it up).
  const hosts = new Set(trackers.map(t => t.host.replace(/^\[|\]$/g, '').toLowerCase()))
  const trusted = (a: string): boolean => hosts.has(a.toLowerCase().replace(/^::ffff:/, ''))
  const wanted = new Map<string, { host: string; port: number }>()
  for (const e of endpoints) {
    const host = e.family === 4 ? '0.0.0.0' : '::'
    wanted.set(`${host}/${e.port}`, { host, port: e.port })
  }
  const out: ChallengeSocket[] = []
  try {
    for (const w of wanted.values()) {
      try {
        out.push(await ChallengeSocket.bind({ publicKey, networks: [network] }, { ...w, trusted }))
      } catch (err) {
        throw new TrackerError(
          'TRACKER_BIND_FAILED',
          `cannot bind UDP ${w.host} port ${w.port} to answer challenges: ${(err as Error).message}`,
          { cause: err },
        )
      }
    }
  } catch (err) {
    await Promise.all(out.map(s => s.close()))
    throw err
  }
  return out
}

function report(s: TrackerStatus, io: CliIo, r: Reporter, json: boolean): void {
  if (json) io.out(JSON.stringify(statusJson(s)))
  else r.note(describeStatus(s), s.state === 'up' ? 'green' : s.state === 'down' ? 'red' : 'yellow')
}

async function runOnce(announcer: Announcer, io: CliIo, r: Reporter, json: boolean): Promise<void> {
  let states: TrackerStatus[]
  try {
    states = await announcer.announceAll()
  } finally {
    // --once leaves the record listed until it expires: no withdrawal.
    await announcer.close({ withdraw: false })
  }
  if (json) io.out(JSON.stringify(states.map(statusJson)))
  else for (const s of states) report({ ...s, nextIn: null }, io, r, false)
  const up = states.filter(s => s.state === 'up').length
  if (up === 0) throw new TrackerError('CLIENT_ALL_FAILED', `no tracker accepted the announce`)
  if (up < states.length)
    r.note(`${up} of ${states.length} trackers accepted the announce`, 'yellow')
}
