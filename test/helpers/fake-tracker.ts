import { randomBytes } from 'node:crypto'
import { type Server, type Socket, createServer } from 'node:net'
import { toHex } from '../../src/crypto/keys.js'
import { verifyRecord } from '../../src/crypto/record-sign.js'
import { DatagramSocket } from '../../src/net/datagram-socket.js'
import { Limits, WireErrorCode } from '../../src/wire/constants.js'
import { type Endpoint, endpointFrom } from '../../src/wire/endpoint.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/framing.js'
import {
  type IntroEntry,
  type Message,
  type Query,
  decodeMessage,
  encodeMessage,
  fitIntroductions,
} from '../../src/wire/messages.js'
import { type SignedRecord, isWithdrawal } from '../../src/wire/record.js'
import type { TrackerAddress } from '../../src/client/trackers.js'

/**
 * A small tracker built straight from the codec, for client tests that need a tracker to
 * misbehave: drop every packet, tamper with records, refuse with a code, or serve injected
 * entries. It keeps records by key (higher seq wins), checks its own cookies, and answers
 * sample/list/best queries simply. It is not the real tracker (see src/tracker).
 */
export interface FakeBehaviour {
  /** Ignore every UDP datagram and TCP frame. */
  drop: boolean
  /** Flip a byte inside every record body it hands out (the signature no longer verifies). */
  tamper: boolean
  /** Answer every announce and query with this error. */
  error: { code: number; retryAfter: number } | null
  /** Reject cookies: answer every request with a fresh cookie-reply. */
  rejectCookies: boolean
  /** Interval hint in announce replies, seconds. */
  interval: number
}

interface Held {
  signed: SignedRecord
  observed: Endpoint
  lastSeen: number
}

export class FakeTracker {
  readonly behaviour: FakeBehaviour = {
    drop: false,
    tamper: false,
    error: null,
    rejectCookies: false,
    interval: 300,
  }
  /** Requests received, by message type (dropped ones included). */
  readonly received = new Map<string, number>()
  /** Entries handed out with every query answer, after the real ones. */
  readonly injected: IntroEntry[] = []
  readonly records = new Map<string, Held>()
  /** Withdrawals applied, in order. */
  readonly withdrawals: SignedRecord[] = []
  readonly #udp: DatagramSocket
  readonly #tcp: Server
  readonly #conns = new Set<Socket>()
  readonly #cookies = new Set<string>()
  readonly #loop: Promise<void>
  #closed = false

  private constructor(udp: DatagramSocket, tcp: Server) {
    this.#udp = udp
    this.#tcp = tcp
    this.#loop = this.#serveUdp()
    tcp.on('connection', s => {
      this.#serveTcp(s)
    })
  }

  static async start(host = '127.0.0.1'): Promise<FakeTracker> {
    const udp = await DatagramSocket.bind({ host, port: 0 })
    const tcp = createServer()
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject)
      tcp.listen(0, host, () => {
        resolve()
      })
    })
    return new FakeTracker(udp, tcp)
  }

  get address(): TrackerAddress {
    const a = this.#tcp.address()
    const tcp = typeof a === 'object' && a !== null ? a.port : null
    return { host: this.#udp.host, udp: this.#udp.port, tcp }
  }

  /** Forget every cookie issued (as a tracker with a new secret would). */
  forgetCookies(): void {
    this.#cookies.clear()
  }

  /** Store a record as if it had been announced from `observed`. */
  hold(
    signed: SignedRecord,
    observed: Endpoint = { family: 4, address: '203.0.113.9', port: 9 },
  ): void {
    const key = `${signed.record.network}|${toHex(signed.record.publicKey)}`
    this.records.set(key, { signed, observed, lastSeen: Date.now() })
  }

  count(type: string): number {
    return this.received.get(type) ?? 0
  }

  async #serveUdp(): Promise<void> {
    for await (const d of this.#udp) {
      let m: Message
      try {
        m = decodeMessage(d.data)
      } catch {
        continue
      }
      this.received.set(m.type, this.count(m.type) + 1)
      if (this.behaviour.drop) continue
      const from = endpointFrom(d.address, d.port)
      if (from === null) continue
      const reply = this.#handle(m, from, true, d.data.byteLength)
      if (reply !== null) {
        const out =
          reply.type === 'introductions' ? fitIntroductions(reply, Limits.MAX_DATAGRAM) : reply
        this.#udp.send(encodeMessage(out), d.port, d.address)
      }
    }
  }

  #serveTcp(s: Socket): void {
    this.#conns.add(s)
    const decoder = new FrameDecoder(Limits.MAX_REQUEST)
    s.on('data', chunk => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(chunk)
      } catch {
        s.destroy()
        return
      }
      for (const f of frames) {
        let m: Message
        try {
          m = decodeMessage(f)
        } catch {
          s.destroy()
          return
        }
        this.received.set(`tcp:${m.type}`, this.count(`tcp:${m.type}`) + 1)
        if (this.behaviour.drop) continue
        const from = endpointFrom(s.remoteAddress ?? '', s.remotePort ?? 0)
        if (from === null) continue
        const reply = this.#handle(m, from, false, f.byteLength)
        if (reply !== null) s.write(encodeFrame(encodeMessage(reply)))
      }
    })
    s.on('error', () => undefined)
    s.on('close', () => {
      this.#conns.delete(s)
    })
  }

  #cookieOk(cookie: Uint8Array): boolean {
    return !this.behaviour.rejectCookies && this.#cookies.has(toHex(cookie))
  }

  #newCookie(): Uint8Array {
    const c = new Uint8Array(randomBytes(Limits.COOKIE_BYTES))
    if (this.#cookies.size > 10_000) this.#cookies.clear()
    this.#cookies.add(toHex(c))
    return c
  }

  #handle(m: Message, from: Endpoint, udp: boolean, size: number): Message | null {
    if (m.type === 'cookie-request')
      return { type: 'cookie-reply', txid: m.txid, cookie: this.#newCookie() }
    if (m.type !== 'announce' && m.type !== 'query') return null
    if (udp && !this.#cookieOk(m.cookie)) {
      return size >= 17 ? { type: 'cookie-reply', txid: m.txid, cookie: this.#newCookie() } : null
    }
    const err = this.behaviour.error
    if (err !== null)
      return { type: 'error', txid: m.txid, code: err.code, retryAfter: err.retryAfter }
    if (m.type === 'announce') return this.#announce(m.txid, m.record, from)
    return this.#query(m)
  }

  #announce(txid: number, signed: SignedRecord, from: Endpoint): Message {
    if (!verifyRecord(signed))
      return { type: 'error', txid, code: WireErrorCode.BAD_SIGNATURE, retryAfter: 0 }
    const key = `${signed.record.network}|${toHex(signed.record.publicKey)}`
    const held = this.records.get(key)
    if (isWithdrawal(signed.record)) {
      // §8.3 in short: a higher seq than the held one removes it (the real tracker also checks
      // the time window and remembers the seq).
      if (held !== undefined && signed.record.seq <= held.signed.record.seq) {
        return { type: 'error', txid, code: WireErrorCode.STALE_SEQUENCE, retryAfter: 0 }
      }
      this.records.delete(key)
      this.withdrawals.push(signed)
      return { type: 'announce-reply', txid, status: 'withdrawn', interval: 0, observed: from }
    }
    let status: 'new' | 'refreshed' | 'replaced' = 'new'
    if (held !== undefined) {
      if (signed.record.seq < held.signed.record.seq) {
        return { type: 'error', txid, code: WireErrorCode.STALE_SEQUENCE, retryAfter: 0 }
      }
      const same = Buffer.from(signed.bytes).equals(Buffer.from(held.signed.bytes))
      if (!same && signed.record.seq === held.signed.record.seq) {
        return { type: 'error', txid, code: WireErrorCode.STALE_SEQUENCE, retryAfter: 0 }
      }
      status = same ? 'refreshed' : 'replaced'
    }
    this.records.set(key, { signed, observed: from, lastSeen: Date.now() })
    return {
      type: 'announce-reply',
      txid,
      status,
      interval: this.behaviour.interval,
      observed: from,
    }
  }

  #query(q: Query): Message {
    const now = Date.now()
    let matches = [...this.records.values()].filter(
      h => h.signed.record.network === q.network && h.signed.record.kind === q.kind,
    )
    if (q.kind === 'server') {
      matches = matches.filter(h => {
        const s = h.signed.record.server
        if (s === null) return false
        if (q.mode === 'list' && q.world !== '' && s.world !== q.world) return false
        if (q.version !== '' && s.version !== q.version) return false
        if (q.notFull && s.players >= s.maxPlayers) return false
        return q.tags.every(t => s.tags.includes(t))
      })
    }
    const room = (h: Held): number =>
      (h.signed.record.server?.maxPlayers ?? 0) - (h.signed.record.server?.players ?? 0)
    if (q.mode === 'list') {
      matches.sort((a, b) =>
        q.sort === 'players'
          ? (b.signed.record.server?.players ?? 0) - (a.signed.record.server?.players ?? 0)
          : q.sort === 'room'
            ? room(b) - room(a)
            : (a.signed.record.server?.name ?? '').localeCompare(
                b.signed.record.server?.name ?? '',
              ),
      )
    }
    if (q.mode === 'best') {
      const hosting = matches.filter(h => h.signed.record.server?.world === q.world && room(h) > 0)
      const pool = (hosting.length > 0 ? hosting : matches.filter(h => room(h) > 0)).sort(
        (a, b) => room(b) - room(a),
      )
      matches = pool.slice(0, 1)
    }
    const total = matches.length + this.injected.length
    const page = matches.slice(q.mode === 'list' ? q.offset : 0).slice(0, q.count)
    const entries: IntroEntry[] = page.map(h => ({
      observed: h.observed,
      verified: false,
      age: Math.min(0xffff, Math.floor((now - h.lastSeen) / 1000)),
      record: this.behaviour.tamper ? tamper(h.signed.bytes) : h.signed.bytes,
    }))
    entries.push(...this.injected.slice(0, Math.max(0, q.count - entries.length)))
    return { type: 'introductions', txid: q.txid, total: Math.min(total, 0xffff), entries }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const s of this.#conns) s.destroy()
    await new Promise<void>(resolve => {
      this.#tcp.close(() => {
        resolve()
      })
    })
    await this.#udp.close()
    await this.#loop
  }
}

/** A copy of record bytes with one bit of the seq changed: still decodes, no longer verifies. */
export function tamper(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice()
  const networkLen = out[0] ?? 0
  const seqLast = 1 + networkLen + 32 + 7
  out[seqLast] = (out[seqLast] ?? 0) ^ 1
  return out
}
