import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBootpage } from '../../bootpage/build.js'
import { createDraft } from '../../bootpage/draft.js'
import { signBootpage } from '../../bootpage/sign.js'
import { loadBootpage } from '../../client/bootpage-source.js'
import type { TrackerAddress } from '../../client/trackers.js'
import { generateKeyPair, toHex } from '../../crypto/keys.js'
import { type ConfigInput, type Tracker, startTracker } from '../../ops/start.js'

/*
 * The demo's network: three trackers on 127.0.0.1, started as `serve` starts them
 * (startTracker), and the signed bootpage that lists them.
 */

/** The three trackers of the demo, listed in a bootpage signed by their three operators. */
export interface DemoNetwork {
  trackers: Tracker[]
  /** From the verified bootpage, in its order (the order of `trackers`). */
  addresses: TrackerAddress[]
  bootpage: DemoBootpage
  /** Stop every tracker and remove their data directories and the bootpage. */
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
const TRACKER_NAMES = ['alpha', 'bravo', 'charlie'] as const

/** A demo tracker's configuration: the keys of the configuration file. */
function demoTrackerConfig(data: string, announceInterval: number): ConfigInput {
  return {
    host: '127.0.0.1',
    udp: 0,
    tcp: 0,
    http: null,
    data,
    announceInterval,
    // Every node of the demo announces from 127.0.0.1: one source, so no per-source bucket.
    flood: { rate: 0 },
    checkpoint: { interval: 0, verify: false },
    // A fast proof-of-address cycle (docs/protocol.md §9, docs/operations.md) so the demo's
    // scenes fit its budget: a listed server is challenged again every second and hidden once it
    // stays silent for a second; a crashed one leaves the list in a few seconds.
    challenge: { interval: 1, timeout: 1 },
    recheck: { unreachable: 1, empty: 1, open: 1, full: 1 },
  }
}

/**
 * Start the demo's three trackers on 127.0.0.1, ports chosen by the system, and publish them
 * in a signed bootpage; the addresses returned are the ones the verified bootpage lists.
 */
export async function startDemoTrackers(
  announceInterval: number,
  network = 'demo',
): Promise<DemoNetwork> {
  const dirs: string[] = []
  const trackers: Tracker[] = []
  const close = async (): Promise<void> => {
    await Promise.all(trackers.map(t => t.stop()))
    await Promise.all(dirs.map(d => rm(d, { recursive: true, force: true })))
  }
  try {
    for (let i = 0; i < 3; i++) {
      const data = await mkdtemp(join(tmpdir(), 'mt-demo-'))
      dirs.push(data)
      trackers.push(await startTracker(demoTrackerConfig(data, announceInterval)))
    }
    const started = trackers.map((t, i) => ({
      host: '127.0.0.1',
      udp: t.listening.udp,
      tcp: t.listening.tcp,
      name: `${TRACKER_NAMES[i] ?? i}`,
    }))
    const pageDir = await mkdtemp(join(tmpdir(), 'mt-demo-bootpage-'))
    dirs.push(pageDir)
    const { addresses, bootpage } = await demoBootpage(network, started, pageDir)
    return { trackers, addresses, bootpage, close }
  } catch (err) {
    await close()
    throw err
  }
}

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
    trackers: trackers.map((t, i) => demoTrackerEntry(t, i)),
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

/** Tracker `i` as the bootpage lists it, run by operator `i`. */
function demoTrackerEntry(t: TrackerAddress, i: number) {
  const operator = OPERATORS[i % OPERATORS.length] ?? 'Alice'
  return {
    name: t.name ?? `t${i}`,
    operator,
    host: t.host,
    ...(t.udp === null ? {} : { udp: t.udp }),
    ...(t.tcp === null ? {} : { tcp: t.tcp }),
    location: 'loopback',
    contact: `${operator.toLowerCase()}@example.org`,
    notes: 'a metatracker demo tracker',
  }
}
