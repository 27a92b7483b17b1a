// Bootpage costs, node:crypto and tweetnacl (the browser's path) side by side in one run, on
// the largest page the format allows (64 trackers, 16 operators, all signing).
// Usage: npm run bench:bootpage [-- --seconds 1]
// Prints a Markdown table for docs/benchmarks.md. Not a test: figures depend on the machine.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { createContext, runInContext } from 'node:vm'
import { canonicalize } from '../src/bootpage/canonical.js'
import { createDraft } from '../src/bootpage/draft.js'
import { loadPageAssets } from '../src/bootpage/build.js'
import { renderBootpageHtml } from '../src/bootpage/render.js'
import { formatBootpage, parseBootpage } from '../src/bootpage/schema.js'
import { bootpageSigningInput, signBootpage } from '../src/bootpage/sign.js'
import { verifyBootpage } from '../src/bootpage/verify.js'
import { naclVerify } from '../src/crypto/nacl.js'
import { generateKeyPair, toHex } from '../src/crypto/keys.js'

const secondsArg = process.argv.indexOf('--seconds')
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1

function rate(name: string, fn: () => void): { name: string; perSecond: number } {
  for (let i = 0; i < 5; i++) fn() // warm up
  let n = 0
  const start = performance.now()
  let now = start
  while (now < start + seconds * 1000) {
    fn()
    n++
    now = performance.now()
  }
  return { name, perSecond: n / ((now - start) / 1000) }
}

const keys = Array.from({ length: 16 }, () => generateKeyPair())
const now = Math.floor(Date.now() / 1000)
let doc = createDraft({
  network: 'bench',
  issuedAt: now,
  validUntil: now + 86_400,
  threshold: 9,
  operators: keys.map((k, i) => ({ name: `operator ${i}`, key: toHex(k.publicKey) })),
  trackers: Array.from({ length: 64 }, (_x, i) => ({
    name: `tracker-${i}`,
    operator: `Operator number ${i % 16}`,
    host: `tracker-${i}.example.org`,
    udp: 3520,
    tcp: 3520,
    http: 3521,
    key: toHex(keys[i % 16]?.publicKey ?? new Uint8Array(32)),
    location: 'Santa Clara, CA, United States',
    contact: `ops-${i}@example.org`,
    notes: 'a note of some length to make the page realistic',
  })),
})
for (const k of keys) doc = signBootpage(doc, k.privateKey, k.publicKey)
const text = formatBootpage(doc)
const parsed = parseBootpage(text)
const input = bootpageSigningInput(parsed.page)
const assets = await loadPageAssets()

const require = createRequire(import.meta.url)
const ctx: Record<string, unknown> = { TextEncoder, text: '' }
ctx.self = ctx
createContext(ctx)
// tweetnacl checks `instanceof Uint8Array`, so it runs in the script's own context, as in a page.
runInContext(readFileSync(require.resolve('tweetnacl/nacl-fast.min.js'), 'utf8'), ctx)
runInContext(readFileSync(new URL('../bootpage/verify.js', import.meta.url), 'utf8'), ctx)
const browser = ctx.MetatrackerBootpage as {
  verifyDocument(d: unknown, nacl: unknown, now: number): { ok: boolean }
}
const nacl = ctx.nacl
ctx.text = text
const docInCtx: unknown = runInContext('JSON.parse(text)', ctx)
if (!browser.verifyDocument(docInCtx, nacl, Date.now()).ok) throw new Error('verify.js refused')

const rows = [
  rate('JSON.parse of bootpage.json (baseline)', () => JSON.parse(text) as unknown),
  rate('parseBootpage (JSON.parse + zod shape)', () => parseBootpage(text)),
  rate('JSON.stringify of the page (baseline)', () => JSON.stringify(parsed.page)),
  rate('canonicalize(page)', () => canonicalize(parsed.page)),
  rate('verifyBootpage, 16 signatures, node:crypto', () =>
    verifyBootpage(parsed, { now: Date.now() }),
  ),
  rate('16 signatures, tweetnacl (node)', () => {
    for (const s of parsed.signatures)
      naclVerify(Buffer.from(s.key, 'hex'), input, Buffer.from(s.signature, 'hex'))
  }),
  rate('verify.js verifyDocument, 16 signatures (tweetnacl)', () =>
    browser.verifyDocument(docInCtx, nacl, Date.now()),
  ),
  rate('renderBootpageHtml (whole index.html)', () => renderBootpageHtml(parsed, assets)),
]
console.log(`node ${process.version}, ${seconds} s per row, bootpage.json of ${text.length} bytes`)
console.log('')
console.log('| operation | per second |')
console.log('|---|---:|')
const fmt = (n: number) => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'))
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.perSecond)} |`)
const by = (name: string) => rows.find(r => r.name.startsWith(name))?.perSecond ?? NaN
console.log('')
console.log(
  `verify: node:crypto / tweetnacl = ${(by('verifyBootpage') / by('16 signatures, tweetnacl')).toFixed(1)}x`,
)
console.log(
  `canonicalize / JSON.stringify = ${(by('canonicalize') / by('JSON.stringify')).toFixed(2)}x`,
)
console.log(`parseBootpage / JSON.parse = ${(by('parseBootpage') / by('JSON.parse')).toFixed(2)}x`)
