import { readFileSync } from 'node:fs'

/*
 * The package version, read from package.json: the one place it is written. This module sits one
 * level below the package root both as source (src/version.ts) and built (dist/version.js), and
 * package.json ships in every npm tarball, so the same relative path serves both.
 */
function readVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  const version =
    typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined
  if (typeof version !== 'string') throw new TypeError('package.json carries no version string')
  return version
}

/** The package version (package.json's `version`). */
export const VERSION: string = readVersion()
