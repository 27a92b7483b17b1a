import type { Command } from 'commander'
import { generateKeyPair, keyPairFrom, toHex, writePrivateKeyFile } from '../../crypto/keys.js'
import type { CliIo } from '../io.js'
import { readKeyFile } from '../key-file.js'

interface KeygenFlags {
  out?: string
  showPublic?: string
  force?: boolean
  json?: boolean
}

export function registerKeygen(program: Command, io: CliIo): void {
  const command: Command = program
    .command('keygen')
    .description(
      'write a new Ed25519 private key (PEM PKCS#8, mode 0600) and print its public key, ' +
        'or print the public key of an existing key file (--show-public)',
    )
    .option('--out <file>', 'where to write the new private key')
    .option('--show-public <file>', 'print the public key of this private key file; write nothing')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print JSON')
  command.action(async (opts: KeygenFlags) => {
    const print = (key: string, file: string): void => {
      io.out(opts.json === true ? JSON.stringify({ key, file }) : key)
    }
    if (opts.showPublic !== undefined) {
      if (opts.out !== undefined) command.error('error: give --out or --show-public, not both')
      const pair = keyPairFrom(await readKeyFile(opts.showPublic, io))
      print(toHex(pair.publicKey), opts.showPublic)
      return
    }
    if (opts.out === undefined)
      command.error('error: --out <file> or --show-public <file> is needed')
    const pair = generateKeyPair()
    await writePrivateKeyFile(opts.out, pair.privateKey, { overwrite: opts.force === true })
    print(toHex(pair.publicKey), opts.out)
  })
}
