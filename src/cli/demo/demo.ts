import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBootpage } from '../../bootpage/build.js'
import { createDraft } from '../../bootpage/draft.js'
import { signBootpage } from '../../bootpage/sign.js'
import { Announcer } from '../../client/announcer.js'
import { loadBootpage } from '../../client/bootpage-source.js'
import { formatServerTable } from '../../client/format.js'
import { type Attempt, Querier } from '../../client/querier.js'
import { type TrackerAddress, trackerLabel } from '../../client/trackers.js'
import { generateKeyPair, toHex } from '../../crypto/keys.js'
import { Daemon } from '../../tracker/daemon.js'
import { endpointToString } from '../../wire/endpoint.js'
import type { ServerInfo } from '../../wire/record.js'

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
  best: { name: string; world: string; players: number; maxPlayers: number; address: string } | null
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

/** The three trackers of the demo, listed in a bootpage signed by their three operators. */
export interface DemoNetwork {
  daemons: Daemon[]
  /** From the verified bootpage, in its order (the order of `daemons`). */
  addresses: TrackerAddress[]
  bootpage: DemoBootpage
  close(): Promise<void>
}

export interface DemoBootpage {
  /** bootpage.json and index.html (removed with the network). */
  json: string
  html: string
  /** The operators' public keys the demo's client pinned. */
  pins: string[]
  threshold: number
  signedBy: number
  sequence: number
  digest: string
}

const OPERATORS = ['Alice', 'Bob', 'Carol'] as const

/**
 * Sign a bootpage for the demo's trackers with three fresh operator keys (2 of 3 required),
 * write bootpage.json and index.html into `dir`, and load it back the way a client does:
 * pinned keys, expiry, sequence, cache. The keys live only in memory.
 */
async function demoBootpage(
  network: string,
  trackers: TrackerAddress[],
  dir: string,
): Promise<{ addresses: TrackerAddress[]; bootpage: DemoBootpage }> {
  const keys = OPERATORS.map(() => generateKeyPair())
  const issuedAt = Math.floor(Date.now() / 1000)
  let doc = createDraft({
    network,
    issuedAt,
    validUntil: issuedAt + 86_400,
    threshold: 2,
    operators: OPERATORS.map((name, i) => ({
      name,
      key: toHex(keys[i]?.publicKey ?? new Uint8Array(32)),
    })),
    trackers: trackers.map((t, i) => ({
      name: t.name ?? `t${i}`,
      operator: OPERATORS[i % OPERATORS.length] ?? 'Alice',
      host: t.host,
      ...(t.udp === null ? {} : { udp: t.udp }),
      ...(t.tcp === null ? {} : { tcp: t.tcp }),
      location: 'loopback',
      contact: `${(OPERATORS[i % OPERATORS.length] ?? 'ops').toLowerCase()}@example.org`,
      notes: 'a metatracker demo tracker',
    })),
  })
  for (const k of keys) doc = signBootpage(doc, k.privateKey, k.publicKey)
  const written = await buildBootpage(doc, dir)
  const pins = doc.page.operators.map(o => o.key)
  const loaded = await loadBootpage({
    source: written.json,
    pins,
    network,
    cacheDir: join(dir, 'cache'),
  })
  return {
    addresses: loaded.trackers,
    bootpage: {
      json: written.json,
      html: written.html,
      pins,
      threshold: loaded.verdict.threshold,
      signedBy: loaded.verdict.signed,
      sequence: loaded.verdict.sequence,
      digest: loaded.verdict.digest,
    },
  }
}

const TRACKER_NAMES = ['alpha', 'bravo', 'charlie'] as const

/**
 * Start the demo's three trackers on 127.0.0.1, ports chosen by the system, and publish them
 * in a signed bootpage; the addresses returned are the ones the verified bootpage lists.
 */
export async function startDemoTrackers(
  announceInterval: number,
  network = 'demo',
): Promise<DemoNetwork> {
  const dirs: string[] = []
  const daemons: Daemon[] = []
  const close = async (): Promise<void> => {
    await Promise.all(daemons.map(d => d.close()))
    await Promise.all(dirs.map(d => rm(d, { recursive: true, force: true })))
  }
  try {
    for (let i = 0; i < 3; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'mt-demo-'))
      dirs.push(dataDir)
      daemons.push(
        await Daemon.start({
          host: ['127.0.0.1'],
          udp: 0,
          tcp: 0,
          data: dataDir,
          announceInterval,
        }),
      )
    }
  } catch (err) {
    await close()
    throw err
  }
  const started = daemons.map((d, i) => {
    const a = d.addresses()
    return { host: '127.0.0.1', udp: a.udp, tcp: a.tcp, name: `${TRACKER_NAMES[i] ?? i}` }
  })
  try {
    const pageDir = await mkdtemp(join(tmpdir(), 'mt-demo-bootpage-'))
    dirs.push(pageDir)
    const { addresses, bootpage } = await demoBootpage(network, started, pageDir)
    return { daemons, addresses, bootpage, close }
  } catch (err) {
    await close()
    throw err
  }
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

export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const started = Date.now()
  const duration = Math.max(3000, options.durationMs ?? 10_000)
  const end = started + duration - 300
  const network = options.network ?? 'demo'
  const nPeers = options.peers ?? 12
  const nServers = options.servers ?? 4
  const log = options.log ?? ((): void => undefined)
  // Everything scales with the budget, within sane bounds.
  const timeout = Math.round(Math.min(1000, Math.max(150, duration / 20)))
  const interval = Math.max(1, Math.min(5, Math.round(duration / 5000)))

  log(`starting 3 trackers on 127.0.0.1 (announce interval ${interval} s)`)
  const net = await startDemoTrackers(interval, network)
  const announcers: Announcer[] = []
  const queriers: Querier[] = []
  let report: DemoReport
  try {
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
    const common = {
      trackers: net.addresses,
      network,
      timeout,
      minInterval: 500,
      retryBase: timeout,
      retryCap: 4 * timeout,
    }
    for (let i = 0; i < nPeers; i++) {
      announcers.push(
        new Announcer({
          ...common,
          privateKey: generateKeyPair().privateKey,
          endpoints: [{ family: 4, address: '0.0.0.0', port: 40_000 + i }],
        }),
      )
    }
    const servers: ServerInfo[] = []
    for (let i = 0; i < nServers; i++) {
      const server: ServerInfo = {
        name: `Demo Server ${String.fromCharCode(65 + i)}`,
        players: (i * 5) % 12,
        maxPlayers: 12,
        world: WORLDS[i % WORLDS.length] ?? 'island',
        version: '1.0',
        tags: i % 2 === 0 ? ['ctf'] : ['ffa'],
      }
      servers.push(server)
      announcers.push(
        new Announcer({
          ...common,
          privateKey: generateKeyPair().privateKey,
          endpoints: [{ family: 4, address: '0.0.0.0', port: 27_960 + i }],
          server,
        }),
      )
    }
    log(`starting ${nPeers} peers and ${nServers} game servers, each announcing to every tracker`)
    for (const a of announcers) a.start()
    const everywhere = (): number =>
      announcers.filter(a => a.status().every(s => s.state === 'up')).length
    await until(() => everywhere() === announcers.length, started + duration * 0.35)
    const nodesOnEveryTracker = everywhere()
    const held = net.daemons.map(d => d.table.size)
    log(`${nodesOnEveryTracker}/${announcers.length} nodes are up on all 3 trackers`)
    net.addresses.forEach((t, i) => {
      log(`  ${trackerLabel(t)} holds ${held[i] ?? 0} signed records`)
    })

    const client = new Querier({ trackers: net.addresses, timeout, deadline: 4 * timeout })
    queriers.push(client)
    const peers = await client.peers({ network, count: 20 })
    log(
      `client: asked ${peers.answeredBy.join(', ')} for peers: ${peers.entries.length} verified (of ${peers.total})`,
    )
    const list = await client.servers({ network, sort: 'players' })
    log(`client: server list from ${list.answeredBy.join(', ')}:`)
    for (const line of formatServerTable(list.entries)) log(`  ${line}`)
    const best = await client.best({ network, world: 'island' })
    const b = best.best
    const bestInfo =
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
      bestInfo === null
        ? 'client: no server has room for world "island"'
        : `client: best server for world "island": ${bestInfo.name} (${bestInfo.players}/${bestInfo.maxPlayers}) from ${best.answeredBy.join(', ')}`,
    )

    // Live info: the best server fills up; it re-signs with a higher seq and the client's next
    // question is rerouted to another server (MetaCube's REROUTE).
    const bestIndex = b === null ? -1 : servers.findIndex(s => s.name === b.record.server?.name)
    const filling = bestIndex < 0 ? undefined : announcers[nPeers + bestIndex]
    let rerouted: string | null = null
    if (filling !== undefined && b !== null && b.record.server !== null) {
      const full = b.record.server.maxPlayers
      const seqBefore = filling.record.record.seq
      const next = filling.update({ players: full })
      log(
        `${b.record.server.name} fills up (${full}/${full}): re-signed, seq ${seqBefore} → ${next.record.seq}`,
      )
      await until(
        () => filling.status().every(s => s.seq === next.record.seq && s.state === 'up'),
        started + duration * 0.6,
      )
      const again = await client.best({ network, world: 'island' })
      rerouted = again.best?.record.server?.name ?? null
      log(
        rerouted === null
          ? 'client: now no island server has room'
          : `client: best server for world "island" is now ${rerouted}`,
      )
    }

    const victim = net.daemons[0]
    const victimAddress = net.addresses[0]
    if (victim === undefined || victimAddress === undefined) throw new Error('no tracker to stop')
    const killed = trackerLabel(victimAddress)
    log(`stopping tracker ${killed}`)
    await victim.close()
    // Ask the stopped tracker first, so the failover is visible: one timeout, then the next.
    const ordered = new Querier({
      trackers: net.addresses,
      timeout,
      deadline: 4 * timeout,
      order: 'given',
    })
    queriers.push(ordered)
    const after = await ordered.peers({ network, count: 20 })
    for (const a of after.attempts) {
      log(
        `  client asked ${a.tracker}: ${a.outcome}${a.outcome === 'ok' ? ` (${a.entries ?? 0} peers)` : ''}`,
      )
    }
    log(
      `client still answered: ${after.entries.length} verified peers from ${after.answeredBy.join(', ')}`,
    )

    const live = (a: Announcer): boolean =>
      a.status().every(s => (s.tracker === killed ? true : s.state === 'up'))
    const sawDead = (a: Announcer): boolean =>
      a.status().some(s => s.tracker === killed && (s.state === 'down' || s.state === 'backoff'))
    await until(() => announcers.every(a => sawDead(a) && live(a)), end)
    const nodesUpOnLiveTrackers = announcers.filter(live).length
    const nodesSeeingDeadTracker = announcers.filter(sawDead).length
    log(
      `announces go on: ${nodesUpOnLiveTrackers}/${announcers.length} nodes up on the 2 live trackers; ` +
        `${nodesSeeingDeadTracker} saw ${killed} fail and back off`,
    )
    const ok =
      nodesOnEveryTracker === announcers.length &&
      after.entries.length > 0 &&
      nodesUpOnLiveTrackers === announcers.length
    report = {
      ok,
      network,
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
      nodes: announcers.length,
      held,
      peersSampled: peers.entries.length,
      serversListed: list.entries.length,
      best: bestInfo,
      rerouted,
      killed,
      afterKill: {
        answeredBy: after.answeredBy,
        attempts: after.attempts,
        peers: after.entries.length,
      },
      nodesUpOnLiveTrackers,
      nodesSeeingDeadTracker,
      elapsedMs: 0,
    }
  } finally {
    await Promise.all([...announcers.map(a => a.close()), ...queriers.map(q => q.close())])
    await net.close()
  }
  report.elapsedMs = Date.now() - started
  log(`done in ${(report.elapsedMs / 1000).toFixed(1)} s: ${report.ok ? 'OK' : 'NOT OK'}`)
  return report
}
