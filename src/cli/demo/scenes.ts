import { createSocket } from 'node:dgram'
import { Announcer } from '../../client/announcer.js'
import { ChallengeSocket } from '../../client/challenge-socket.js'
import { expectReply } from '../../client/replies.js'
import { type TrackerAddress, trackerLabel } from '../../client/trackers.js'
import { UdpTransport } from '../../client/transport/udp.js'
import { generateKeyPair, toHex } from '../../crypto/keys.js'
import { type ServerInfo, decodeRecord } from '../../wire/record.js'

/*
 * The demo's proof-of-address scenes (docs/protocol.md §9), on the trackers that stay up:
 *   - a server that answers challenges on its port: listed once proven;
 *   - a fake server naming a loopback port nobody answers: held, handed out only to a query
 *     that sets the `unproven` flag, never listed otherwise;
 *   - a crash: a listed server stops (no withdrawal, its port closed); the trackers' re-check
 *     finds it silent and it leaves the list within seconds;
 *   - a clean withdrawal: Announcer.close() removes the server from every tracker at once.
 * The queries are raw `list` queries (one per tracker), so the `unproven` flag can be shown.
 */

export interface SceneReport {
  /** The answering server was listed (without `unproven`) by every tracker. */
  provenListed: boolean
  /** Milliseconds from its start until every tracker listed it. */
  provenMs: number | null
  /** The fake server: listed without `unproven` by any tracker / with it by every tracker. */
  fakeListed: boolean
  fakeListedWithUnproven: boolean
  /** The crashed server left every list; milliseconds after the crash. */
  crashLeft: boolean
  crashMs: number | null
  /** The crash's bound: re-check delay, challenge timeout and the re-check tick (seconds). */
  crashExpectedMs: number
  /** The withdrawn server was gone from every tracker as soon as close() returned. */
  withdrawnAtOnce: boolean
  withdrawMs: number | null
}

export interface SceneRun {
  trackers: TrackerAddress[]
  network: string
  timeout: number
  /** Epoch ms by which every scene must be over. */
  deadline: number
  log: (line: string) => void
}

/** docs/operations.md demo settings: recheck 1 s, challenge timeout 1 s, a 1 s tick, slack. */
const CRASH_EXPECTED_MS = 4000

const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))

async function until(check: () => Promise<boolean>, deadline: number): Promise<boolean> {
  for (;;) {
    if (await check()) return true
    if (Date.now() >= deadline) return false
    await sleep(50)
  }
}

function server(name: string, players: number): ServerInfo {
  return { name, players, maxPlayers: 8, world: 'arena', version: '1.0', tags: ['scene'] }
}

/** A loopback UDP port with nothing bound on it (bound, read, closed). */
async function silentPort(): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>(resolve =>
    s.close(() => {
      resolve()
    }),
  )
  return port
}

/** Run the scenes; never rejects (a failure is a false in the report). */
export async function runScenes(run: SceneRun): Promise<SceneReport> {
  const udp = new UdpTransport()
  const announcers: Announcer[] = []
  const sockets: ChallengeSocket[] = []
  const report: SceneReport = {
    provenListed: false,
    provenMs: null,
    fakeListed: true,
    fakeListedWithUnproven: false,
    crashLeft: false,
    crashMs: null,
    crashExpectedMs: CRASH_EXPECTED_MS,
    withdrawnAtOnce: false,
    withdrawMs: null,
  }
  /** Keys listed by every tracker (`all`) or by any (`any`), with or without `unproven`. */
  const listed = async (unproven: boolean): Promise<{ all: Set<string>; any: Set<string> }> => {
    const sets = await Promise.all(
      run.trackers.map(async t => {
        const reply = await udp.request(
          t,
          (cookie, txid) => ({
            type: 'query',
            txid,
            cookie,
            network: run.network,
            kind: 'server',
            mode: 'list',
            count: 50,
            offset: 0,
            sort: 'name',
            notFull: false,
            unproven,
            world: 'arena',
            version: '',
            tags: [],
            exclude: null,
          }),
          { timeout: run.timeout },
        )
        const intro = expectReply(reply, 'introductions', trackerLabel(t))
        return new Set(intro.entries.map(e => toHex(decodeRecord(e.record).record.publicKey)))
      }),
    )
    const any = new Set(sets.flatMap(s => [...s]))
    const all = new Set([...any].filter(k => sets.every(s => s.has(k))))
    return { all, any }
  }
  const listedSafe = async (unproven: boolean) => {
    try {
      return await listed(unproven)
    } catch {
      return { all: new Set<string>(), any: new Set<string>() }
    }
  }
  const node = async (info: ServerInfo, answering: boolean) => {
    const { privateKey, publicKey } = generateKeyPair()
    let port: number
    if (answering) {
      const s = await ChallengeSocket.bind(
        { publicKey, networks: [run.network] },
        { host: '127.0.0.1', port: 0 },
      )
      sockets.push(s)
      port = s.port
    } else port = await silentPort()
    const a = new Announcer({
      trackers: run.trackers,
      privateKey,
      network: run.network,
      server: info,
      endpoints: [{ family: 4, address: '0.0.0.0', port }],
      timeout: run.timeout,
      minInterval: 500,
      retryBase: run.timeout,
    })
    announcers.push(a)
    return { a, key: toHex(publicKey), socket: sockets.at(-1), port }
  }
  try {
    const started = Date.now()
    const proven = await node(server('Scene: proven', 2), true)
    const fake = await node(server('Scene: fake', 7), false)
    const crash = await node(server('Scene: crash', 3), true)
    const leaving = await node(server('Scene: leaving', 1), true)
    run.log(
      `scenes on ${run.trackers.map(trackerLabel).join(', ')}: 4 more servers; "fake" names ` +
        `127.0.0.1:${fake.port}, where nothing answers`,
    )
    for (const n of [proven, fake, crash, leaving]) n.a.start()
    const keys = [proven.key, crash.key, leaving.key]
    report.provenListed = await until(async () => {
      const l = await listedSafe(false)
      return keys.every(k => l.all.has(k))
    }, run.deadline)
    if (report.provenListed) report.provenMs = Date.now() - started
    run.log(
      report.provenListed
        ? `  "proven" answered the trackers' challenge and is listed (${report.provenMs ?? 0} ms after it started)`
        : '  "proven" was not listed in time',
    )
    const withFlag = await listedSafe(true)
    const without = await listedSafe(false)
    report.fakeListed = without.any.has(fake.key)
    report.fakeListedWithUnproven = withFlag.all.has(fake.key)
    run.log(
      `  "fake" never answered: ${report.fakeListed ? 'LISTED' : 'not listed'}; ` +
        `${report.fakeListedWithUnproven ? 'handed out' : 'not handed out'} only to a query asking for unproven entries`,
    )
    // The crash: no withdrawal, the port closed. The clean exit: a signed withdrawal.
    const crashedAt = Date.now()
    await crash.a.close({ withdraw: false })
    await crash.socket?.close()
    run.log('  "crash" stops without a word (no withdrawal, its port closed)')
    const closing = Date.now()
    await leaving.a.close()
    report.withdrawMs = Date.now() - closing
    report.withdrawnAtOnce = !(await listedSafe(true)).any.has(leaving.key)
    run.log(
      `  "leaving" withdraws: ${report.withdrawnAtOnce ? 'gone from every tracker' : 'STILL LISTED'} ` +
        `${report.withdrawMs} ms after close()`,
    )
    report.crashLeft = await until(
      async () => !(await listedSafe(false)).any.has(crash.key),
      run.deadline,
    )
    if (report.crashLeft) report.crashMs = Date.now() - crashedAt
    run.log(
      report.crashLeft
        ? `  "crash" left every list ${report.crashMs ?? 0} ms after it stopped (re-check found it silent)`
        : '  "crash" was still listed at the end of the demo',
    )
  } catch (err) {
    run.log(`scenes failed: ${err instanceof Error ? err.message : String(err)}`)
  } finally {
    await Promise.all(announcers.map(a => a.close({ withdraw: false })))
    await Promise.all(sockets.map(s => s.close()))
    await udp.close()
  }
  return report
}
