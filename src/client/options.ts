import { TrackerError } from '../errors.js'

/*
 * Validation of the client's options (Announcer, Querier): a bad value is CLIENT_BAD_OPTION,
 * naming the option.
 */

export function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) {
    throw new TrackerError('CLIENT_BAD_OPTION', `${name} must be a positive number, got ${n}`)
  }
  return n
}

export function nonNegative(n: number, name: string): number {
  if (!Number.isFinite(n) || n < 0) {
    throw new TrackerError('CLIENT_BAD_OPTION', `${name} must be 0 or more, got ${n}`)
  }
  return n
}

export function ratio(n: number, name: string): number {
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new TrackerError('CLIENT_BAD_OPTION', `${name} must be between 0 and 1, got ${n}`)
  }
  return n
}

export function integer(n: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TrackerError(
      'CLIENT_BAD_OPTION',
      `${name} must be an integer ${min}-${max}, got ${n}`,
    )
  }
  return n
}
