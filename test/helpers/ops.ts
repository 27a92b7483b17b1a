// Helpers for the operations tests (config, deny list, checkpoint, throttles).
import { signRecord } from '../../src/crypto/record-sign.js'
import type { Logger } from '../../src/log.js'
import type { NodeRecord, SignedRecord } from '../../src/wire/record.js'
import { testKey } from './keys.js'

/** A signed peer record of test key `n`, valid from `issuedAt` (Unix seconds) for `life` s. */
export function peerRecord(
  n: number,
  issuedAt: number,
  life = 600,
  fields: Partial<NodeRecord> = {},
): SignedRecord {
  const key = testKey(n)
  return signRecord(
    {
      network: 'test',
      publicKey: key.publicKey,
      seq: 1,
      issuedAt,
      expiresAt: issuedAt + life,
      kind: 'peer',
      endpoints: [],
      server: null,
      ...fields,
    },
    key.privateKey,
  )
}

export interface LogLine {
  level: string
  fields: Record<string, unknown>
  msg: string
}

/** A Logger that keeps every line for the test to inspect. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, msg: string): void => {
      lines.push({ level, fields, msg })
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}
