import { randomBytes } from 'node:crypto'
import { type Socket, createSocket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { type Clock, systemClock } from '../clock.js'
import { type KeyPair, generateKeyPair, toHex } from '../crypto/keys.js'
import { signRecord } from '../crypto/record-sign.js'
import { TrackerError, WireError, isTrackerError } from '../errors.js'
import { type Endpoint, endpointToString, parseIp } from '../wire/endpoint.js'
import { type Message, decodeMessage, encodeMessage } from '../wire/messages.js'
import type { SignedRecord } from '../wire/record.js'
import { answerChallenge, looksLikeChallenge } from './challenge-answer.js'
import { type Analysis, type TrackerProbe, analyse } from './doctor-analysis.js'
import { TrackerRefusedError, expectReply } from './replies.js'
import type { ResolvedHost } from './resolve.js'
import { TCP_COOKIE, TcpTransport } from './transport/tcp.js'
import { type TrackerAddress, trackerLabel } from './trackers.js'

export type { Analysis, Finding, ProblemKind, TrackerProbe } from './doctor-analysis.js'
export { analyse } from './doctor-analysis.js'

/*
 * `metatracker doctor` (README "NAT doctor"): what each tracker sees of this machine, and
 * whether it can reach the port a server would announce. Per tracker address, from one UDP
 * socket bound on the port P:
 *   (a) a cookie-request, then a signed withdrawal of a throwaway key (docs/protocol.md §8.3:
 *       the tracker stores nothing and answers `withdrawn` with the source it saw);
 *   (d) over TCP, a 60-second peer record of that key naming `0.0.0.0:P` (or `[::]:P`), so the
 *       tracker challenges observed-address:P (§9); the socket on P answers and notes the
 *       challenge; then a withdrawal with a higher seq removes the record at once.
 * The socket is hand-made (node:dgram) rather than the UdpTransport because it must be bound on
 * P, send the requests and answer the challenges on that same port.
 */

export interface DoctorOptions {
  trackers: readonly TrackerAddress[]
  network: string
  /** Local UDP port to test (0 or absent: a free port, the same for both families). */
  port?: number
  /** Milliseconds for each exchange and for the challenge to arrive (default 3000). */
  timeout?: number
  /** Addresses to bind (defaults 0.0.0.0 and ::). */
  bindHost4?: string
  bindHost6?: string
  /** Every address of a host name (default: the system resolver, both families). */
  resolveAll?: (host: string) => Promise<ResolvedHost[]>
  /** Answer the challenges (default true; false only in tests). */
  answer?: boolean
  clock?: Clock
}

export interface DoctorReport extends Analysis {
  port: number
  probes: TrackerProbe[]
  ok: boolean
}

const RECORD_LIFETIME = 60

async function systemResolveAll(host: string): Promise<ResolvedHost[]> {
  const literal = parseIp(host)
  if (literal !== null) return [{ address: host, family: literal.byteLength === 4 ? 4 : 6 }]
  try {
    const all = await lookup(host, { all: true })
    const out = new Map<string, ResolvedHost>()
    for (const r of all) out.set(r.address, { address: r.address, family: r.family === 6 ? 6 : 4 })
    return [...out.values()]
  } catch (cause) {
    throw new TrackerError('CLIENT_UNREACHABLE', `cannot resolve ${host}`, { cause })
  }
}

function bindUdp(family: 4 | 6, host: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 })
  return new Promise((resolve, reject) => {
    socket.once('error', err => {
      socket.close()
      reject(err)
    })
    socket.bind(port, host, () => {
      socket.removeAllListeners('error')
      // An ICMP error from a tracker that went away must not crash the process.
      socket.on('error', () => undefined)
      resolve(socket)
    })
  })
}

interface Pending {
  address: string
  port: number
  resolve: (m: Message) => void
}

/** One UDP socket on P: requests out, replies matched by txid and source, challenges answered. */
class DoctorSocket {
  readonly #socket: Socket
  readonly #pending = new Map<number, Pending>()
  readonly #onChallenge: (datagram: Uint8Array, address: string, port: number) => void

  constructor(
    socket: Socket,
    onChallenge: (datagram: Uint8Array, address: string, port: number) => void,
  ) {
    this.#socket = socket
    this.#onChallenge = onChallenge
    socket.on('message', (msg, rinfo) => {
      if (looksLikeChallenge(msg)) {
        this.#onChallenge(msg, rinfo.address, rinfo.port)
        return
      }
      let m: Message
      try {
        m = decodeMessage(msg)
      } catch (err) {
        if (err instanceof WireError) return
        throw err
      }
      const p = this.#pending.get(m.txid)
      if (p === undefined || p.address !== rinfo.address || p.port !== rinfo.port) return
      this.#pending.delete(m.txid)
      p.resolve(m)
    })
  }

  get port(): number {
    return this.#socket.address().port
  }

  send(bytes: Uint8Array, port: number, address: string): void {
    this.#socket.send(bytes, port, address)
  }

  /** Send `build(txid)` to address:port, resending every third of `timeout` when `resend`. */
  request(
    address: string,
    port: number,
    build: (txid: number) => Message,
    timeout: number,
    resend: boolean,
  ): Promise<Message> {
    let txid = 0
    while (txid === 0 || this.#pending.has(txid)) txid = randomBytes(4).readUInt32BE(0)
    const bytes = encodeMessage(build(txid))
    return new Promise((resolve, reject) => {
      const timers: NodeJS.Timeout[] = []
      const done = (): void => {
        for (const t of timers) clearTimeout(t)
        this.#pending.delete(txid)
      }
      this.#pending.set(txid, {
        address,
        port,
        resolve: m => {
          done()
          resolve(m)
        },
      })
      const sendNow = (): void => {
        this.#socket.send(bytes, port, address)
      }
      sendNow()
      if (resend) {
        timers.push(setTimeout(sendNow, timeout / 3), setTimeout(sendNow, (2 * timeout) / 3))
      }
      timers.push(
        setTimeout(() => {
          done()
          reject(new TrackerError('CLIENT_TIMEOUT', `no answer within ${timeout} ms`))
        }, timeout),
      )
    })
  }

  close(): Promise<void> {
    return new Promise(resolve => {
      this.#socket.close(() => {
        resolve()
      })
    })
  }
}

function errorOf(err: unknown): { code: string; message: string; wireCode?: number } {
  if (err instanceof TrackerRefusedError)
    return { code: err.code, message: err.message, wireCode: err.wireCode }
  if (isTrackerError(err)) return { code: err.code, message: err.message }
  return { code: 'CLIENT_BAD_REPLY', message: err instanceof Error ? err.message : String(err) }
}

interface Target {
  tracker: TrackerAddress
  label: string
  host: ResolvedHost
  key: KeyPair
  /** Set when a challenge for this key arrived. */
  challengedAt?: number
  wake?: () => void
}

/** Bind a socket per family needed on one port: `port`, or a free one both families share. */
async function bindSockets(
  families: ReadonlySet<4 | 6>,
  port: number,
  hosts: Record<4 | 6, string>,
): Promise<{ sockets: Map<4 | 6, Socket>; port: number; unbound: Set<4 | 6> }> {
  const unbound = new Set<4 | 6>()
  for (let attempt = 0; ; attempt++) {
    const sockets = new Map<4 | 6, Socket>()
    let chosen = port
    let retry = false
    for (const family of [4, 6] as const) {
      if (!families.has(family)) continue
      try {
        const s = await bindUdp(family, hosts[family], chosen)
        sockets.set(family, s)
        chosen = s.address().port
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EADDRINUSE' && port === 0 && sockets.size > 0 && attempt < 8) retry = true
        else if (code === 'EADDRINUSE' || code === 'EACCES') {
          for (const s of sockets.values()) s.close()
          throw new TrackerError(
            'CLIENT_BAD_OPTION',
            `cannot bind UDP port ${chosen} (${code}): is a server already running on it?`,
          )
        } else unbound.add(family)
      }
    }
    if (!retry) return { sockets, port: chosen, unbound }
    for (const s of sockets.values()) s.close()
    unbound.clear()
  }
}

/** Run every check against every tracker address; never rejects for a tracker's failure. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeout = options.timeout ?? 3000
  const clock = options.clock ?? systemClock
  const resolveAll = options.resolveAll ?? systemResolveAll
  const probes: TrackerProbe[] = []
  const targets: Target[] = []
  for (const tracker of options.trackers) {
    const label = trackerLabel(tracker)
    let hosts: ResolvedHost[]
    try {
      hosts = await resolveAll(tracker.host)
    } catch (err) {
      probes.push({
        tracker: label,
        address: tracker.host,
        family: 4,
        udp: { ok: false, error: errorOf(err) },
        reach: { tested: false, challenged: false },
      })
      continue
    }
    for (const host of hosts) targets.push({ tracker, label, host, key: generateKeyPair() })
  }
  const byKey = new Map(targets.map(t => [toHex(t.key.publicKey), t]))
  const families = new Set(targets.map(t => t.host.family))
  const bound = await bindSockets(families, options.port ?? 0, {
    4: options.bindHost4 ?? '0.0.0.0',
    6: options.bindHost6 ?? '::',
  })
  const sockets = new Map<4 | 6, DoctorSocket>()
  for (const [family, raw] of bound.sockets) {
    const ds: DoctorSocket = new DoctorSocket(raw, (datagram, address, port) => {
      // Only a challenge for one of the throwaway keys (only the trackers asked know them).
      const target = byKey.get(toHex(datagram.subarray(21, 53)))
      if (target === undefined) return
      const reply = answerChallenge(datagram, {
        publicKey: target.key.publicKey,
        networks: [options.network],
      })
      if (reply === null) return
      target.challengedAt ??= clock.now()
      target.wake?.()
      if (options.answer !== false) ds.send(reply, port, address)
    })
    sockets.set(family, ds)
  }
  try {
    const results = await Promise.all(
      targets.map(t =>
        probeOne(t, sockets.get(t.host.family), bound.port, options, timeout, clock),
      ),
    )
    probes.push(...results)
  } finally {
    await Promise.all([...sockets.values()].map(s => s.close()))
  }
  const analysis = analyse(bound.port, probes)
  return { port: bound.port, probes, ...analysis, ok: analysis.findings.length === 0 }
}

function sign(t: Target, network: string, seq: number, endpoints: Endpoint[], nowMs: number) {
  const issuedAt = Math.floor(nowMs / 1000)
  return signRecord(
    {
      network,
      publicKey: t.key.publicKey,
      seq,
      issuedAt,
      expiresAt: endpoints.length === 0 ? issuedAt : issuedAt + RECORD_LIFETIME,
      kind: 'peer',
      endpoints,
      server: null,
    },
    t.key.privateKey,
  )
}

async function probeOne(
  t: Target,
  socket: DoctorSocket | undefined,
  port: number,
  options: DoctorOptions,
  timeout: number,
  clock: Clock,
): Promise<TrackerProbe> {
  const probe: TrackerProbe = {
    tracker: t.label,
    address: t.host.address,
    family: t.host.family,
    udp: { ok: false },
    reach: { tested: false, challenged: false },
  }
  const seq0 = Math.floor(clock.now())
  // (a) What the tracker sees of the socket on P.
  if (socket === undefined) {
    probe.udp.error = {
      code: 'CLIENT_UNREACHABLE',
      message: `no IPv${t.host.family} socket could be bound on this machine`,
    }
  } else if (t.tracker.udp === null) {
    probe.udp.error = { code: 'CLIENT_UNREACHABLE', message: `${t.label} has no UDP port` }
  } else {
    const udpPort = t.tracker.udp
    try {
      const c = expectReply(
        await socket.request(
          t.host.address,
          udpPort,
          txid => ({ type: 'cookie-request', txid }),
          timeout,
          true,
        ),
        'cookie-reply',
        t.label,
      )
      const record = sign(t, options.network, seq0, [], clock.now())
      const ok = expectReply(
        await socket.request(
          t.host.address,
          udpPort,
          txid => ({ type: 'announce', txid, cookie: c.cookie, record }),
          timeout,
          false,
        ),
        'announce-reply',
        t.label,
      )
      probe.udp = {
        ok: true,
        observedAddress: endpointToString(ok.observed),
        observedPort: ok.observed.port,
      }
    } catch (err) {
      probe.udp.error = errorOf(err)
    }
  }
  // (d) Can the tracker reach P at the address it sees? Only with a socket on P to answer.
  if (socket === undefined || t.tracker.tcp === null) return probe
  const tcp = new TcpTransport()
  const at: TrackerAddress = { host: t.host.address, udp: null, tcp: t.tracker.tcp }
  const send = async (record: SignedRecord): Promise<void> => {
    const [reply] = await tcp.exchange(
      at,
      ([txid]) => [{ type: 'announce', txid: txid ?? 1, cookie: TCP_COOKIE, record }],
      1,
      { timeout },
    )
    if (reply === undefined) throw new TrackerError('CLIENT_BAD_REPLY', 'no reply')
    expectReply(reply, 'announce-reply', t.label)
  }
  const any: Endpoint =
    t.host.family === 4
      ? { family: 4, address: '0.0.0.0', port }
      : { family: 6, address: '::', port }
  const started = clock.now()
  try {
    await send(sign(t, options.network, seq0 + 1, [any], clock.now()))
    probe.reach.tested = true
    if (t.challengedAt === undefined) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, timeout)
        t.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    if (t.challengedAt !== undefined) {
      probe.reach.challenged = true
      probe.reach.challengeMs = Math.max(0, t.challengedAt - started)
    }
  } catch (err) {
    probe.reach.error = errorOf(err)
  }
  if (probe.reach.tested) {
    // Leave nothing behind: withdraw at once (best effort; the record expires in 60 s anyway).
    try {
      await send(sign(t, options.network, seq0 + 2, [], clock.now()))
    } catch {
      // Nothing more to do: the short lifetime bounds it.
    }
  }
  await tcp.close()
  return probe
}
