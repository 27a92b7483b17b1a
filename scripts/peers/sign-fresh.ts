// Signs fresh announces for scripts/bench-peers.ts (forked, one per core): KEYS new Ed25519 keys,
// each signing records seq 1..SEQS; writes OUT-s<seq>.bin per seq, each a payload file for
// scripts/loadgen/loadgen.c ([u16 length][announce] per key, cookie left zero: the generator
// patches its own in). Prints {"done":true} when finished.
// Usage: node --import tsx scripts/peers/sign-fresh.ts --keys K --seqs S --out PREFIX --at SECONDS
import { generateKeyPairSync, sign } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { encodeRecordBody, recordSigningInput } from '../../src/wire/record.js'
import { FRESH_NETWORK, announcePacket, payloadFile } from './payloads.js'

const arg = (name: string): string => {
  const i = process.argv.indexOf(name)
  const v = i > 0 ? process.argv[i + 1] : undefined
  if (v === undefined) throw new Error(`missing ${name}`)
  return v
}
const keys = Number(arg('--keys'))
const seqs = Number(arg('--seqs'))
const out = arg('--out')
const at = Number(arg('--at'))

const pairs = Array.from({ length: keys }, () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return { raw: new Uint8Array(der.subarray(der.byteLength - 32)), privateKey }
})
for (let seq = 1; seq <= seqs; seq++) {
  const packets: Uint8Array[] = []
  for (const { raw, privateKey } of pairs) {
    const body = encodeRecordBody({
      network: FRESH_NETWORK,
      publicKey: raw,
      seq,
      issuedAt: at,
      expiresAt: at + 3600,
      kind: 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: null,
    })
    const signature = sign(null, recordSigningInput(body), privateKey)
    const record = new Uint8Array(body.byteLength + 64)
    record.set(body, 0)
    record.set(signature, body.byteLength)
    packets.push(announcePacket(record, seq))
  }
  await writeFile(`${out}-s${seq}.bin`, payloadFile(packets))
}
console.log(JSON.stringify({ done: true }))
