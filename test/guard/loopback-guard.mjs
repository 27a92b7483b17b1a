// Loaded into every test process (and, through NODE_OPTIONS, every Node child they start) by
// scripts/run-tests.mjs: the suite must never send a packet or open a connection outside
// loopback (127.0.0.0/8, ::1), documentation addresses included (README, "How we test"). Every
// UDP send and TCP connect is checked before it happens; one aimed elsewhere is refused (the
// call throws) and written to the file named by MT_LOOPBACK_LOG, which the runner reads at the
// end: any line there fails the run.
import { appendFileSync } from 'node:fs'
import dgram from 'node:dgram'
import net from 'node:net'

const LOG = process.env.MT_LOOPBACK_LOG

/** Loopback, the unspecified address (the local host) or the name localhost. */
export function isLocal(host) {
  if (host === undefined || host === null || host === '') return true
  const h = String(host)
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  return (
    h === 'localhost' ||
    h === '::1' ||
    h === '::' ||
    h === '0.0.0.0' ||
    /^127\.\d+\.\d+\.\d+$/.test(h) ||
    /^::ffff:127\.\d+\.\d+\.\d+$/.test(h) ||
    /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h)
  )
}

function refuse(kind, host, port) {
  const line = `${new Date().toISOString()} pid ${process.pid} ${kind} to ${host}:${port}\n${new Error().stack}\n`
  if (LOG !== undefined) appendFileSync(LOG, line)
  throw new Error(`loopback guard: ${kind} to ${host}:${port} refused (tests stay on loopback)`)
}

if (LOG !== undefined && !globalThis.__mtLoopbackGuard) {
  globalThis.__mtLoopbackGuard = true
  const send = dgram.Socket.prototype.send
  dgram.Socket.prototype.send = function (msg, ...args) {
    // send(msg[, offset, length][, port][, address][, callback])
    const rest = args.filter(a => typeof a !== 'function')
    let port
    let address
    if (rest.length >= 3 && typeof rest[0] === 'number' && typeof rest[1] === 'number') {
      port = rest[2]
      address = rest[3]
    } else {
      port = rest[0]
      address = rest[1]
    }
    if (port === undefined) {
      // A connected socket: its peer.
      let peer
      try {
        peer = this.remoteAddress()
      } catch {
        peer = undefined
      }
      if (peer !== undefined && !isLocal(peer.address)) refuse('udp', peer.address, peer.port)
    } else if (!isLocal(address)) {
      refuse('udp', address, port)
    }
    return send.call(this, msg, ...args)
  }
  const connectUdp = dgram.Socket.prototype.connect
  dgram.Socket.prototype.connect = function (port, address, ...rest) {
    if (typeof address === 'string' && !isLocal(address)) refuse('udp connect', address, port)
    return connectUdp.call(this, port, address, ...rest)
  }
  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function (...args) {
    const first = args[0]
    let host
    let port
    if (Array.isArray(first)) {
      // The internal normalised form: [options, callback].
      host = first[0]?.host
      port = first[0]?.port
    } else if (first !== null && typeof first === 'object') {
      host = first.path !== undefined ? 'localhost' : first.host
      port = first.port
    } else if (typeof first === 'string' && Number.isNaN(Number(first))) {
      host = 'localhost' // an IPC path
    } else {
      port = first
      host = typeof args[1] === 'string' ? args[1] : undefined
    }
    if (!isLocal(host)) refuse('tcp', host, port)
    return connect.apply(this, args)
  }
}
