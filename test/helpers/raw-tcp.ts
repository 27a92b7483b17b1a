import { connect } from 'node:net'

/**
 * Connect, send `data` (if any), and collect everything the server sends until it closes the
 * connection or `timeoutMs` passes (then the socket is destroyed and what arrived is returned).
 */
export function rawExchange(
  port: number,
  data: string | Uint8Array | null,
  timeoutMs = 5_000,
  host = '127.0.0.1',
): Promise<{ text: string; bytes: Buffer; closed: boolean; reset: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host, port })
    let reset = false
    const done = (closed: boolean) => {
      clearTimeout(timer)
      const bytes = Buffer.concat(chunks)
      resolve({ text: bytes.toString('utf8'), bytes, closed, reset })
    }
    const timer = setTimeout(() => {
      socket.destroy()
      done(false)
    }, timeoutMs)
    socket.on('connect', () => {
      if (data !== null) socket.write(data)
    })
    socket.on('data', c => chunks.push(c))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset is an answer too (a refused or cut connection): reported, then 'close' follows.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        reset = true
        return
      }
      clearTimeout(timer)
      reject(err)
    })
    socket.on('close', () => {
      done(true)
    })
  })
}
