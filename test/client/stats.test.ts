import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { type Server, type Socket, createServer } from 'node:net'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { requestStats } from '../../src/client/stats.js'
import { statsTable } from '../../src/cli/commands/stats.js'
import { FrameDecoder, encodeFrame } from '../../src/wire/framing.js'
import { type Message, decodeMessage, encodeMessage } from '../../src/wire/messages.js'

const run = promisify(execFile)
const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname
const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', MAIN, ...args], { timeout: 20_000 })

const STATS = [
  { name: 'announces', value: 1234 },
  { name: 'queries', value: 56 },
  { name: 'dropped_flood', value: 2 ** 40 },
]

/** A TCP server that answers each framed request with `reply(request)` (null: say nothing). */
async function fakeTracker(
  reply: (m: Message, socket: Socket) => Uint8Array | null,
): Promise<{ server: Server; port: number }> {
  const server = createServer(socket => {
    const frames = new FrameDecoder()
    socket.on('error', () => undefined)
    socket.on('data', chunk => {
      for (const f of frames.push(chunk)) {
        const out = reply(decodeMessage(f), socket)
        if (out !== null) socket.write(out)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const addr = server.address()
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : 0 }
}

const statsReply = (m: Message) =>
  encodeFrame(encodeMessage({ type: 'stats-reply', txid: m.txid, stats: STATS }))

test('requestStats sends a framed stats-request and returns the reply', async t => {
  let seen: Message | null = null
  const { server, port } = await fakeTracker(m => {
    seen = m
    return statsReply(m)
  })
  t.after(() => server.close())
  assert.deepEqual(await requestStats({ host: '127.0.0.1', port }), STATS)
  assert.equal((seen as Message | null)?.type, 'stats-request')
})

test('requestStats maps every failure to a STATS_* or TRANSPORT_* code', async t => {
  const cases: [string, (m: Message, s: Socket) => Uint8Array | null, string][] = [
    [
      'error reply',
      m => encodeFrame(encodeMessage({ type: 'error', txid: m.txid, code: 7, retryAfter: 9 })),
      'STATS_REFUSED',
    ],
    [
      'another txid',
      m => encodeFrame(encodeMessage({ type: 'stats-reply', txid: (m.txid + 1) >>> 0, stats: [] })),
      'STATS_BAD_REPLY',
    ],
    [
      'another message type',
      m =>
        encodeFrame(
          encodeMessage({ type: 'cookie-reply', txid: m.txid, cookie: new Uint8Array(12) }),
        ),
      'STATS_BAD_REPLY',
    ],
    ['a huge frame length', () => Uint8Array.of(0xff, 0xff, 0xff, 0xff), 'STATS_BAD_REPLY'],
    ['garbage in a frame', () => encodeFrame(Uint8Array.of(0xff, 1, 2)), 'STATS_BAD_REPLY'],
    [
      'hang up',
      (_m, s) => {
        s.destroy()
        return null
      },
      'TRANSPORT_CLOSED',
    ],
    [
      'reset',
      (_m, s) => {
        s.resetAndDestroy()
        return null
      },
      'TRANSPORT_REFUSED',
    ],
    ['silence', () => null, 'STATS_TIMEOUT'],
  ]
  for (const [name, reply, code] of cases) {
    const { server, port } = await fakeTracker(reply)
    t.after(() => server.close())
    await assert.rejects(
      requestStats({ host: '127.0.0.1', port }, { timeoutMs: 300 }),
      (err: { code: string; message: string }) => {
        assert.equal(err.code, code, name)
        return true
      },
    )
  }
  // Nothing listening: a port just released.
  const { server, port } = await fakeTracker(() => null)
  await new Promise<void>(r =>
    server.close(() => {
      r()
    }),
  )
  await assert.rejects(requestStats({ host: '127.0.0.1', port }), { code: 'STATS_CONNECT_FAILED' })
})

test('stats table is aligned', () => {
  assert.deepEqual(statsTable('t:1', STATS), [
    'tracker t:1',
    'counter                value',
    'announces               1234',
    'queries                   56',
    'dropped_flood  1099511627776',
  ])
})

test('metatracker stats prints JSON and a table; a bad address exits 2', async t => {
  const { server, port } = await fakeTracker(statsReply)
  t.after(() => server.close())
  const { stdout } = await cli('stats', '--tracker', `127.0.0.1:${port}`, '--json')
  assert.deepEqual(JSON.parse(stdout), {
    tracker: `127.0.0.1:${port}`,
    stats: { announces: 1234, queries: 56, dropped_flood: 2 ** 40 },
  })
  const human = await cli('stats', '--tracker', `127.0.0.1:${port}`)
  assert.match(human.stdout, /^tracker 127\.0\.0\.1:\d+\ncounter +value\nannounces +1234\n/)
  await assert.rejects(
    cli('stats', '--tracker', 'nope'),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2)
      assert.match(err.stderr, /--tracker <host:port>' argument 'nope' is invalid/)
      return true
    },
  )
})
