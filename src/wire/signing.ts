/**
 * Domain-separated signing input (docs/protocol.md §7, docs/bootpage.md §4): u8 length of the
 * domain, the domain (ASCII), then the body. Node records and bootpages are signed over this
 * framing, each with its own domain, so a signature over one can never pass for the other.
 */
export function signingInput(domain: string, body: Uint8Array): Uint8Array {
  const d = domainBytes(domain)
  const out = new Uint8Array(1 + d.byteLength + body.byteLength)
  out[0] = d.byteLength
  out.set(d, 1)
  out.set(body, 1 + d.byteLength)
  return out
}

/** Encoded domains (a handful of constants): signature checks stay allocation-light. */
const DOMAINS = new Map<string, Uint8Array>()

function domainBytes(domain: string): Uint8Array {
  let d = DOMAINS.get(domain)
  if (d === undefined) {
    d = new TextEncoder().encode(domain)
    if (d.byteLength > 0xff) throw new RangeError('a signing domain is at most 255 bytes')
    if (DOMAINS.size < 16) DOMAINS.set(domain, d)
  }
  return d
}
