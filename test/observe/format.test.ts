import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  formatBytes,
  formatDuration,
  formatInt,
  formatPercent,
  formatRate,
  plainText,
} from '../../src/observe/format.js'

test('formatters', () => {
  assert.equal(formatInt(1234567), '1,234,567')
  assert.equal(formatRate(0.5), '0.50')
  assert.equal(formatRate(Number.NaN), '0.00')
  assert.equal(formatBytes(512), '512 B')
  assert.equal(formatBytes(64 * 1024 * 1024), '64.0 MiB')
  assert.equal(formatBytes(1536), '1.5 KiB')
  assert.equal(formatDuration(0), '0s')
  assert.equal(formatDuration(65), '1m 5s')
  assert.equal(formatDuration(86_400 + 3_600 * 2 + 5), '1d 2h 0m 5s')
  assert.equal(formatPercent(1, 4), '25.0%')
  assert.equal(formatPercent(1, 0), '0.0%')
})

test('plainText replaces bidi overrides and zero-width marks, keeps everything else', () => {
  assert.equal(plainText('abc\u202edef'), 'abc\ufffddef')
  assert.equal(plainText('a\u200bb\u2066c'), 'a\ufffdb\ufffdc')
  assert.equal(plainText('Ünïcödé <&> "ok"'), 'Ünïcödé <&> "ok"')
})
