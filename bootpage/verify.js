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
 * Values are only ever inserted with textContent, never as HTML.
 */
;(function (root) {
  'use strict'

  var DOMAIN = 'metatracker/v1/bootpage'
  var MAX_BYTES = 262144
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

  function signingInput(page) {
    var enc = new TextEncoder()
    var domain = enc.encode(DOMAIN)
    var body = enc.encode(canonicalize(page))
    var out = new Uint8Array(1 + domain.length + body.length)
    out[0] = domain.length
    out.set(domain, 1)
    out.set(body, 1 + domain.length)
    return out
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
  // The strict rule's byte checks on a key and a signature (bytes), before any Ed25519
  // implementation sees them: web/browse.js runs them before WebCrypto as well.
  function isStrictSignature(sig, key) {
    if (!isStrictKey(key) || sig.length !== 64) return false
    return !isSmallOrder(sig, 0) && isCanonical(sig, 0) && isReduced(sig, 32)
  }
  // One signature under the strict rule: the byte checks, then tweetnacl.
  function verifySignature(nacl, input, signatureHex, keyHex) {
    var key = hexToBytes(keyHex)
    var sig = hexToBytes(signatureHex)
    if (!isStrictSignature(sig, key)) return false
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

  function setStatus(kind, text) {
    var status = document.getElementById('status')
    status.className = 'status ' + kind
    status.textContent = text
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
    if (!matches) {
      setStatus(
        'bad',
        'WARNING: this page did not match its bootpage.json, which is ' +
          summary +
          ' The list below now shows the signed data.',
      )
      return
    }
    setStatus('ok', 'Verified in your browser: ' + summary)
  }

  root.MetatrackerBootpage = {
    canonicalize: function (v) {
      return canonicalize(v, 0)
    },
    signingInput: signingInput,
    verifySignature: verifySignature,
    isStrictSignature: isStrictSignature,
    isStrictKeyHex: isStrictKeyHex,
    verifyDocument: verifyDocument,
    trackerRows: trackerRows,
    factRows: factRows,
  }

  if (typeof document !== 'undefined' && document.getElementById('signed-content')) {
    main().catch(function (e) {
      fail('The verifier failed (' + (e && e.message) + ').')
    })
  }
})(typeof self !== 'undefined' ? self : this)
