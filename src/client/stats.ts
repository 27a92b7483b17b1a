import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { TrackerError, WireError } from '../errors.js'
import { Limits } from '../wire/constants.js'
import { wireErrorReason } from '../wire/constants.js'
import { FrameDecoder, encodeFrame } from '../wire/framing.js'
import { type Stat, decodeMessage, encodeMessage } from '../wire/messages.js'

/**
 * Ask a tracker for its counters (MetaServerII's metastat, over the protocol): one framed
 * `stats-request` over TCP (protocol §8.8, §10; TCP needs no cookie), one framed `stats-reply`
 * back (§8.9), then close. Bounded by a deadline and a frame cap; every failure is a coded
 * TrackerError: STATS_*, or TRANSPORT_REFUSED / TRANSPORT_CLOSED when the tracker reset or
 * closed the connection before its reply (§10: at its connection cap, for instance).
 */

export interface StatsTarget {
  /** A literal address or a host name. */
  host: string
  /** The tracker's TCP port. */
  port: number
}

export interface StatsOptions {
  /** Whole exchange deadline, ms (connect, send, receive). */
  timeoutMs?: number
}

/** The largest stats-reply the format allows: 64 stats of 48-byte names and u64 values. */
const MAX_REPLY = 1 + 4 + 1 + Limits.STATS_MAX * (1 + Limits.STAT_NAME_MAX + 8)

export function requestStats(target: StatsTarget, options: StatsOptions = {}): Promise<Stat[]> {
  const timeoutMs = options.timeoutMs ?? 5_000
  const txid = randomBytes(4).readUInt32BE(0)
  const request = encodeFrame(
    encodeMessage({ type: 'stats-request', txid, cookie: new Uint8Array(Limits.COOKIE_BYTES) }),
  )
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`
  return new Promise<Stat[]>((resolve, reject) => {
    const decoder = new FrameDecoder(MAX_REPLY)
    let connected = false
    let settled = false
    const socket = connect({ host: target.host, port: target.port })
    const finish = (err: TrackerError | null, stats?: Stat[]): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err !== null) reject(err)
      else resolve(stats ?? [])
    }
    const timer = setTimeout(() => {
      finish(new TrackerError('STATS_TIMEOUT', `no stats-reply from ${where} in ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('connect', () => {
      connected = true
      socket.write(request)
    })
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(chunk)
      } catch (err) {
        finish(badReply(where, err))
        return
      }
      const frame = frames[0]
      if (frame === undefined) return
      try {
        const m = decodeMessage(frame)
        if (m.txid !== txid) finish(badReply(where, 'a reply to another request'))
        else if (m.type === 'stats-reply') finish(null, m.stats)
        else if (m.type === 'error') {
          const hint = m.retryAfter > 0 ? ` (retry after ${m.retryAfter} s)` : ''
          finish(
            new TrackerError(
              'STATS_REFUSED',
              `${where} answered error ${m.code}: ${wireErrorReason(m.code)}${hint}`,
            ),
          )
        } else finish(badReply(where, `a ${m.type} message`))
      } catch (err) {
        finish(badReply(where, err))
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(
        isReset(err)
          ? new TrackerError(
              'TRANSPORT_REFUSED',
              `${where} reset the connection before its stats-reply (busy, or this address holds its share of connections): retry later`,
              { cause: err },
            )
          : connected
            ? new TrackerError(
                'TRANSPORT_CLOSED',
                `${where}: connection lost before the stats-reply: ${err.message}`,
                { cause: err },
              )
            : new TrackerError(
                'STATS_CONNECT_FAILED',
                `cannot connect to ${where}: ${err.message}`,
                { cause: err },
              ),
      )
    })
    socket.on('close', () => {
      finish(
        new TrackerError(
          'TRANSPORT_CLOSED',
          `${where} closed the connection before its stats-reply`,
        ),
      )
    })
  })
}

/** A reset by the peer (or a write into one): the tracker accepted, then refused us. */
function isReset(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE'
}

function badReply(where: string, why: unknown): TrackerError {
  const detail =
    why instanceof WireError ? why.code : why instanceof Error ? why.message : String(why)
  return new TrackerError('STATS_BAD_REPLY', `${where} sent no valid stats-reply: ${detail}`)
}
