/*
 * metatracker bootpage: in-browser verifier (docs/bootpage.md, bootpage/README.md).
 *
 * Plain ES2017 with no build step: `metatracker bootpage build` inlines this file, after
 * tweetnacl's nacl-fast.min.js, into index.html. ESLint skips bootpage/**\/*.js (see
 * eslint.config.js): the project's rules are type-aware TypeScript rules that do not apply to
 * a browser script. It is tested instead: test/bootpage/{canonical,verify,render,weak-keys}
 * .test.ts load it in Node (test/helpers/verify-js.ts) and hold its canonicalisation,
 * verification and row builders to the TypeScript versions, and test/bootpage/browser.test.ts
 * runs the built page in headless Chromium.
 *
 * What it does: fetch bootpage.json next to the page (the only request), check its shape,
 * verify every Ed25519 signature over u8(len(domain)) || domain || JCS(page), count the
 * operators who signed against the threshold, check expiry, compare the page's static text
 * with a rendering of the verified data, then show the verified rendering and a status line.
 * A page that declares freshness stamps (docs/bootpage.md §9) also needs bootpage.stamp.json
 * beside it, signed by its online stamp keys and unexpired; the status line says fresh, stale,
 * missing or invalid.
 * Values are only ever inserted with textContent, never as HTML.
 */
;(function (root) {
  'use strict'

  var DOMAIN = 'metatracker/v1/bootpage'
  var STAMP_DOMAIN = 'metatracker/v1/bootpage-stamp'
  var MAX_BYTES = 262144
  var STAMP_MAX_BYTES = 16384
  var HEX64 = /^[0-9a-f]{64}$/
  var HEX128 = /^[0-9a-f]{128}$/

  // RFC 8785 (JCS) restricted to strings, safe integers, arrays and objects; mirrors
  // src/bootpage/canonical.ts. Throws on anything else.
  function canonicalize(value, depth) {
    depth = depth || 0
    if (depth > 16) throw new Error('nested too deeply')
    if (typeof value === 'string') {
      if (/[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(value))
        throw new Error('lone surrogate')
      return JSON.stringify(value)
    }
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new Error('not a safe integer')
      return String(value)
    }
    if (Array.isArray(value)) {
      var items = []
      for (var i = 0; i < value.length; i++) items.push(canonicalize(value[i], depth + 1))
      return '[' + items.join(',') + ']'
    }
    if (value !== null && typeof value === 'object') {
      if (Object.prototype.toString.call(value) !== '[object Object]')
        throw new Error('not a plain object')
      var keys = Object.keys(value).sort()
      var members = []
      for (var j = 0; j < keys.length; j++) {
        members.push(
          canonicalize(keys[j], depth + 1) + ':' + canonicalize(value[keys[j]], depth + 1),
        )
      }
      return '{' + members.join(',') + '}'
    }
    throw new Error((value === null ? 'null' : typeof value) + ' is not allowed')
  }

  function signingInput(page, domainText) {
    var enc = new TextEncoder()
    var domain = enc.encode(domainText || DOMAIN)
    var body = enc.encode(canonicalize(page))
    var out = new Uint8Array(1 + domain.length + body.length)
    out[0] = domain.length
    out.set(domain, 1)
    out.set(body, 1 + domain.length)
    return out
  }

  // SHA-256 (FIPS 180-4), for the page digest a freshness stamp names (docs/bootpage.md §9).
  // Hand-written because tweetnacl has only SHA-512 and crypto.subtle exists only in secure
  // contexts (not on a page served over plain http); a test holds it to node:crypto.
  var K256 = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]
  function sha256Hex(bytes) {
    var n = bytes.length
    var total = Math.ceil((n + 9) / 64) * 64
    var m = new Uint8Array(total)
    m.set(bytes)
    m[n] = 0x80
    var bits = n * 8
    for (var b = 0; b < 8; b++) m[total - 1 - b] = Math.floor(bits / Math.pow(2, 8 * b)) & 0xff
    var h = [
      0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
      0x5be0cd19,
    ]
    var w = new Array(64)
    var rotr = function (x, r) {
      return (x >>> r) | (x << (32 - r))
    }
    for (var off = 0; off < total; off += 64) {
      for (var i = 0; i < 16; i++)
        w[i] =
          ((m[off + 4 * i] << 24) |
            (m[off + 4 * i + 1] << 16) |
            (m[off + 4 * i + 2] << 8) |
            m[off + 4 * i + 3]) >>>
          0
      for (i = 16; i < 64; i++) {
        var s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3)
        var s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10)
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0
      }
      var a = h[0],
        c = h[2],
        d = h[3],
        e = h[4],
        f = h[5],
        g = h[6],
        k = h[7],
        bb = h[1]
      for (i = 0; i < 64; i++) {
        var t1 =
          (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i]) >>>
          0
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) >>> 0
        k = g
        g = f
        f = e
        e = (d + t1) >>> 0
        d = c
        c = bb
        bb = a
        a = (t1 + t2) >>> 0
      }
      h[0] = (h[0] + a) >>> 0
      h[1] = (h[1] + bb) >>> 0
      h[2] = (h[2] + c) >>> 0
      h[3] = (h[3] + d) >>> 0
      h[4] = (h[4] + e) >>> 0
      h[5] = (h[5] + f) >>> 0
      h[6] = (h[6] + g) >>> 0
      h[7] = (h[7] + k) >>> 0
    }
    return h
      .map(function (x) {
        return ('00000000' + x.toString(16)).slice(-8)
      })
      .join('')
  }

  function hexToBytes(hex) {
    var out = new Uint8Array(hex.length / 2)
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16)
    return out
  }

  // The strict Ed25519 rule (docs/bootpage.md §4, docs/protocol.md §7), the same byte checks
  // as src/crypto/strict.ts: tweetnacl alone accepts a key or R of small order (with the
  // identity as key, R = identity and S = 0 "sign" any page) and S >= L.
  // The y coordinates (top bit clear) of the points of order 1, 2, 4 and 8, with y = p and
  // y = p + 1; the sign bit is ignored, so these 7 rows cover all 14 encodings.
  var SMALL_ORDER_Y = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  ].map(hexToBytes)
  // The group order L, little-endian.
  var ORDER_L = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

  function isSmallOrder(b, at) {
    for (var r = 0; r < SMALL_ORDER_Y.length; r++) {
      var y = SMALL_ORDER_Y[r]
      var same = (b[at + 31] & 0x7f) === y[31]
      for (var i = 0; same && i < 31; i++) same = b[at + i] === y[i]
      if (same) return true
    }
    return false
  }
  // y < p = 2^255 - 19
  function isCanonical(b, at) {
    if ((b[at + 31] & 0x7f) !== 0x7f) return true
    for (var i = 30; i > 0; i--) if (b[at + i] !== 0xff) return true
    return b[at] < 0xed
  }
  // S < L
  function isReduced(b, at) {
    for (var i = 31; i >= 0; i--) if (b[at + i] !== ORDER_L[i]) return b[at + i] < ORDER_L[i]
    return false
  }
  // A key the page may name: 32 bytes, canonical, not of small order.
  function isStrictKey(key) {
    return key.length === 32 && !isSmallOrder(key, 0) && isCanonical(key, 0)
  }
  function isStrictKeyHex(hex) {
    return HEX64.test(hex) && isStrictKey(hexToBytes(hex))
  }
  // One signature under the strict rule: the byte checks, then tweetnacl.
  function verifySignature(nacl, input, signatureHex, keyHex) {
    var key = hexToBytes(keyHex)
    var sig = hexToBytes(signatureHex)
    if (!isStrictKey(key) || sig.length !== 64) return false
    if (isSmallOrder(sig, 0) || !isCanonical(sig, 0) || !isReduced(sig, 32)) return false
    return nacl.sign.detached.verify(input, sig, key)
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v)
  }
  function onlyKeys(obj, allowed) {
    return Object.keys(obj).every(function (k) {
      return allowed.indexOf(k) >= 0
    })
  }
  function isText(v, max) {
    return typeof v === 'string' && v.length >= 1 && v.length <= max
  }
  function isPort(v) {
    return v === undefined || (Number.isInteger(v) && v >= 1 && v <= 65535)
  }
  function isTime(v) {
    return Number.isInteger(v) && v >= 0 && v <= 4294967295
  }

  var TRACKER_KEYS = [
    'name',
    'operator',
    'host',
    'udp',
    'tcp',
    'http',
    'key',
    'location',
    'contact',
    'notes',
  ]

  // The structural checks the browser needs before it reads anything (the full schema,
  // with every cap, is src/bootpage/schema.ts; this is deliberately no more permissive).
  function shapeProblem(doc) {
    if (!isObject(doc) || !onlyKeys(doc, ['page', 'signatures'])) return 'not a bootpage document'
    var p = doc.page
    if (!isObject(p)) return 'no page'
    if (
      !onlyKeys(p, [
        'version',
        'network',
        'sequence',
        'issuedAt',
        'validUntil',
        'threshold',
        'operators',
        'trackers',
        'freshness',
      ])
    )
      return 'unknown page field'
    if (p.version !== 1) return 'unsupported version'
    if (!isText(p.network, 32)) return 'bad network'
    if (!Number.isSafeInteger(p.sequence) || p.sequence < 1) return 'bad sequence'
    if (!isTime(p.issuedAt) || !isTime(p.validUntil) || p.validUntil <= p.issuedAt)
      return 'bad times'
    if (!Array.isArray(p.operators) || p.operators.length < 1 || p.operators.length > 16)
      return 'bad operators'
    var seen = {}
    for (var i = 0; i < p.operators.length; i++) {
      var o = p.operators[i]
      if (!isObject(o) || !onlyKeys(o, ['name', 'key']) || !isText(o.name, 64))
        return 'bad operator'
      if (typeof o.key !== 'string' || !isStrictKeyHex(o.key) || seen[o.key])
        return 'bad operator key'
      seen[o.key] = true
    }
    if (!Number.isInteger(p.threshold) || p.threshold < 1 || p.threshold > p.operators.length)
      return 'bad threshold'
    if (p.freshness !== undefined) {
      var f = p.freshness
      if (!isObject(f) || !onlyKeys(f, ['keys', 'threshold', 'maxLifetime'])) return 'bad freshness'
      if (!Array.isArray(f.keys) || f.keys.length < 1 || f.keys.length > 8) return 'bad stamp keys'
      var stampKeys = {}
      for (var q = 0; q < f.keys.length; q++) {
        var sk = f.keys[q]
        if (!isObject(sk) || !onlyKeys(sk, ['name', 'key']) || !isText(sk.name, 64))
          return 'bad stamp key'
        if (
          typeof sk.key !== 'string' ||
          !isStrictKeyHex(sk.key) ||
          stampKeys[sk.key] ||
          seen[sk.key]
        )
          return 'bad stamp key'
        stampKeys[sk.key] = true
      }
      if (!Number.isInteger(f.threshold) || f.threshold < 1 || f.threshold > f.keys.length)
        return 'bad stamp threshold'
      if (!Number.isInteger(f.maxLifetime) || f.maxLifetime < 60 || f.maxLifetime > 604800)
        return 'bad stamp lifetime'
    }
    if (!Array.isArray(p.trackers) || p.trackers.length < 1 || p.trackers.length > 64)
      return 'bad trackers'
    for (var j = 0; j < p.trackers.length; j++) {
      var t = p.trackers[j]
      if (!isObject(t) || !onlyKeys(t, TRACKER_KEYS)) return 'bad tracker'
      if (!isText(t.name, 64) || !isText(t.operator, 128) || !isText(t.host, 253))
        return 'bad tracker'
      if (!isPort(t.udp) || !isPort(t.tcp) || !isPort(t.http)) return 'bad tracker port'
      if (t.udp === undefined && t.tcp === undefined) return 'tracker without udp or tcp'
      if (t.key !== undefined && (typeof t.key !== 'string' || !isStrictKeyHex(t.key)))
        return 'bad tracker key'
      if (t.location !== undefined && !isText(t.location, 128)) return 'bad location'
      if (t.contact !== undefined && !isText(t.contact, 256)) return 'bad contact'
      if (t.notes !== undefined && !isText(t.notes, 256)) return 'bad notes'
    }
    if (!Array.isArray(doc.signatures) || doc.signatures.length > 32) return 'bad signatures'
    var signers = {}
    for (var k = 0; k < doc.signatures.length; k++) {
      var s = doc.signatures[k]
      if (!isObject(s) || !onlyKeys(s, ['key', 'signature'])) return 'bad signature entry'
      if (typeof s.key !== 'string' || !HEX64.test(s.key) || signers[s.key])
        return 'bad signature key'
      if (typeof s.signature !== 'string' || !HEX128.test(s.signature)) return 'bad signature'
      signers[s.key] = true
    }
    return null
  }

  // Verify a parsed document. Never throws: problems are listed.
  function verifyDocument(doc, nacl, nowMs) {
    var result = { ok: false, problems: [], signed: 0, operators: [], threshold: 0, expired: false }
    var shape
    try {
      shape = shapeProblem(doc)
    } catch (e) {
      shape = 'unreadable'
    }
    if (shape !== null) {
      result.problems.push('the file is not a valid bootpage (' + shape + ')')
      return result
    }
    var page = doc.page
    var input
    try {
      input = signingInput(page)
    } catch (e) {
      result.problems.push('the page cannot be canonicalised (' + e.message + ')')
      return result
    }
    var good = {}
    var bad = 0
    for (var i = 0; i < doc.signatures.length; i++) {
      var s = doc.signatures[i]
      if (verifySignature(nacl, input, s.signature, s.key)) good[s.key] = true
      else bad++
    }
    if (bad > 0)
      result.problems.push(bad + (bad === 1 ? ' signature does' : ' signatures do') + ' not verify')
    result.threshold = page.threshold
    for (var j = 0; j < page.operators.length; j++) {
      var o = page.operators[j]
      var signed = good[o.key] === true
      if (signed) result.signed++
      result.operators.push({ name: o.name, key: o.key, signed: signed })
    }
    if (result.signed < page.threshold)
      result.problems.push(
        'signed by only ' +
          result.signed +
          ' of ' +
          page.operators.length +
          ' operators, ' +
          page.threshold +
          ' required',
      )
    if (page.validUntil * 1000 <= nowMs) {
      result.expired = true
      result.problems.push('expired at ' + isoTime(page.validUntil))
    }
    result.ok = result.problems.length === 0
    return result
  }

  // A freshness stamp for a verified page (docs/bootpage.md §9), as src/bootpage/stamp.ts
  // checks it: status 'fresh', 'stale' (only expired) or 'invalid'. Never throws.
  function stampShapeProblem(doc) {
    if (!isObject(doc) || !onlyKeys(doc, ['stamp', 'signatures'])) return 'not a stamp'
    var s = doc.stamp
    if (
      !isObject(s) ||
      !onlyKeys(s, ['version', 'network', 'sequence', 'page', 'issuedAt', 'expiresAt'])
    )
      return 'bad stamp body'
    if (
      s.version !== 1 ||
      !isText(s.network, 32) ||
      !Number.isSafeInteger(s.sequence) ||
      s.sequence < 1
    )
      return 'bad stamp body'
    if (typeof s.page !== 'string' || !HEX64.test(s.page)) return 'bad page digest'
    if (!isTime(s.issuedAt) || !isTime(s.expiresAt) || s.expiresAt <= s.issuedAt) return 'bad times'
    if (!Array.isArray(doc.signatures) || doc.signatures.length > 8) return 'bad signatures'
    var signers = {}
    for (var i = 0; i < doc.signatures.length; i++) {
      var g = doc.signatures[i]
      if (!isObject(g) || !onlyKeys(g, ['key', 'signature'])) return 'bad signature entry'
      if (typeof g.key !== 'string' || !HEX64.test(g.key) || signers[g.key])
        return 'bad signature key'
      if (typeof g.signature !== 'string' || !HEX128.test(g.signature)) return 'bad signature'
      signers[g.key] = true
    }
    return null
  }
  function verifyStamp(doc, page, nacl, nowMs) {
    var result = { status: 'invalid', problems: [], signed: 0, threshold: 0, expiresAt: 0 }
    var f = page.freshness
    var shape
    try {
      shape = f ? stampShapeProblem(doc) : 'the page declares no stamps'
    } catch (e) {
      shape = 'unreadable'
    }
    if (shape !== null) {
      result.problems.push('the stamp is not valid (' + shape + ')')
      return result
    }
    var s = doc.stamp
    var digest = sha256Hex(signingInput(page))
    if (s.network !== page.network || s.sequence !== page.sequence || s.page !== digest)
      result.problems.push('the stamp is for another page (sequence ' + s.sequence + ')')
    var input = signingInput(s, STAMP_DOMAIN)
    var declared = {}
    f.keys.forEach(function (k) {
      declared[k.key] = true
    })
    var bad = 0
    for (var i = 0; i < doc.signatures.length; i++) {
      var g = doc.signatures[i]
      if (declared[g.key] === true && verifySignature(nacl, input, g.signature, g.key))
        result.signed++
      else bad++
    }
    if (bad > 0) result.problems.push(bad + ' stamp signature(s) do not verify')
    result.threshold = f.threshold
    if (result.signed < f.threshold)
      result.problems.push(
        'stamp signed by ' +
          result.signed +
          ' of ' +
          f.keys.length +
          ' stamp keys, ' +
          f.threshold +
          ' required',
      )
    if (s.expiresAt - s.issuedAt > f.maxLifetime) result.problems.push('the stamp lives too long')
    if (s.issuedAt * 1000 > nowMs + 3600 * 1000)
      result.problems.push('the stamp was issued in the future')
    result.expiresAt = Math.min(s.expiresAt, page.validUntil)
    var invalid = result.problems.length > 0
    if (result.expiresAt * 1000 <= nowMs)
      result.problems.push('the stamp expired at ' + isoTime(result.expiresAt))
    result.status = invalid ? 'invalid' : result.problems.length > 0 ? 'stale' : 'fresh'
    return result
  }

  function isoTime(seconds) {
    return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
  }
  function hostPort(host, port) {
    return host.indexOf(':') >= 0 ? '[' + host + ']:' + port : host + ':' + port
  }

  // Mirrors trackerRows() and factRows() in src/bootpage/render.ts.
  function trackerRows(t) {
    var rows = [['Operator', t.operator]]
    if (t.location !== undefined) rows.push(['Location', t.location])
    if (t.contact !== undefined) rows.push(['Contact', t.contact])
    if (t.udp !== undefined) rows.push(['UDP', hostPort(t.host, t.udp)])
    if (t.tcp !== undefined) rows.push(['TCP', hostPort(t.host, t.tcp)])
    if (t.http !== undefined) rows.push(['HTTP', 'http://' + hostPort(t.host, t.http) + '/'])
    if (t.key !== undefined) rows.push(['Key', t.key])
    if (t.notes !== undefined) rows.push(['Notes', t.notes])
    return rows
  }
  function factRows(page) {
    return [
      ['Network', page.network],
      ['Sequence', String(page.sequence)],
      ['Issued', isoTime(page.issuedAt)],
      ['Valid until', isoTime(page.validUntil)],
      ['Threshold', page.threshold + ' of ' + page.operators.length + ' operators'],
    ].concat(page.freshness === undefined ? [] : [freshnessRow(page.freshness)])
  }
  function freshnessRow(f) {
    var keys = f.keys
      .map(function (k) {
        return k.name + ' ' + k.key
      })
      .join(', ')
    return [
      'Freshness',
      'a stamp signed by ' +
        f.threshold +
        ' of ' +
        f.keys.length +
        ' online keys (' +
        keys +
        '), valid at most ' +
        f.maxLifetime +
        ' s',
    ]
  }

  // DOM rendering (browser only): the same structure renderSignedContent() writes as HTML.
  function el(tag, cls, text) {
    var e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }
  function dl(rows, cls) {
    var d = el('dl', cls)
    rows.forEach(function (r) {
      d.appendChild(el('dt', '', r[0]))
      d.appendChild(el('dd', '', r[1]))
    })
    return d
  }
  function renderSignedContent(page) {
    var frag = document.createDocumentFragment()
    var facts = el('section')
    facts.id = 'facts'
    facts.appendChild(dl(factRows(page), 'facts'))
    frag.appendChild(facts)
    var trackers = el('section')
    trackers.id = 'trackers'
    trackers.appendChild(el('h2', '', 'Trackers (' + page.trackers.length + ')'))
    page.trackers.forEach(function (t) {
      var a = el('article', 'tracker')
      a.appendChild(el('h3', '', t.name))
      a.appendChild(dl(trackerRows(t), 'rows'))
      trackers.appendChild(a)
    })
    frag.appendChild(trackers)
    var ops = el('section')
    ops.id = 'operators'
    ops.appendChild(el('h2', '', 'Operators'))
    var ul = el('ul')
    page.operators.forEach(function (o) {
      var li = el('li')
      li.appendChild(el('span', 'op-name', o.name))
      li.appendChild(document.createTextNode(' '))
      li.appendChild(el('code', 'op-key', o.key))
      li.appendChild(document.createTextNode(' '))
      li.appendChild(el('span', 'op-status'))
      ul.appendChild(li)
    })
    ops.appendChild(ul)
    frag.appendChild(ops)
    return frag
  }

  function squash(text) {
    return text.replace(/\s+/g, '')
  }

  function setStatus(kind, text, freshness) {
    var status = document.getElementById('status')
    status.className = 'status ' + kind
    status.textContent = text
    if (freshness) status.setAttribute('data-freshness', freshness)
  }

  // Fetch and check bootpage.stamp.json next to the page (docs/bootpage.md §9): the status
  // ('fresh', 'stale', 'missing' or 'invalid') and a sentence for the status line.
  async function checkFreshness(page) {
    var text
    try {
      var res = await fetch('bootpage.stamp.json', { cache: 'no-store', credentials: 'omit' })
      if (!res.ok) throw new Error('HTTP ' + res.status)
      text = await res.text()
    } catch (e) {
      return {
        status: 'missing',
        text: 'its freshness stamp bootpage.stamp.json is missing (' + e.message + ')',
      }
    }
    var doc = null
    if (text.length <= STAMP_MAX_BYTES) {
      try {
        doc = JSON.parse(text)
      } catch (e) {
        doc = null
      }
    }
    var r = verifyStamp(doc, page, root.nacl, Date.now())
    if (r.status === 'fresh')
      return {
        status: 'fresh',
        text:
          'Fresh: stamped by ' +
          r.signed +
          ' of ' +
          page.freshness.keys.length +
          ' online keys, until ' +
          isoTime(r.expiresAt) +
          '.',
      }
    return { status: r.status, text: 'bootpage.stamp.json: ' + r.problems.join('; ') }
  }

  function fail(text) {
    document.getElementById('signed-content').classList.add('unverified')
    setStatus('bad', 'WARNING: not verified. ' + text + ' Do not rely on the list below.')
  }

  async function main() {
    var text
    try {
      var res = await fetch('bootpage.json', {
        cache: 'no-store',
        credentials: 'omit',
      })
      if (!res.ok) throw new Error('HTTP ' + res.status)
      text = await res.text()
    } catch (e) {
      fail(
        'Could not load bootpage.json next to this page (' +
          e.message +
          '); the page must be served over http(s).',
      )
      return
    }
    if (text.length > MAX_BYTES)
      return fail('bootpage.json is larger than ' + MAX_BYTES + ' bytes.')
    var doc
    try {
      doc = JSON.parse(text)
    } catch (e) {
      return fail('bootpage.json is not JSON.')
    }
    var result = verifyDocument(doc, root.nacl, Date.now())
    if (!result.ok) return fail('bootpage.json: ' + result.problems.join('; ') + '.')
    var container = document.getElementById('signed-content')
    var fresh = renderSignedContent(doc.page)
    var probe = document.createElement('div')
    probe.appendChild(fresh)
    var matches = squash(container.textContent) === squash(probe.textContent)
    container.replaceChildren.apply(container, Array.prototype.slice.call(probe.childNodes))
    var statuses = container.querySelectorAll('#operators .op-status')
    result.operators.forEach(function (o, i) {
      var s = statuses[i]
      if (!s) return
      s.textContent = o.signed ? 'signed' : 'did not sign'
      s.className = 'op-status ' + (o.signed ? 'signed' : 'unsigned')
    })
    document.title = 'metatracker bootpage: ' + doc.page.network
    var summary =
      'signed by ' +
      result.signed +
      ' of ' +
      result.operators.length +
      ' operators (' +
      result.threshold +
      ' required), sequence ' +
      doc.page.sequence +
      ', valid until ' +
      isoTime(doc.page.validUntil) +
      '.'
    var stampCheck = { status: 'none', text: '' }
    if (doc.page.freshness !== undefined) stampCheck = await checkFreshness(doc.page)
    if (!matches) {
      setStatus(
        'bad',
        'WARNING: this page did not match its bootpage.json, which is ' +
          summary +
          ' The list below now shows the signed data.' +
          (stampCheck.text === '' ? '' : ' ' + stampCheck.text),
        stampCheck.status,
      )
      return
    }
    if (stampCheck.status !== 'none' && stampCheck.status !== 'fresh') {
      setStatus(
        'bad',
        'WARNING: this list may be out of date: ' +
          stampCheck.text +
          '. The operators signed it: ' +
          summary,
        stampCheck.status,
      )
      return
    }
    setStatus(
      'ok',
      'Verified in your browser: ' +
        summary +
        (stampCheck.text === '' ? '' : ' ' + stampCheck.text),
      stampCheck.status,
    )
  }

  root.MetatrackerBootpage = {
    canonicalize: function (v) {
      return canonicalize(v, 0)
    },
    signingInput: signingInput,
    verifySignature: verifySignature,
    isStrictKeyHex: isStrictKeyHex,
    verifyDocument: verifyDocument,
    verifyStamp: verifyStamp,
    sha256Hex: sha256Hex,
    trackerRows: trackerRows,
    factRows: factRows,
  }

  if (typeof document !== 'undefined' && document.getElementById('signed-content')) {
    main().catch(function (e) {
      fail('The verifier failed (' + (e && e.message) + ').')
    })
  }
})(typeof self !== 'undefined' ? self : this)
