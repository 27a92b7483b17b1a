import { InvalidArgumentError } from 'commander'
import { isValidNetwork } from '../wire/record.js'

/** commander argument parsers: bad values become usage errors (exit 2) naming the option. */
export function intIn(min: number, max: number): (value: string) => number {
  return value => {
    if (!/^[0-9]+$/.test(value.trim())) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`)
    }
    const n = Number(value.trim())
    if (n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`)
    return n
  }
}

export function networkName(value: string): string {
  if (!isValidNetwork(value)) {
    throw new InvalidArgumentError(
      'expected 1-32 characters of [a-z0-9._-], starting with a letter or digit',
    )
  }
  return value
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}
