import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ESC, renderFrame } from '../../src/client/watch-frame.js'

/* The pure frame renderer of `servers --watch`: diffing, highlighting, terminal vs pipe. */

const table = (rows: string[]): string[] => ['SERVER  PLAYERS', '------  -------', ...rows]

test('the first frame highlights nothing; later frames mark new and changed rows only', () => {
  const first = renderFrame({
    title: 't',
    table: table(['A  1/8', 'B  0/8']),
    rows: [
      { key: 'a', signature: 'A1' },
      { key: 'b', signature: 'B0' },
    ],
    previous: null,
    tty: false,
  })
  assert.deepEqual(first.changed, [])
  assert.equal(first.text, 't\n  SERVER  PLAYERS\n  ------  -------\n  A  1/8\n  B  0/8\n\n')
  const second = renderFrame({
    title: 't',
    table: table(['A  2/8', 'C  0/8']),
    rows: [
      { key: 'a', signature: 'A2' },
      { key: 'c', signature: 'C0' },
    ],
    previous: first.state,
    tty: false,
  })
  assert.deepEqual(second.changed, ['a', 'c'])
  assert.equal(second.gone, 1)
  assert.match(second.text, /^\* A {2}2\/8$/m)
  assert.match(second.text, /^\* C {2}0\/8$/m)
  assert.match(second.text, /1 server\(s\) left/)
  assert.ok(!second.text.includes('\u001b'), 'no escape sequence into a pipe')
  const same = renderFrame({
    title: 't',
    table: table(['A  2/8', 'C  0/8']),
    rows: [
      { key: 'a', signature: 'A2' },
      { key: 'c', signature: 'C0' },
    ],
    previous: second.state,
    tty: false,
  })
  assert.deepEqual(same.changed, [])
  assert.equal(same.gone, 0)
})

test('on a terminal: cursor home, erase each line, erase below; never a full clear', () => {
  const f = renderFrame({
    title: 't',
    table: table(['A  1/8']),
    rows: [{ key: 'a', signature: 'A1' }],
    previous: new Map([['a', 'A0']]),
    tty: true,
    height: 24,
  })
  assert.ok(f.text.startsWith(ESC.home))
  assert.ok(f.text.endsWith(ESC.eraseBelow))
  assert.ok(!f.text.includes('\u001b[2J'), 'no clear-screen (flicker)')
  const lines = f.text.slice(ESC.home.length).split('\n')
  for (const line of lines.slice(0, -1)) assert.ok(line.endsWith(ESC.eraseLine), line)
  assert.ok(f.text.includes(`${ESC.highlight}* A  1/8${ESC.reset}`))
})

test('on a short terminal the rows are cut to fit, with a count of the rest', () => {
  const rows = Array.from({ length: 30 }, (_, i) => `S${i}`)
  const f = renderFrame({
    title: 't',
    table: table(rows),
    rows: rows.map(r => ({ key: r, signature: r })),
    previous: null,
    tty: true,
    height: 10,
  })
  const lines = f.text.split('\n')
  assert.ok(lines.length <= 10, `${lines.length} lines`)
  assert.match(f.text, /… 25 more/)
})
