// The node's side of proof of address (docs/protocol.md §9.3): answer only well-formed
// challenges for its own key and network, exactly as large, rate limited, with the trackers'
// own challenges in a bucket that forged ones cannot empty.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock } from '../../src/clock.js'
import { ChallengeAnswerer, answerChallenge } from '../../src/client/challenge-answer.js'
import { encodeMessage } from '../../src/wire/messages.js'
import { testKey } from '../helpers/keys.js'

const me = testKey(1).publicKey
const challenge = (publicKey = me, network = 'gamenet'): Uint8Array =>
  encodeMessage({
    type: 'challenge',
    txid: 9,
    token: new Uint8Array(16).fill(3),
    publicKey,
    network,
  })

test('answers its own key and network with the same bytes, type 0x8; nothing else', () => {
  const c = challenge()
  const r = answerChallenge(c, { publicKey: me, networks: ['gamenet'] })
  assert.ok(r !== null)
  assert.equal(r.byteLength, c.byteLength)
  assert.equal(r[0], 0x18)
  assert.deepEqual(r.subarray(1), c.subarray(1))
  assert.equal(
    answerChallenge(challenge(testKey(2).publicKey), { publicKey: me, networks: ['gamenet'] }),
    null,
  )
  assert.equal(
    answerChallenge(challenge(me, 'other'), { publicKey: me, networks: ['gamenet'] }),
    null,
  )
  assert.equal(
    answerChallenge(c.subarray(0, c.byteLength - 1), { publicKey: me, networks: ['gamenet'] }),
    null,
  )
  assert.equal(
    answerChallenge(Uint8Array.of(0x17, 0, 0, 0, 1), { publicKey: me, networks: ['gamenet'] }),
    null,
  )
})

test('a flood of forged challenges from elsewhere does not silence the answers to the trackers', () => {
  const clock = new ManualClock(1_800_000_000_000)
  const a = new ChallengeAnswerer(
    { publicKey: me, networks: ['gamenet'] },
    { clock, rate: 20, trusted: ip => ip === '127.0.0.10' },
  )
  const sent: string[] = []
  const send = (_r: Uint8Array, _port: number, address: string): void => {
    sent.push(address)
  }
  for (let i = 0; i < 500; i++) a.handle(challenge(), { address: '127.0.0.66', port: 1 }, send)
  assert.equal(sent.length, 20, 'other sources: 20 per second')
  for (let i = 0; i < 5; i++) a.handle(challenge(), { address: '127.0.0.10', port: 3520 }, send)
  assert.equal(sent.filter(s => s === '127.0.0.10').length, 5, 'the tracker is still answered')
  assert.equal(a.handle(Uint8Array.of(1, 2, 3), { address: '127.0.0.66', port: 1 }, send), false)
})
