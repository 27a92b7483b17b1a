/*
 * The pure half of `metatracker doctor` (README "NAT doctor", docs/operations.md): from what each
 * tracker saw, the problems found and one plain sentence of advice for each. No I/O here, so
 * every case (remapping, symmetric NAT, missing IPv6, clock skew) is testable without a NAT.
 */

/** What one tracker address told the doctor. */
export interface TrackerProbe {
  /** The tracker as given (HOST:PORT or its bootpage name). */
  tracker: string
  /** The resolved address literal asked. */
  address: string
  family: 4 | 6
  /** Step (a): the signed withdrawal over UDP from the doctor's socket. */
  udp: {
    ok: boolean
    /** The source address and port the tracker saw, `ADDR:PORT` / `[ADDR]:PORT`. */
    observedAddress?: string
    observedPort?: number
    /** Why it failed: a TrackerError code, and the wire code when the tracker refused. */
    error?: { code: string; message: string; wireCode?: number }
  }
  /** Step (d): the short-lived record announced over TCP, and the challenge that followed. */
  reach: {
    /** False when the TCP announce did not happen or was refused (see `error`). */
    tested: boolean
    /** A challenge for the doctor's key reached its socket within the timeout. */
    challenged: boolean
    /** Milliseconds from the announce to the challenge. */
    challengeMs?: number
    error?: { code: string; message: string; wireCode?: number }
  }
}

export type ProblemKind =
  | 'tracker-unreachable'
  | 'clock-skew'
  | 'port-remapped'
  | 'symmetric-nat'
  | 'port-closed'
  | 'family-broken'
  | 'no-tracker-answered'
  | 'tracker-refused'

export interface Finding {
  problem: ProblemKind
  /** The tracker concerned, when one is. */
  tracker?: string
  advice: string
}

export type FamilyState = 'works' | 'fails' | 'untested'

export interface Analysis {
  ipv4: FamilyState
  ipv6: FamilyState
  findings: Finding[]
}

/** Wire codes (docs/protocol.md §6) that mean the clocks disagree. */
const EXPIRED = 4
const BAD_TIME = 5
const UNKNOWN_NETWORK = 12

function who(p: TrackerProbe): string {
  return p.address === p.tracker || p.tracker.includes(p.address)
    ? p.tracker
    : `${p.tracker} (${p.address})`
}

/** The address the tracker saw, with the tested port (where its challenge went). */
function seenHost(p: TrackerProbe): string {
  const host = p.udp.observedAddress?.replace(/:[0-9]+$/, '')
  return host === undefined ? 'the address it sees' : host
}

function familyState(probes: readonly TrackerProbe[], family: 4 | 6): FamilyState {
  const mine = probes.filter(p => p.family === family)
  if (mine.length === 0) return 'untested'
  return mine.some(p => p.udp.ok) ? 'works' : 'fails'
}

const isSkew = (e: { wireCode?: number } | undefined): boolean =>
  e?.wireCode === BAD_TIME || e?.wireCode === EXPIRED

/**
 * The problems in `probes` for a socket bound on `port`, in a stable order: trackers that did
 * not answer, clock skew, port remapping and symmetric NAT (per family), announced ports nobody
 * could reach, a family that works with no tracker.
 */
export function analyse(port: number, probes: readonly TrackerProbe[]): Analysis {
  const findings: Finding[] = []
  const ipv4 = familyState(probes, 4)
  const ipv6 = familyState(probes, 6)
  if (probes.length > 0 && probes.every(p => !p.udp.ok && p.udp.error?.wireCode === undefined)) {
    findings.push({
      problem: 'no-tracker-answered',
      advice:
        'No tracker answered over UDP: check the network connection, and that a firewall lets ' +
        'outgoing UDP to the trackers through.',
    })
  }
  let skew = false
  for (const p of probes) {
    if (isSkew(p.udp.error) || isSkew(p.reach.error)) {
      if (!skew) {
        findings.push({
          problem: 'clock-skew',
          tracker: who(p),
          advice:
            `${who(p)} refused a freshly signed record as out of its time window: this ` +
            "machine's clock is probably wrong; enable time synchronisation (NTP).",
        })
      }
      skew = true
    } else if (p.udp.error?.wireCode !== undefined) {
      findings.push({
        problem: 'tracker-refused',
        tracker: who(p),
        advice:
          p.udp.error.wireCode === UNKNOWN_NETWORK
            ? `${who(p)} does not serve this network: run doctor with --network set to the ` +
              'network your game announces in.'
            : `${who(p)} refused the test record (${p.udp.error.message}).`,
      })
    } else if (!p.udp.ok && probes.some(o => o.udp.ok)) {
      findings.push({
        problem: 'tracker-unreachable',
        tracker: who(p),
        advice:
          `${who(p)} did not answer (${p.udp.error?.code ?? 'no reply'}): it may be down, or ` +
          'blocked on the way; the other trackers still list the server.',
      })
    }
  }
  for (const family of [4, 6] as const) {
    const seen = probes.filter(
      (p): p is TrackerProbe & { udp: { observedPort: number } } =>
        p.family === family && p.udp.ok && p.udp.observedPort !== undefined,
    )
    const ports = [...new Set(seen.map(p => p.udp.observedPort))]
    const label = family === 4 ? 'IPv4' : 'IPv6'
    if (ports.length > 1) {
      findings.push({
        problem: 'symmetric-nat',
        advice:
          `Trackers saw different ${label} source ports (${ports.join(', ')}) for one socket: a ` +
          'symmetric NAT, which gives each destination its own port; players cannot reach the ' +
          `server unless UDP port ${port} is forwarded to this machine (or the router is put ` +
          'in a full-cone / endpoint-independent mode).',
      })
    } else if (ports.length === 1 && ports[0] !== port) {
      findings.push({
        problem: 'port-remapped',
        advice:
          `The NAT maps local ${label} port ${port} to ${ports[0]}: announce the mapped port, or ` +
          `forward UDP port ${port} on the router to this machine so the port stays the same.`,
      })
    }
  }
  for (const p of probes) {
    if (p.udp.ok && p.reach.tested && !p.reach.challenged) {
      findings.push({
        problem: 'port-closed',
        tracker: who(p),
        advice:
          `${who(p)} could not reach UDP port ${port} at ${seenHost(p)}: ` +
          `forward UDP port ${port} on the router to this machine and allow it through the ` +
          'firewall; until then trackers will not list the server (players cannot connect).',
      })
    }
  }
  if (ipv4 === 'works' && ipv6 === 'fails') {
    findings.push({
      problem: 'family-broken',
      advice:
        'IPv6 does not work from here although the trackers offer it: IPv4 players can ' +
        'connect, IPv6-only players cannot (check the IPv6 route and firewall).',
    })
  } else if (ipv6 === 'works' && ipv4 === 'fails') {
    findings.push({
      problem: 'family-broken',
      advice:
        'IPv4 does not work from here although the trackers offer it: only IPv6 players can ' +
        'connect (check the IPv4 route, the NAT and the firewall).',
    })
  }
  return { ipv4, ipv6, findings }
}
