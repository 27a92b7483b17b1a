// Load generator for scripts/bench-tracker.ts: a separate process using node:dgram that keeps
// `--window` requests in flight. It prepares its payloads once (cookie, pre-signed records with
// distinct keys), sends { ready } over IPC, then obeys IPC messages { start: MODE } (echo |
// refresh | fresh | sample), { stop } (answered { stopped, sent, freshLeft }) and { exit }.
// The parent counts what is served.
// Usage: forked by bench-tracker.ts with --echo PORT --tracker PORT [--window 128] [--fresh N]
import { createSocket } from 'node:dgram'
import { generateKeyPairSync } from 'node:crypto'
import { rawPublicKey } from '../src/crypto/ed25519.js'
import { signRecord } from '../src/crypto/record-sign.js'
import { decodeMessage, encodeMessage } from '../src/wire/messages.js'

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name)
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const host = '127.0.0.1'
const echoPort = Number(arg('--echo', '0'))
const trackerPort = Number(arg('--tracker', '0'))
const window = Number(arg('--window', '128'))
const freshCount = Number(arg('--fresh', '40000'))
const refreshCount = 256

const sock = createSocket('udp4')
await new Promise<void>(resolve => sock.bind(0, host, resolve))

function ask(data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', on)
      reject(new Error('no reply'))
    }, 3000)
    const on = (msg: Buffer): void => {
      clearTimeout(timer)
      sock.off('message', on)
      resolve(msg)
    }
    sock.on('message', on)
    sock.send(data, trackerPort, host)
  })
}

const now = Math.floor(Date.now() / 1000)
function record(): Uint8Array {
  const { privateKey } = generateKeyPairSync('ed25519')
  return signRecord(
    {
      network: 'bench.example',
      publicKey: rawPublicKey(privateKey),
      seq: 1,
      issuedAt: now,
      expiresAt: now + 3600,
      kind: 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: null,
    },
    privateKey,
  ).bytes
}

const hello = decodeMessage(await ask(encodeMessage({ type: 'cookie-request', txid: 1 })))
if (hello.type !== 'cookie-reply') throw new Error('expected a cookie')
const cookie = hello.cookie
const announce = (rec: Uint8Array, txid: number): Uint8Array => {
  const out = new Uint8Array(17 + rec.byteLength)
  out[0] = 0x12
  new DataView(out.buffer).setUint32(1, txid)
  out.set(cookie, 5)
  out.set(rec, 17)
  return out
}
const refresh: Uint8Array[] = []
for (let i = 0; i < refreshCount; i++) refresh.push(announce(record(), i))
for (const p of refresh) await ask(p) // stored now: every later send is a refresh
const fresh: Uint8Array[] = []
for (let i = 0; i < freshCount; i++) fresh.push(announce(record(), i))
const sample = [
  encodeMessage({
    type: 'query',
    txid: 1,
    cookie,
    network: 'bench.example',
    kind: 'peer',
    mode: 'sample',
    count: 8,
    offset: 0,
    sort: 'players',
    notFull: false,
    world: '',
    version: '',
    tags: [],
    exclude: null,
  }),
]

let payloads: Uint8Array[] = []
let port = 0
let cyclic = true
let next = 0
let freshNext = 0
let running = false
let sent = 0
let received = 0
const send = (): void => {
  if (!running) return
  if (next >= payloads.length) {
    if (!cyclic) return
    next = 0
  }
  sock.send(payloads[next++] as Uint8Array, port, host)
  sent++
}
sock.on('message', () => {
  received++
  send()
})
let last = -1
setInterval(() => {
  if (running && received === last) for (let i = 0; i < window; i++) send()
  last = received
}, 20).unref()

const send2 = (m: object): void => {
  process.send?.(m)
}
send2({ ready: fresh.length })
process.on('message', (m: { start?: string; stop?: boolean; exit?: boolean }) => {
  if (m.start !== undefined) {
    const mode = m.start
    sent = 0
    port = mode === 'echo' ? echoPort : trackerPort
    cyclic = mode !== 'fresh'
    payloads = mode === 'sample' ? sample : mode === 'fresh' ? fresh : refresh
    next = mode === 'fresh' ? freshNext : 0
    running = true
    for (let i = 0; i < window; i++) send()
  } else if (m.stop === true) {
    running = false
    if (!cyclic) freshNext = next
    setTimeout(() => {
      send2({ stopped: true, sent, freshLeft: fresh.length - freshNext })
    }, 100)
  } else if (m.exit === true) {
    sock.close()
    process.disconnect()
  }
})
