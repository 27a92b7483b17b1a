import { type Socket, connect } from 'node:net'
import { FrameDecoder } from '../../src/wire/framing.js'

/**
 * A raw TCP connection to a tracker on loopback, optionally from another loopback address
 * (`localAddress` 127.0.0.2 etc.: the whole 127/8 is local on Linux), that records how it
 * ended: `closed`, and `reset` when the peer sent a RST (ECONNRESET/EPIPE). It never throws.
 */
export class TcpProbe {
  readonly frames: Uint8Array[] = []
  readonly #decoder = new FrameDecoder()
  connected = false
  closed = false
  reset = false
  error: string | null = null

  private constructor(readonly socket: Socket) {
    socket.on('connect', () => {
      this.connected = true
    })
    socket.on('data', chunk => {
      try {
        for (const f of this.#decoder.push(chunk)) this.frames.push(f)
      } catch {
        socket.destroy()
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.reset = true
      else this.error = err.code ?? err.message
    })
    socket.on('close', () => {
      this.closed = true
    })
  }

  /** Resolves once connected or closed (whichever comes first); never rejects. */
  static open(port: number, localAddress = '127.0.0.1', host = '127.0.0.1'): Promise<TcpProbe> {
    const p = new TcpProbe(connect({ host, port, localAddress }))
    return new Promise(resolve => {
      const done = (): void => {
        resolve(p)
      }
      p.socket.once('connect', done)
      p.socket.once('close', done)
    })
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes)
  }

  /** Resolves true once closed, false after `timeoutMs`. */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    return waitFor(() => this.closed, timeoutMs)
  }

  close(): void {
    this.socket.destroy()
  }
}

/** Poll `cond` every 10 ms; true as soon as it holds, false after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() >= deadline) return false
    await new Promise(r => setTimeout(r, 10))
  }
  return true
}
