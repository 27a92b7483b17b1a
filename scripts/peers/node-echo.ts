// node:dgram echo server for scripts/bench-peers.ts (the runtime's UDP ceiling): binds
// 127.0.0.1 port 0, prints {"port":N} on stdout, echoes every datagram until stdin closes.
import { createSocket } from 'node:dgram'

const sock = createSocket('udp4')
sock.on('message', (msg, rinfo) => {
  sock.send(msg, rinfo.port, rinfo.address)
})
sock.bind(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: sock.address().port }))
})
process.stdin.on('end', () => {
  sock.close()
})
process.stdin.resume()
