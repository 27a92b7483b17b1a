import { parseConfig } from '../src/tracker/config.js'
const cases: [unknown, object?][] = [
  [{ maxEntries: -5 }],
  [{ maxEntrys: 5 }],
  [{ maxBytes: '64 parsecs' }],
  [{ maxBytes: '64MiB', udp: 70000 }],
  [{ host: ['127.0.0.1', 'example.com'] }],
  [{ egress: { bytesPerSecond: '1MiB', tcpQueue: 5 } }],
  [{ listing: [{ port: 3522, kind: 'text' }, { port: 3522, kind: 'json' }] }],
  [{ listing: [{ port: 3525, kind: 'info' }] }],
  [{ log: { level: 'loud' } }],
  [{ flood: 'yes' }],
  [{}, { maxEntries: 'abc' }],
  [{}, { udp: 'off', tcp: 'off' }],
  [{ maxEntries: 10 }, { maxEntries: '-3' }],
  [{ networks: ['Bad Net'] }],
  [{ tcp: 3520, http: 3520 }],
  [[1,2]],
]
for (const [raw, flags] of cases) {
  try { const c = parseConfig(raw, { file: 'cfg/config.json' }, flags as never); console.log('OK', JSON.stringify(c).slice(0, 100)) }
  catch (e) { console.log((e as {code:string}).code, (e as Error).message) }
}
console.log(JSON.stringify(parseConfig({ data: 'd', denyList: 'deny.txt', maxBytes: '1GB', egress: { bytesPerSecond: '10MiB' } }, { file: 'cfg/config.json' }, { udp: '0', host: ['::1'] })))
