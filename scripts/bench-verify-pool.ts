// The verify pool's cost per record, measured in CPU time (so the machine's other load moves it
// little): the whole process's, and the main thread's alone (from /proc/self/task), for
// records verified in this thread and through VerifyPool with 1..N workers, fed closed-loop
// with 128 records in flight as scripts/bench-peers.ts's generator does. The main thread's share
// is what bounds how many workers a tracker can feed (docs/operations.md, "Verify workers").
// Usage: npx tsx scripts/bench-verify-pool.ts [records=8000] [maxWorkers=cores]
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { generateKeyPair } from '../src/crypto/keys.js'
import { signRecord, verifyRecord } from '../src/crypto/record-sign.js'
import { VerifyPool } from '../src/crypto/verify-pool.js'
import type { SignedRecord } from '../src/wire/record.js'

const count = Number(process.argv[2] ?? 8000)
const maxWorkers = Number(process.argv[3] ?? availableParallelism())
const now = Math.floor(Date.now() / 1000)
const records: SignedRecord[] = Array.from({ length: count }, () => {
  const k = generateKeyPair()
  return signRecord(
    {
      network: 'bench',
      publicKey: k.publicKey,
      seq: 1,
      issuedAt: now,
      expiresAt: now + 600,
      kind: 'peer',
      endpoints: [{ family: 4, address: '0.0.0.0', port: 4000 }],
      server: null,
    },
    k.privateKey,
  )
})

/** CPU seconds of this process (every thread). */
function processCpu(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
/** CPU seconds of the main thread alone (Linux; 10 ms resolution). */
function mainCpu(): number {
  const st = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1')
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const us = (s: number): string => ((s / count) * 1e6).toFixed(1)

const c0 = processCpu()
const w0 = performance.now()
let valid = 0
for (const r of records) if (verifyRecord(r)) valid++
const inlineWall = performance.now() - w0
console.log(
  `main thread only: ${valid}/${count} valid, ${us(processCpu() - c0)} µs CPU per record, ${((count / inlineWall) * 1000).toFixed(0)} records/s`,
)

for (let workers = 1; workers <= maxWorkers; workers++) {
  const pool = new VerifyPool({ workers })
  await pool.warm()
  // Bring every worker up before measuring (they start on demand).
  while (pool.stats.workers < workers) await pool.verifyBatch(records.slice(0, 2000))
  const p0 = processCpu()
  const m0 = mainCpu()
  const t0 = performance.now()
  let next = 0
  let ok = 0
  await new Promise<void>(done => {
    let inFlight = 0
    const feed = (): void => {
      while (inFlight < 128 && next < records.length) {
        const answer = pool.trySubmit(records[next++] as SignedRecord)
        if (answer === null) throw new Error('refused')
        inFlight++
        void answer.then(v => {
          if (v) ok++
          inFlight--
          if (next >= records.length && inFlight === 0) done()
          else feed()
        })
      }
    }
    feed()
  })
  const wall = performance.now() - t0
  console.log(
    `${workers} worker(s): ${ok}/${count} valid, ${us(processCpu() - p0)} µs CPU per record (main thread ${us(mainCpu() - m0)}), ${((count / wall) * 1000).toFixed(0)} records/s, ${pool.stats.batches} batches`,
  )
  await pool.close()
}
