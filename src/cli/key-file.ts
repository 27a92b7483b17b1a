import type { KeyObject } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { readPrivateKeyFile } from '../crypto/keys.js'
import type { CliIo } from './io.js'

/**
 * The warning for a private key file whose mode lets other users read it (group or others have
 * the read bit), or null. `keygen` writes keys with mode 0600; a copy made with the default umask
 * is often 0644. Mode bits mean nothing on Windows: no warning there.
 */
export function exposedKeyWarning(
  path: string,
  mode: number,
  platform = process.platform,
): string | null {
  if (platform === 'win32' || (mode & 0o044) === 0) return null
  const octal = (mode & 0o777).toString(8).padStart(4, '0')
  return (
    `warning: key file ${path} is readable by other users (mode ${octal}); ` +
    `keep it private: chmod 600 ${path}`
  )
}

/** Read a private key file (readPrivateKeyFile), warning on stderr when others may read it. */
export async function readKeyFile(path: string, io: CliIo): Promise<KeyObject> {
  const key = await readPrivateKeyFile(path)
  const mode = (await stat(path)).mode
  const warning = exposedKeyWarning(path, mode)
  if (warning !== null) io.err(warning)
  return key
}
