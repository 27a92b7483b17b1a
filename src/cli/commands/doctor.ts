import type { Command } from 'commander'
import { type DoctorReport, type TrackerProbe, runDoctor } from '../../client/doctor.js'
import { TrackerError } from '../../errors.js'
import type { CliIo } from '../io.js'
import { intIn, networkName } from '../parse.js'
import { type TrackerSourceOptions, addTrackerOptions, resolveTrackers } from '../trackers.js'

interface DoctorFlags extends TrackerSourceOptions {
  network?: string
  port?: number
  timeout: number
  json: boolean
}

/** The network the throwaway record names when --network is not given. */
export const DOCTOR_NETWORK = 'doctor'

function probeLine(p: TrackerProbe): string {
  const who = p.tracker.includes(p.address) ? p.tracker : `${p.tracker} (${p.address})`
  if (!p.udp.ok)
    return `${who}  no answer: ${p.udp.error?.code ?? ''} ${p.udp.error?.message ?? ''}`
  const seen = `sees ${p.udp.observedAddress ?? '?'}`
  const reach = p.reach.challenged
    ? `reached the port (challenge in ${p.reach.challengeMs ?? 0} ms)`
    : p.reach.tested
      ? 'could NOT reach the port'
      : `reachability not tested (${p.reach.error?.code ?? 'no TCP port'})`
  return `${who}  ${seen}, ${reach}`
}

/** The human report: one line per tracker address, the families, then the advice. */
export function formatDoctorReport(r: DoctorReport): string[] {
  const lines = [`UDP port ${r.port}, ${r.probes.length} tracker address(es)`]
  for (const p of r.probes) lines.push(`  ${probeLine(p)}`)
  lines.push(`IPv4: ${r.ipv4}, IPv6: ${r.ipv6}`)
  if (r.findings.length === 0) {
    lines.push(`No problem found: trackers see this machine and reach UDP port ${r.port}.`)
  } else {
    lines.push(`${r.findings.length} problem(s):`)
    for (const f of r.findings) lines.push(`  - ${f.advice}`)
  }
  return lines
}

export function registerDoctor(program: Command, io: CliIo): void {
  const command = program
    .command('doctor')
    .description(
      'check what the trackers see of this machine (address, port, NAT) and whether they can reach a UDP port',
    )
    .option(
      '--network <name>',
      `network of the throwaway test record (default ${DOCTOR_NETWORK}; a tracker may serve only some)`,
      networkName,
    )
  addTrackerOptions(command)
    .option(
      '--port <port>',
      'local UDP port to test, the one the game server uses (default: a free port)',
      intIn(1, 65535),
    )
    .option(
      '--timeout <ms>',
      'milliseconds for each exchange and for the challenge',
      intIn(1, 600_000),
      3000,
    )
    .option('--json', 'print one JSON object', false)
    .action(async (flags: DoctorFlags) => {
      const trackers = await resolveTrackers(flags, line => {
        io.err(line)
      })
      const report = await runDoctor({
        trackers,
        network: flags.network ?? DOCTOR_NETWORK,
        timeout: flags.timeout,
        ...(flags.port === undefined ? {} : { port: flags.port }),
      })
      if (flags.json) io.out(JSON.stringify(report))
      else for (const line of formatDoctorReport(report)) io.out(line)
      if (!report.ok) {
        throw new TrackerError('DOCTOR_PROBLEMS', `${report.findings.length} problem(s) found`)
      }
    })
}
