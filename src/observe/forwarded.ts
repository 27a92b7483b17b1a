import { endpointFrom } from '../wire/endpoint.js'

/*
 * The client address of an HTTP request behind reverse proxies (docs/operations.md, "Behind a
 * reverse proxy"). `X-Forwarded-For` is read only when the connection comes from a trusted proxy:
 * each proxy appends the address it received the request from, so the header is read from the
 * right, past every trusted proxy, and the first address that is not one is the client. What a
 * client wrote itself sits further left and is never reached. An entry that is not an IP address
 * stops the walk at the nearest trusted hop (that proxy is charged, never an unchecked string).
 */

/** An IP address in canonical text (IPv4-mapped IPv6 as IPv4), null when it is not one. */
export function canonicalIp(text: string): string | null {
  if (text === '' || text.includes('%')) return null
  return endpointFrom(text, 0)?.address ?? null
}

/**
 * The client address of a request from `peer` (the connection's address, canonical) carrying
 * the `X-Forwarded-For` header `header`: `peer` itself unless `trusted(peer)`.
 */
export function clientAddress(
  peer: string,
  header: string | readonly string[] | undefined,
  trusted: (address: string) => boolean,
): string {
  if (header === undefined || !trusted(peer)) return peer
  const hops = (typeof header === 'string' ? header : header.join(','))
    .split(',')
    .map(h => h.trim())
  let current = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonicalIp(hops[i] ?? '')
    if (hop === null) return current
    current = hop
    if (!trusted(hop)) return hop
  }
  return current
}
