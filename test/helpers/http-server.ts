import { createServer, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** An HTTP server on 127.0.0.1, port 0; `close` also drops open connections. */
export async function startHttpServer(
  handler: RequestListener,
): Promise<{ server: Server; origin: string; close: () => Promise<void> }> {
  const server = createServer(handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    server.closeAllConnections()
    await new Promise<void>(resolve => {
      server.close(() => {
        resolve()
      })
    })
  }
  return { server, origin: `http://127.0.0.1:${port}`, close }
}
