import assert from 'node:assert/strict'
import { test } from 'node:test'
import { tryAddresses } from '../../src/client/eyeballs.js'
import { type ResolvedHost, interleave, resolveAll } from '../../src/client/resolve.js'
import { systemTimers } from '../../src/client/timing.js'

const v4 = (address: string): ResolvedHost => ({ address, family: 4 })
const v6 = (address: string): ResolvedHost => ({ address, family: 6 })

test('addresses are interleaved by family, starting with the first one given (RFC 8305 §4)', async () => {
  assert.deepEqual(
    interleave([v6('::a'), v6('::b'), v4('1.1.1.1'), v4('2.2.2.2'), v4('3.3.3.3')]).map(
      a => a.address,
    ),
    ['::a', '1.1.1.1', '::b', '2.2.2.2', '3.3.3.3'],
  )
  const all = await resolveAll(
    () => Promise.resolve([v4('1.1.1.1'), v4('1.1.1.1'), v6('::a')]),
    'x',
  )
  assert.deepEqual(
    all.map(a => a.address),
    ['1.1.1.1', '::a'],
  )
  await assert.rejects(
    resolveAll(() => Promise.resolve([]), 'x'),
    { code: 'CLIENT_UNREACHABLE' },
  )
})

test('every address is tried: failures fall through, a slow one is raced after the delay', async () => {
  const tried: string[] = []
  const signal = new AbortController().signal
  const got = await tryAddresses(
    [v6('::a'), v4('1.1.1.1'), v6('::b')],
    (h, s) => {
      tried.push(h.address)
      if (h.address === '::a') return Promise.reject(new Error('refused'))
      if (h.address === '1.1.1.1') {
        // Never answers; aborted once another address won.
        return new Promise((_, reject) => {
          s.addEventListener('abort', () => {
            reject(new Error('aborted'))
          })
        })
      }
      return Promise.resolve(h.address)
    },
    { signal, timers: systemTimers, delay: 20 },
  )
  assert.equal(got, '::b')
  assert.deepEqual(tried, ['::a', '1.1.1.1', '::b'])
  await assert.rejects(
    tryAddresses([v4('1.1.1.1'), v4('2.2.2.2')], h => Promise.reject(new Error(h.address)), {
      signal,
      timers: systemTimers,
    }),
    /1\.1\.1\.1/,
  )
})
