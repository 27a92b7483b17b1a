/** JSON-friendly forms of protocol values: byte arrays become "hex:..." strings. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `hex:${Buffer.from(value).toString('hex')}`
  if (Array.isArray(value)) return value.map(toPlain)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]))
  }
  return value
}

export function fromPlain(value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith('hex:')) {
    return new Uint8Array(Buffer.from(value.slice(4), 'hex'))
  }
  if (Array.isArray(value)) return value.map(fromPlain)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromPlain(v)]))
  }
  return value
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

export function unhex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'))
}
