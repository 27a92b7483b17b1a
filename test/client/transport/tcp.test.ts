import assert from 'node:assert/strict'
import { once } from 'node:events'
import { type Server, type Socket, createServer } from 'node:net'
import { test } from 'node:test'
import { TcpTransport } from '../../../src/client/transport/tcp.js'
import type { TrackerAddress } from '../../../src/client/trackers.js'
import { FrameDecoder, encodeFrame } from '../../../src/wire/framing.js'
import { type Message, decodeMessage, encodeMessage } from '../../../src/wire/messages.js'

/** A fake tracker: `onRequest` gets each decoded request and its socket. */
async function fake(onRequest: (m: Message, s: Socket) => void): Promise<Server> {
  const server = createServer(socket => {
    const dec = new FrameDecoder()
    socket.on('error', () => undefined)
    socket.on('data', chunk => {
      for (const f of dec.push(chunk)) onRequest(decodeMessage(f), socket)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

const at = (server: Server): TrackerAddress => {
  const a = server.address()
  return { host: '127.0.0.1', udp: null, tcp: typeof a === 'object' && a !== null ? a.port : 0 }
}

const stats = (txids: number[]): Message[] =>
  txids.map(txid => ({ type: 'stats-request', txid, cookie: new Uint8Array(12) }))

test('TCP transport: a reset is TRANSPORT_REFUSED, a close before every reply TRANSPORT_CLOSED', async t => {
  const tcp = new TcpTransport()
  t.after(() => tcp.close())
  const cases: [string, (m: Message, s: Socket) => void, string][] = [
    ['reset on the first request', (_m, s) => s.resetAndDestroy(), 'TRANSPORT_REFUSED'],
    ['close on the first request', (_m, s) => s.destroy(), 'TRANSPORT_CLOSED'],
    [
      'one reply of two, then close',
      (m, s) => {
        s.end(encodeFrame(encodeMessage({ type: 'stats-reply', txid: m.txid, stats: [] })))
      },
      'TRANSPORT_CLOSED',
    ],
  ]
  for (const [name, onRequest, code] of cases) {
    const server = await fake(onRequest)
    t.after(() => server.close())
    await assert.rejects(
      tcp.exchange(at(server), stats, 2, { timeout: 3000 }),
      (err: { code: string; message: string }) => {
        assert.equal(err.code, code, `${name}: ${err.message}`)
        return true
      },
    )
  }
  // Reset at accept, before any request is read (what a tracker at its cap does).
  const refusing = createServer(s => {
    s.on('error', () => undefined)
    s.resetAndDestroy()
  })
  refusing.listen(0, '127.0.0.1')
  await once(refusing, 'listening')
  t.after(() => refusing.close())
  await assert.rejects(tcp.exchange(at(refusing), stats, 1, { timeout: 3000 }), {
    code: 'TRANSPORT_REFUSED',
  })
  // Nothing listening stays CLIENT_UNREACHABLE.
  const gone = await fake(() => undefined)
  const addr = at(gone)
  await new Promise<void>(r =>
    gone.close(() => {
      r()
    }),
  )
  await assert.rejects(tcp.exchange(addr, stats, 1, { timeout: 3000 }), {
    code: 'CLIENT_UNREACHABLE',
  })
})
