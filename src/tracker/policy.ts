/**
 * The deny policy the handlers consult before storing or serving an entry. `src/tracker/deny-list.ts`
 * implements it from a file (keys, IPs, CIDRs); the default denies nothing.
 */
export interface DenyPolicy {
  /** A node key that must not be stored or handed out. */
  deniesKey(publicKey: Uint8Array): boolean
  /** A source address (canonical text) whose requests are ignored and whose entries are dropped. */
  deniesAddress(ip: string): boolean
}

export const allowAll: DenyPolicy = { deniesKey: () => false, deniesAddress: () => false }
