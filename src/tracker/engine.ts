import type { Clock } from '../clock.js'
import { ChallengeTokens } from '../crypto/challenge-token.js'
import { ClientTable } from '../table/client-table.js'
import { CookieBudget } from '../throttle/flood.js'
import { challengeScope } from './challenge-scope.js'
import type { DaemonOptions } from './options.js'
import type { DenyPolicy } from './policy.js'
import { Prover } from './prover.js'
import type { Stats } from './stats.js'

/** The client table a tracker with these options keeps (one place: daemon and test harnesses). */
export function createTable(o: DaemonOptions, clock: Clock): ClientTable {
  return new ClientTable({
    maxEntries: o.maxEntries,
    maxBytes: o.maxBytes,
    maxTtl: o.maxTtl,
    serverTtl: o.serverGrace * o.announceInterval,
    perBlockMax: o.perBlock,
    perWideBlockMax: o.perWideBlock,
    protectAfter: o.protectAfter,
    refreshGap: Math.max(1, Math.floor(o.announceInterval / 2)),
    protectedShare: o.protectedPercent / 100,
    replayMemory: o.replayMemory,
    proofTimeout: o.challenge.timeout,
    listUnproven: o.listUnproven,
    clock,
  })
}

/** The proof-of-address engine of a tracker with these options (docs/protocol.md §9). */
export function createProver(
  o: DaemonOptions,
  deps: { table: ClientTable; deny: DenyPolicy; clock: Clock; stats: Stats; random?: () => number },
): Prover {
  const c = o.challenge
  const { clock } = deps
  return new Prover(
    {
      ...deps,
      tokens: new ChallengeTokens(),
      budget: new CookieBudget({ rate: c.rate, blockRate: c.blockRate }, { clock }),
      // Replies worth an HMAC: twice the challenges that can be out, and per source block
      // twice what one block can be sent, so one sender cannot spend what others need.
      replies: new CookieBudget(
        { rate: Math.max(1, 2 * c.rate), blockRate: Math.max(1, 2 * c.blockRate) },
        { clock },
      ),
      scope: challengeScope(o.host, c.allow),
    },
    { timeout: c.timeout, interval: c.interval, recheck: o.recheck },
  )
}
