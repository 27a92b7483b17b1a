import { once } from 'node:events'
import type { Server } from 'node:net'
import { TrackerError } from '../errors.js'

/*
 * How every listener of a tracker binds (UDP, TCP, HTTP, listing ports): one rule for the IPv6
 * wildcard, one error for a failed bind. docs/operations.md ("Addresses and IPv6") states it.
 *
 * An IPv6 socket may be dual-stack (it also takes IPv4, as ::ffff:a.b.c.d) or IPv6-only. A
 * dual-stack `::` also claims the port on every IPv4 address, so it collides with an IPv4
 * listener on the same port. The rule: when the host list holds an IPv4 address, every IPv6
 * listener is IPv6-only (each family is served by its own listener); when it holds only IPv6
 * addresses, they are dual-stack, so `::` alone serves both families.
 */

/** Whether the listener for `host`, one of `hosts` bound on the same port, is IPv6-only. */
export function ipv6OnlyFor(host: string, hosts: readonly string[]): boolean {
  if (!isIPv6(host)) return false
  return hosts.some(h => !isIPv6(h))
}

function isIPv6(host: string): boolean {
  return host.includes(':')
}

/** `[::1]:3520` or `127.0.0.1:3520`. */
export function hostPort(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`
}

/** TRACKER_BIND_FAILED naming the listener and where; the cause's code (EADDRINUSE) is kept. */
export function bindFailed(what: string, host: string, port: number, cause: unknown): TrackerError {
  return new TrackerError(
    'TRACKER_BIND_FAILED',
    `cannot bind ${what} ${hostPort(host, port)}: ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    { cause },
  )
}

/** Whether a bind failed because the port is taken (worth another try with another port). */
export function addressInUse(err: unknown): boolean {
  const cause = err instanceof TrackerError ? err.cause : err
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
}

/** Run `bind`; a failure becomes TRACKER_BIND_FAILED naming what and where. */
export async function bindOrFail<T>(
  what: string,
  host: string,
  port: number,
  bind: () => Promise<T>,
): Promise<T> {
  try {
    return await bind()
  } catch (cause) {
    throw bindFailed(what, host, port, cause)
  }
}

/**
 * `server.listen` on `host` (one of `hosts`, all on the same port) with the IPv6 rule above;
 * resolves once listening, throws TRACKER_BIND_FAILED otherwise. Returns the bound port.
 */
export async function listenOn(
  server: Server,
  what: string,
  host: string,
  port: number,
  hosts: readonly string[],
): Promise<number> {
  const listening = once(server, 'listening')
  server.listen({ host, port, exclusive: true, ipv6Only: ipv6OnlyFor(host, hosts) })
  try {
    await listening
  } catch (cause) {
    throw bindFailed(what, host, port, cause)
  }
  const addr = server.address()
  return addr !== null && typeof addr === 'object' ? addr.port : port
}
