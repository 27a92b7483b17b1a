/*
 * metatracker node records in the browser: decode the signed bytes (docs/protocol.md §5, as
 * src/wire/record.ts does) and check the Ed25519 signature over u8(len(domain)) || domain ||
 * body (§7) under the strict rule. The rule's byte checks (small-order keys and R refused,
 * S < L, canonical encodings) are bootpage/verify.js's (MetatrackerBootpage.isStrictSignature),
 * loaded before this file; the curve check is WebCrypto's Ed25519 when the browser has it (a
 * known-answer test decides), tweetnacl's otherwise. Plain ES2017, no build step; exposes
 * MetatrackerRecord. web/browse.js uses it; test/observe/record-js.test.ts holds it to the
 * TypeScript codec and verifier in Node.
 */
;(function (root) {
  'use strict'
  var DOMAIN = 'metatracker/v1/node-record'
  // RFC 8032 §7.1 test 1: public key, empty message, signature.
  var KAT_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
  var KAT_SIG =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

  function unhex(h) {
    var out = new Uint8Array(h.length / 2)
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16)
    return out
  }
  function base64(text) {
    var bin = atob(text)
    var out = new Uint8Array(bin.length)
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
    return out
  }

  // docs/protocol.md §5, as src/wire/record.ts decodes it; throws on anything malformed.
  var CONTROL = /[\u0000-\u001f\u007f-\u009f]/
  function decodeRecord(b) {
    if (b.length > 700) throw new Error('record too large')
    var at = 0
    function need(n) {
      if (at + n > b.length) throw new Error('truncated record')
      at += n
      return at - n
    }
    function u8() {
      return b[need(1)]
    }
    function u16() {
      var s = need(2)
      return b[s] * 256 + b[s + 1]
    }
    function u32() {
      var s = need(4)
      return ((b[s] * 256 + b[s + 1]) * 256 + b[s + 2]) * 256 + b[s + 3]
    }
    function str(max, min) {
      var n = u8()
      if (n > max || n < min) throw new Error('bad string length')
      var s = need(n)
      var text = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(s, s + n))
      if (CONTROL.test(text)) throw new Error('control character in a string')
      return text
    }
    var network = str(32, 1)
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(network)) throw new Error('bad network')
    var key = b.subarray(need(32), at)
    var hi = u32()
    var lo = u32()
    if (hi > 0x1fffff) throw new Error('seq too large')
    var seq = hi * 4294967296 + lo
    var issuedAt = u32()
    var expiresAt = u32()
    if (expiresAt < issuedAt || expiresAt - issuedAt > 86400) throw new Error('bad lifetime')
    var kind = u8()
    if (kind > 1) throw new Error('bad kind')
    var n = u8()
    if (n > 8) throw new Error('too many endpoints')
    var endpoints = []
    for (var i = 0; i < n; i++) {
      var family = u8()
      if (family !== 4 && family !== 6) throw new Error('bad endpoint family')
      var raw = b.subarray(need(family === 4 ? 4 : 16), at)
      var port = u16()
      if (port === 0) throw new Error('endpoint port 0')
      endpoints.push({ family: family, address: formatIp(raw), port: port })
    }
    var server = null
    if (kind === 1) {
      server = {
        name: str(64, 1),
        players: u16(),
        maxPlayers: u16(),
        world: str(64, 0),
        version: str(32, 0),
        tags: [],
      }
      var tags = u8()
      if (tags > 8) throw new Error('too many tags')
      for (var t = 0; t < tags; t++) server.tags.push(str(24, 1))
    }
    var sigAt = need(64)
    if (at !== b.length) throw new Error('trailing bytes')
    return {
      network: network,
      key: key,
      seq: seq,
      issuedAt: issuedAt,
      expiresAt: expiresAt,
      kind: kind === 1 ? 'server' : 'peer',
      endpoints: endpoints,
      server: server,
      body: b.subarray(0, sigAt),
      signature: b.subarray(sigAt),
    }
  }
  function formatIp(raw) {
    if (raw.length === 4) return Array.prototype.join.call(raw, '.')
    var w = []
    for (var i = 0; i < 16; i += 2) w.push(raw[i] * 256 + raw[i + 1])
    var best = -1
    var len = 1
    for (var j = 0; j < 8;) {
      if (w[j] !== 0) {
        j++
        continue
      }
      var k = j
      while (k < 8 && w[k] === 0) k++
      if (k - j > len) {
        best = j
        len = k - j
      }
      j = k
    }
    var parts = w.map(function (x) {
      return x.toString(16)
    })
    if (best < 0) return parts.join(':')
    return parts.slice(0, best).join(':') + '::' + parts.slice(best + len).join(':')
  }
  function signingInput(body) {
    var d = new TextEncoder().encode(DOMAIN)
    var out = new Uint8Array(1 + d.length + body.length)
    out[0] = d.length
    out.set(d, 1)
    out.set(body, 1 + d.length)
    return out
  }

  // Which Ed25519 to use: WebCrypto when it passes a known-answer test, tweetnacl otherwise.
  var engine = null
  function pickEngine() {
    if (engine) return engine
    var subtle = root.crypto && root.crypto.subtle
    engine = Promise.resolve()
      .then(function () {
        if (!subtle) return false
        return subtle
          .importKey('raw', unhex(KAT_KEY), { name: 'Ed25519' }, false, ['verify'])
          .then(function (k) {
            return subtle.verify({ name: 'Ed25519' }, k, unhex(KAT_SIG), new Uint8Array(0))
          })
      })
      .catch(function () {
        return false
      })
      .then(function (ok) {
        return ok === true ? 'WebCrypto' : 'tweetnacl'
      })
    return engine
  }

  // One record: { ok, reason, record }. `network` is the network asked for.
  function checkRecord(entry, network) {
    var rec
    try {
      rec = decodeRecord(base64(entry.record))
    } catch (e) {
      return Promise.resolve({ ok: false, reason: 'malformed: ' + e.message })
    }
    if (rec.network !== network)
      return Promise.resolve({ ok: false, reason: 'another network', record: rec })
    if (rec.kind !== 'server')
      return Promise.resolve({ ok: false, reason: 'not a server', record: rec })
    if (!root.MetatrackerBootpage.isStrictSignature(rec.signature, rec.key))
      return Promise.resolve({ ok: false, reason: 'weak key or signature', record: rec })
    var input = signingInput(rec.body)
    return pickEngine()
      .then(function (name) {
        if (name === 'WebCrypto') {
          var subtle = root.crypto.subtle
          return subtle
            .importKey('raw', rec.key, { name: 'Ed25519' }, false, ['verify'])
            .then(function (k) {
              return subtle.verify({ name: 'Ed25519' }, k, rec.signature, input)
            })
        }
        return root.nacl.sign.detached.verify(input, rec.signature, rec.key)
      })
      .catch(function () {
        return false
      })
      .then(function (good) {
        if (!good) return { ok: false, reason: 'bad signature', record: rec }
        if (rec.expiresAt * 1000 <= Date.now()) return { ok: false, reason: 'expired', record: rec }
        return { ok: true, reason: '', record: rec }
      })
  }

  root.MetatrackerRecord = {
    decodeRecord: decodeRecord,
    signingInput: signingInput,
    checkRecord: checkRecord,
    engine: pickEngine,
  }
})(typeof self !== 'undefined' ? self : this)
