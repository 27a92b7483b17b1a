import type { Command } from 'commander'
import { generateKeyPair, toHex, writePrivateKeyFile } from '../../crypto/keys.js'
import type { CliIo } from '../io.js'

export function registerKeygen(program: Command, io: CliIo): void {
  program
    .command('keygen')
    .description('write a new Ed25519 private key (PEM PKCS#8, mode 0600) and print its public key')
    .requiredOption('--out <file>', 'where to write the private key')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print JSON', false)
    .action(async (opts: { out: string; force: boolean; json: boolean }) => {
      const pair = generateKeyPair()
      await writePrivateKeyFile(opts.out, pair.privateKey, { overwrite: opts.force })
      const key = toHex(pair.publicKey)
      io.out(opts.json ? JSON.stringify({ key, file: opts.out }) : key)
    })
}
