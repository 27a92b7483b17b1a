import { signRecord } from '../../src/crypto/record-sign.js'
import type { Endpoint } from '../../src/wire/endpoint.js'
import type { IntroEntry } from '../../src/wire/messages.js'
import type { ServerInfo, SignedRecord } from '../../src/wire/record.js'
import { testKey } from './keys.js'

export interface RecordSpec {
  network?: string
  seq?: number
  /** Unix seconds; default: now. */
  issuedAt?: number
  lifetime?: number
  endpoints?: Endpoint[]
  server?: Partial<ServerInfo> | null
}

/** A record signed by test key `n` (deterministic keys, see keys.ts). */
export function makeRecord(n: number, spec: RecordSpec = {}): SignedRecord {
  const key = testKey(n)
  const issuedAt = spec.issuedAt ?? Math.floor(Date.now() / 1000)
  const server =
    spec.server === undefined || spec.server === null
      ? null
      : {
          name: `server ${n}`,
          players: 0,
          maxPlayers: 16,
          world: '',
          version: '1.0',
          tags: [],
          ...spec.server,
        }
  return signRecord(
    {
      network: spec.network ?? 'testnet',
      publicKey: key.publicKey,
      seq: spec.seq ?? 1,
      issuedAt,
      expiresAt: issuedAt + (spec.lifetime ?? 600),
      kind: server === null ? 'peer' : 'server',
      endpoints: spec.endpoints ?? [{ family: 4, address: '192.0.2.1', port: 4000 + n }],
      server,
    },
    key.privateKey,
  )
}

export function entryOf(signed: SignedRecord, age = 0): IntroEntry {
  return {
    observed: { family: 4, address: '198.51.100.7', port: 40000 },
    verified: false,
    age,
    record: signed.bytes,
  }
}

/** Resolve once `check` is true, polling; reject after `ms` (tests must never hang). */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 10))
  }
}
