// One core's node:crypto verify rate for scripts/bench-peers.ts, in its own process like the
// servers (so the machine's scheduler treats it alike). Forked with IPC:
//   argv: --file FRESH.bin --keys N   (verify items: the first N announces of the file)
//   message {seconds, from, cached}   -> replies {rate, cpu}; message {exit: true} ends it.
import { sigItems, verifyLoop } from './measure.js'

const arg = (name: string): string => {
  const i = process.argv.indexOf(name)
  const v = i > 0 ? process.argv[i + 1] : undefined
  if (v === undefined) throw new Error(`missing ${name}`)
  return v
}
const items = await sigItems(arg('--file'), Number(arg('--keys')))
const cached = items.slice(0, 1000)
verifyLoop(cached, 0.2, 0) // import the cached set once
process.on(
  'message',
  (m: { seconds?: number; from?: number; cached?: boolean; exit?: boolean }) => {
    if (m.exit === true) {
      process.disconnect()
      return
    }
    const r = verifyLoop(m.cached === true ? cached : items, m.seconds ?? 1, m.from ?? 0)
    process.send?.(r)
  },
)
process.send?.({ ready: true })
