// Table churn: how many honest entries a table keeps while an attacker with many address blocks
// announces 10 x N junk records. In process, no sockets, an injected clock, seeded randomness.
// Usage: tsx scripts/bench-churn.ts [--entries 10000,100000] [--flood 10] [--seed 1]
//        [--attacker-refreshes]
// Prints, per table size, the share of honest entries held with the old policy (one LRU, /24 and
// /48 caps only) and the new one (segmented LRU, /16 and /32 caps too), side by side.
// test/adversarial/churn.test.ts runs the same simulation at a small N.
import { pathToFileURL } from 'node:url'
import { ManualClock } from '../src/clock.js'
import { ClientTable, type TableOptions } from '../src/table/client-table.js'
import { seededRandom } from '../src/table/select.js'
import { SeqMemory } from '../src/table/seq-memory.js'
import type { Endpoint } from '../src/wire/endpoint.js'
import { type SignedRecord, decodeRecord, encodeSignedRecord } from '../src/wire/record.js'

export type Policy = 'old' | 'new'

export interface ChurnSetup {
  /** Table size (maxEntries). */
  entries: number
  /** Honest nodes, as a share of `entries`. */
  honestShare: number
  /** Junk records announced during the attack, as a multiple of `entries`. */
  flood: number
  /** Seconds between two announces of an honest node. */
  interval: number
  /** Seconds the attack lasts (the flood is spread evenly over it). */
  attackSeconds: number
  /** Attacker's IPv4 blocks: this many /16s with this many /24s each, plus one IPv6 /32. */
  wide16: number
  per16: number
  seed: number
  /** The attacker re-announces each junk record 151 s and 302 s after sending it (to earn protection). */
  attackerRefreshes: boolean
}

export const DEFAULT_SETUP: ChurnSetup = {
  entries: 10_000,
  honestShare: 0.75,
  flood: 10,
  interval: 300,
  attackSeconds: 600,
  wide16: 256,
  per16: 16,
  seed: 1,
  attackerRefreshes: false,
}

export interface ChurnResult {
  policy: Policy
  honest: number
  /** Share of honest nodes held at the end of the attack, and the lowest seen during it. */
  heldAtEnd: number
  heldMin: number
  junkHeld: number
  junkSent: number
  refusedByBlockCaps: number
  evicted: number
  ms: number
}

const T0 = 1_800_000_000

/** Table options of a policy: 'old' is one LRU with /24 and /48 caps (the table before). */
export function policyOptions(policy: Policy, entries: number, clock: ManualClock): TableOptions {
  const base: TableOptions = {
    maxEntries: entries,
    maxBytes: entries * 2000,
    maxTtl: 3600,
    perBlockMax: 64,
    clock,
  }
  if (policy === 'old') return { ...base, protectAfter: Number.MAX_SAFE_INTEGER }
  return {
    ...base,
    perWideBlockMax: 2048,
    protectAfter: 2,
    // As the daemon sets it: half the announce interval (300 s).
    refreshGap: 150,
    protectedShare: 0.8,
    replayMemory: entries,
    secret: new Uint8Array(16).fill(3),
  }
}

function record(id: number, issuedAt: number, seq = 1): SignedRecord {
  const publicKey = new Uint8Array(32)
  const v = new DataView(publicKey.buffer)
  v.setUint32(0, id)
  v.setUint32(4, 0x9e3779b9)
  return decodeRecord(
    encodeSignedRecord(
      {
        network: 'churn',
        publicKey,
        seq,
        issuedAt,
        expiresAt: issuedAt + 7200,
        kind: 'peer',
        endpoints: [],
        server: null,
      },
      new Uint8Array(64),
    ),
  )
}

const ep = (address: string, port: number): Endpoint => ({
  family: address.includes(':') ? 6 : 4,
  address,
  port,
})

/** What the announce handler does with a verified record (docs/protocol.md §8.3), in short. */
function announce(t: ClientTable, r: SignedRecord, src: Endpoint): 'ok' | 'stale' | 'refused' {
  const text = Buffer.from(r.bytes).toString('latin1')
  const key = text.slice(0, 1 + 5 + 32)
  const held = t.peek(key)
  if (held !== undefined && held.rec === text) {
    t.refresh(held)
    return 'ok'
  }
  if (held !== undefined && r.record.seq <= held.seq) return 'stale'
  const admitted = t.admit(held, src.address, r)
  if (admitted !== 'ok') return admitted === 'stale' ? 'stale' : 'refused'
  return t.insert(r, src) !== undefined ? 'ok' : 'refused'
}

/** One run: honest nodes settle for three intervals, then the flood; a table per policy. */
export function runChurn(policy: Policy, setup: Partial<ChurnSetup> = {}): ChurnResult {
  const s = { ...DEFAULT_SETUP, ...setup }
  const started = performance.now()
  const seed = new Uint8Array(16)
  new DataView(seed.buffer).setUint32(0, s.seed)
  const random = seededRandom(seed)
  const clock = new ManualClock(T0 * 1000)
  const t = new ClientTable(policyOptions(policy, s.entries, clock))
  const honest = Math.floor(s.entries * s.honestShare)
  // Honest nodes: scattered addresses (random /24s across the IPv4 space), each its phase.
  const nodes = Array.from({ length: honest }, (_, i) => {
    const a = 1 + Math.floor(random() * 222)
    const b = Math.floor(random() * 256)
    const c = Math.floor(random() * 256)
    return {
      rec: record(i, T0),
      src: ep(`${a}.${b}.${c}.${1 + (i % 250)}`, 1024 + (i % 50_000)),
      phase: Math.floor(random() * s.interval),
    }
  })
  const keys = nodes.map(n => Buffer.from(n.rec.bytes).toString('latin1').slice(0, 38))
  const byPhase: number[][] = Array.from({ length: s.interval }, () => [])
  nodes.forEach((n, i) => byPhase[n.phase]?.push(i))
  const junkAddress = (j: number): string => {
    if (random() < 0.5) {
      // One IPv6 /32 (2001:db8::/32): any of its 65,536 /48s.
      const h = Math.floor(random() * 65536).toString(16)
      return `2001:db8:${h}::${(j % 65535).toString(16)}`
    }
    const w = Math.floor(random() * s.wide16)
    const n = Math.floor(random() * s.per16)
    return `100.${w}.${n}.${1 + (j % 254)}`
  }
  const settle = 3 * s.interval
  const total = settle + s.attackSeconds
  const junkTotal = s.flood * s.entries
  let junkSent = 0
  // Re-announces the attacker has scheduled, by second (a ring of 512 s).
  const again: ({ r: SignedRecord; src: Endpoint }[] | undefined)[] = Array.from(
    { length: 512 },
    () => undefined,
  )
  let heldMin = 1
  const heldShare = (): number => {
    let held = 0
    for (const k of keys) if (t.peek(k) !== undefined) held++
    return honest === 0 ? 1 : held / honest
  }
  for (let sec = 0; sec < total; sec++) {
    const now = T0 + sec
    clock.set(now * 1000)
    for (const i of byPhase[sec % s.interval] ?? []) {
      const n = nodes[i]
      // An honest node refused as stale (its entry left and was remembered) re-signs.
      if (n !== undefined && announce(t, n.rec, n.src) === 'stale') {
        n.rec = record(i, T0 + sec, n.rec.record.seq + 1)
        announce(t, n.rec, n.src)
      }
    }
    if (sec >= settle) {
      const due = Math.floor((junkTotal * (sec - settle + 1)) / s.attackSeconds)
      for (; junkSent < due; junkSent++) {
        const r = record(1_000_000_000 + junkSent, now)
        const src = ep(junkAddress(junkSent), 4000)
        announce(t, r, src)
        if (s.attackerRefreshes) {
          for (const later of [151, 302]) {
            const at = (sec + later) % again.length
            ;(again[at] ??= []).push({ r, src })
          }
        }
      }
      const slot = again[sec % again.length]
      if (slot !== undefined) {
        for (const { r, src } of slot) announce(t, r, src)
        again[sec % again.length] = undefined
      }
      if ((sec - settle) % 30 === 29) heldMin = Math.min(heldMin, heldShare())
    }
  }
  const heldAtEnd = heldShare()
  heldMin = Math.min(heldMin, heldAtEnd)
  const errors = t.checkInvariants()
  if (errors.length > 0) throw new Error(`table invariants broken: ${errors.join('; ')}`)
  let honestHeld = 0
  for (const k of keys) if (t.peek(k) !== undefined) honestHeld++
  return {
    policy,
    honest,
    heldAtEnd,
    heldMin,
    junkHeld: t.size - honestHeld,
    junkSent,
    refusedByBlockCaps: t.counts.blockFull + t.counts.wideBlockFull,
    evicted: t.counts.evicted,
    ms: performance.now() - started,
  }
}

/** Bytes one remembered key costs: typed-array growth for a memory of 1,000,000 keys. */
function replayMemoryBytesPerKey(): number {
  const before = process.memoryUsage().arrayBuffers
  const m = new SeqMemory(1_000_000, new Uint8Array(16))
  const after = process.memoryUsage().arrayBuffers
  return (after - before) / m.capacity
}

function main(): void {
  const arg = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(name)
    return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
  }
  const sizes = arg('--entries', '10000,100000').split(',').map(Number)
  const flood = Number(arg('--flood', '10'))
  const seed = Number(arg('--seed', '1'))
  const attackerRefreshes = process.argv.includes('--attacker-refreshes')
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`
  console.log(
    `honest = 75 % of N, one announce per ${DEFAULT_SETUP.interval} s; attacker: ${flood} x N junk ` +
      `records in ${DEFAULT_SETUP.attackSeconds} s from ${DEFAULT_SETUP.wide16} /16s x ` +
      `${DEFAULT_SETUP.per16} /24s and one IPv6 /32 (65,536 /48s), half each` +
      (attackerRefreshes ? '; each junk record re-announced after 151 s and 302 s' : ''),
  )
  console.log(`replay memory: ${replayMemoryBytesPerKey().toFixed(1)} bytes per remembered key`)
  console.log(
    '| N | policy | honest held at end | lowest during attack | junk held | refused by block caps | evicted | run |',
  )
  console.log('|---|---|---|---|---|---|---|---|')
  for (const entries of sizes) {
    for (const policy of ['old', 'new'] as const) {
      const r = runChurn(policy, { entries, flood, seed, attackerRefreshes })
      console.log(
        `| ${entries.toLocaleString('en')} | ${policy} | ${pct(r.heldAtEnd)} | ${pct(r.heldMin)} | ` +
          `${r.junkHeld.toLocaleString('en')} | ${r.refusedByBlockCaps.toLocaleString('en')} | ` +
          `${r.evicted.toLocaleString('en')} | ${(r.ms / 1000).toFixed(1)} s |`,
      )
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main()
}
