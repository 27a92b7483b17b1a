import { Announcer } from '../../client/announcer.js'
import { formatServerTable } from '../../client/format.js'
import { type Attempt, Querier } from '../../client/querier.js'
import { trackerLabel } from '../../client/trackers.js'
import { ChallengeSocket } from '../../client/challenge-socket.js'
import { generateKeyPair } from '../../crypto/keys.js'
import { endpointToString } from '../../wire/endpoint.js'
import type { ServerInfo } from '../../wire/record.js'
import { type DemoNetwork, startDemoTrackers } from './network.js'

export { type DemoBootpage, type DemoNetwork, startDemoTrackers } from './network.js'

/*
 * `metatracker demo`: a whole network on loopback in one process. Three trackers, a dozen peers
 * and a few game servers announcing to all of them, a client listing peers and servers and
 * asking for the best server for a world; then one tracker is killed and the client still gets
 * its answer (from another tracker), while the nodes keep announcing to the two left.
 */

export interface DemoOptions {
  /** Total time budget in ms (default 10000); the demo ends by itself within it. */
  durationMs?: number
  peers?: number
  servers?: number
  network?: string
  /** Where the narrative goes, one line at a time (default: nowhere). */
  log?: (line: string) => void
}

export interface DemoBest {
  name: string
  world: string
  players: number
  maxPlayers: number
  address: string
}

export interface DemoReport {
  ok: boolean
  network: string
  trackers: { label: string; udp: number; tcp: number }[]
  /** The signed bootpage the tracker list came from. */
  bootpage: { signedBy: number; threshold: number; sequence: number; digest: string }
  /** Nodes (peers + servers) that were up on all three trackers before the kill. */
  nodesOnEveryTracker: number
  nodes: number
  /** Entries each tracker held before the kill. */
  held: number[]
  peersSampled: number
  serversListed: number
  best: DemoBest | null
  /** The best server for the same world after the first one filled up. */
  rerouted: string | null
  killed: string
  /** The query made after the kill, asking the killed tracker first. */
  afterKill: { answeredBy: string[]; attempts: Attempt[]; peers: number }
  /** After the kill: nodes still up on both live trackers, and nodes that saw the dead one fail. */
  nodesUpOnLiveTrackers: number
  nodesSeeingDeadTracker: number
  elapsedMs: number
}

/** One run of the demo: its budget, its network and the nodes and clients it started. */
interface Run {
  started: number
  duration: number
  network: string
  peers: number
  servers: number
  /** Client timeout, ms; also the announcers' retry base. */
  timeout: number
  log: (line: string) => void
  net: DemoNetwork
  announcers: Announcer[]
  /** The nodes' own UDP ports, answering challenges. */
  sockets: ChallengeSocket[]
  queriers: Querier[]
}

const WORLDS = ['island', 'desert', 'island', 'glacier', 'canyon', 'island']

const sleep = (ms: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, Math.max(0, ms)))

async function until(check: () => boolean, deadline: number): Promise<boolean> {
  while (!check()) {
    if (Date.now() >= deadline) return false
    await sleep(20)
  }
  return true
}

/** Run the demo within its budget; the narrative goes to `options.log`. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const started = Date.now()
  const duration = Math.max(3000, options.durationMs ?? 10_000)
  const log = options.log ?? ((): void => undefined)
  // Everything scales with the budget, within sane bounds.
  const interval = Math.max(1, Math.min(5, Math.round(duration / 5000)))
  log(`starting 3 trackers on 127.0.0.1 (announce interval ${interval} s)`)
  const network = options.network ?? 'demo'
  const run: Run = {
    started,
    duration,
    network,
    peers: options.peers ?? 12,
    servers: options.servers ?? 4,
    timeout: Math.round(Math.min(1000, Math.max(150, duration / 20))),
    log,
    net: await startDemoTrackers(interval, network),
    announcers: [],
    queriers: [],
    sockets: [],
  }
  let report: DemoReport
  try {
    report = await story(run)
  } finally {
    await Promise.all([...run.announcers.map(a => a.close()), ...run.queriers.map(q => q.close())])
    await Promise.all(run.sockets.map(s => s.close()))
    await run.net.close()
  }
  report.elapsedMs = Date.now() - started
  log(`done in ${(report.elapsedMs / 1000).toFixed(1)} s: ${report.ok ? 'OK' : 'NOT OK'}`)
  return report
}

/** The demo's steps, in order. */
async function story(run: Run): Promise<DemoReport> {
  showNetwork(run)
  const servers = await startNodes(run)
  const { nodesOnEveryTracker, held } = await awaitNodes(run)
  const client = new Querier({
    trackers: run.net.addresses,
    timeout: run.timeout,
    deadline: 4 * run.timeout,
  })
  run.queriers.push(client)
  const asked = await askClient(run, client)
  const rerouted = await fillBest(run, client, servers, asked.best)
  const { killed, after } = await killOneTracker(run)
  const failover = await awaitFailover(run, killed)
  const { net } = run
  return {
    ok:
      nodesOnEveryTracker === run.announcers.length &&
      after.entries.length > 0 &&
      failover.nodesUpOnLiveTrackers === run.announcers.length,
    network: run.network,
    trackers: net.addresses.map(t => ({
      label: trackerLabel(t),
      udp: t.udp ?? 0,
      tcp: t.tcp ?? 0,
    })),
    bootpage: {
      signedBy: net.bootpage.signedBy,
      threshold: net.bootpage.threshold,
      sequence: net.bootpage.sequence,
      digest: net.bootpage.digest,
    },
    nodesOnEveryTracker,
    nodes: run.announcers.length,
    held,
    peersSampled: asked.peers,
    serversListed: asked.servers,
    best: asked.best,
    rerouted,
    killed,
    afterKill: {
      answeredBy: after.answeredBy,
      attempts: after.attempts,
      peers: after.entries.length,
    },
    ...failover,
    elapsedMs: 0,
  }
}

/** Tell where the tracker list came from: the signed bootpage and the trackers it lists. */
function showNetwork({ net, log }: Run): void {
  const bp = net.bootpage
  log(
    `bootpage signed offline by ${bp.signedBy} of 3 operators (${bp.threshold} required): ` +
      `${bp.json} and index.html (removed at the end)`,
  )
  log(
    `every node and the client load their tracker list from it, verified against the ` +
      `${bp.pins.length} pinned operator keys (sequence ${bp.sequence}, digest ${bp.digest.slice(0, 16)}):`,
  )
  for (const t of net.addresses) {
    log(`  tracker ${trackerLabel(t)}: udp ${t.udp ?? '-'}, tcp ${t.tcp ?? '-'}`)
  }
}

/**
 * Start the peers, then the game servers (their info returned), each announcing to all. Every
 * node has a UDP port of its own on loopback that answers the trackers' reachability challenges
 * (docs/protocol.md §9), so it is listed once proven.
 */
async function startNodes(run: Run): Promise<ServerInfo[]> {
  const common = {
    trackers: run.net.addresses,
    network: run.network,
    timeout: run.timeout,
    minInterval: 500,
    retryBase: run.timeout,
    retryCap: 4 * run.timeout,
  }
  const node = async (server?: ServerInfo): Promise<Announcer> => {
    const { privateKey, publicKey } = generateKeyPair()
    const identity = { publicKey, networks: [run.network] }
    const game = await ChallengeSocket.bind(identity, { host: '127.0.0.1', port: 0 })
    run.sockets.push(game)
    return new Announcer({
      ...common,
      privateKey,
      endpoints: [{ family: 4, address: '0.0.0.0', port: game.port }],
      ...(server === undefined ? {} : { server }),
    })
  }
  for (let i = 0; i < run.peers; i++) run.announcers.push(await node())
  const servers: ServerInfo[] = []
  for (let i = 0; i < run.servers; i++) {
    const server: ServerInfo = {
      name: `Demo Server ${String.fromCharCode(65 + i)}`,
      players: (i * 5) % 12,
      maxPlayers: 12,
      world: WORLDS[i % WORLDS.length] ?? 'island',
      version: '1.0',
      tags: i % 2 === 0 ? ['ctf'] : ['ffa'],
    }
    servers.push(server)
    run.announcers.push(await node(server))
  }
  run.log(
    `starting ${run.peers} peers and ${run.servers} game servers, each announcing to every tracker`,
  )
  for (const a of run.announcers) a.start()
  return servers
}

/** Wait (a third of the budget at most) until every node is up on every tracker. */
async function awaitNodes(run: Run): Promise<{ nodesOnEveryTracker: number; held: number[] }> {
  const { announcers, net, log } = run
  const everywhere = (): number =>
    announcers.filter(a => a.status().every(s => s.state === 'up')).length
  await until(() => everywhere() === announcers.length, run.started + run.duration * 0.35)
  const nodesOnEveryTracker = everywhere()
  const held = net.trackers.map(t => t.daemon.table.size)
  log(`${nodesOnEveryTracker}/${announcers.length} nodes are up on all 3 trackers`)
  net.addresses.forEach((t, i) => {
    log(`  ${trackerLabel(t)} holds ${held[i] ?? 0} signed records`)
  })
  return { nodesOnEveryTracker, held }
}

/** The client asks for peers, the server list and the best server for world "island". */
async function askClient(
  { network, log }: Run,
  client: Querier,
): Promise<{ peers: number; servers: number; best: DemoBest | null }> {
  const peers = await client.peers({ network, count: 20 })
  log(
    `client: asked ${peers.answeredBy.join(', ')} for peers: ${peers.entries.length} verified (of ${peers.total})`,
  )
  const list = await client.servers({ network, sort: 'players' })
  log(`client: server list from ${list.answeredBy.join(', ')}:`)
  for (const line of formatServerTable(list.entries)) log(`  ${line}`)
  const found = await client.best({ network, world: 'island' })
  const b = found.best
  const best =
    b !== null && b.record.server !== null
      ? {
          name: b.record.server.name,
          world: b.record.server.world,
          players: b.record.server.players,
          maxPlayers: b.record.server.maxPlayers,
          address: endpointToString(b.observed),
        }
      : null
  log(
    best === null
      ? 'client: no server has room for world "island"'
      : `client: best server for world "island": ${best.name} (${best.players}/${best.maxPlayers}) from ${found.answeredBy.join(', ')}`,
  )
  return { peers: peers.entries.length, servers: list.entries.length, best }
}

/**
 * Live info: the best server fills up; it re-signs with a higher seq and the client's next
 * question is rerouted to another server (MetaCube's REROUTE). Returns the new best server.
 */
async function fillBest(
  run: Run,
  client: Querier,
  servers: ServerInfo[],
  best: DemoBest | null,
): Promise<string | null> {
  const index = best === null ? -1 : servers.findIndex(s => s.name === best.name)
  const filling = index < 0 ? undefined : run.announcers[run.peers + index]
  if (filling === undefined || best === null) return null
  const full = best.maxPlayers
  const seqBefore = filling.record.record.seq
  const next = filling.update({ players: full })
  run.log(
    `${best.name} fills up (${full}/${full}): re-signed, seq ${seqBefore} → ${next.record.seq}`,
  )
  await until(
    () => filling.status().every(s => s.seq === next.record.seq && s.state === 'up'),
    run.started + run.duration * 0.6,
  )
  const again = await client.best({ network: run.network, world: 'island' })
  const rerouted = again.best?.record.server?.name ?? null
  run.log(
    rerouted === null
      ? 'client: now no island server has room'
      : `client: best server for world "island" is now ${rerouted}`,
  )
  return rerouted
}

/** Stop the first tracker, then ask it first: one timeout, then the next tracker answers. */
async function killOneTracker(
  run: Run,
): Promise<{ killed: string; after: Awaited<ReturnType<Querier['peers']>> }> {
  const victim = run.net.trackers[0]
  const victimAddress = run.net.addresses[0]
  if (victim === undefined || victimAddress === undefined) throw new Error('no tracker to stop')
  const killed = trackerLabel(victimAddress)
  run.log(`stopping tracker ${killed}`)
  await victim.stop('demo')
  const ordered = new Querier({
    trackers: run.net.addresses,
    timeout: run.timeout,
    deadline: 4 * run.timeout,
    order: 'given',
  })
  run.queriers.push(ordered)
  const after = await ordered.peers({ network: run.network, count: 20 })
  for (const a of after.attempts) {
    run.log(
      `  client asked ${a.tracker}: ${a.outcome}${a.outcome === 'ok' ? ` (${a.entries ?? 0} peers)` : ''}`,
    )
  }
  run.log(
    `client still answered: ${after.entries.length} verified peers from ${after.answeredBy.join(', ')}`,
  )
  return { killed, after }
}

/** Wait (to the end of the budget) until every node saw the dead tracker fail and is up on the rest. */
async function awaitFailover(
  run: Run,
  killed: string,
): Promise<{ nodesUpOnLiveTrackers: number; nodesSeeingDeadTracker: number }> {
  const { announcers } = run
  const live = (a: Announcer): boolean =>
    a.status().every(s => (s.tracker === killed ? true : s.state === 'up'))
  const sawDead = (a: Announcer): boolean =>
    a.status().some(s => s.tracker === killed && (s.state === 'down' || s.state === 'backoff'))
  await until(() => announcers.every(a => sawDead(a) && live(a)), run.started + run.duration - 300)
  const nodesUpOnLiveTrackers = announcers.filter(live).length
  const nodesSeeingDeadTracker = announcers.filter(sawDead).length
  run.log(
    `announces go on: ${nodesUpOnLiveTrackers}/${announcers.length} nodes up on the 2 live trackers; ` +
      `${nodesSeeingDeadTracker} saw ${killed} fail and back off`,
  )
  return { nodesUpOnLiveTrackers, nodesSeeingDeadTracker }
}
