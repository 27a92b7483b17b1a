/*
 * metatracker server browser (src/observe/browse-page.ts renders its page). Plain ES2017, no
 * build step. It lists a network's servers from /v1/servers and checks every record in the
 * browser: decode the signed bytes (docs/protocol.md §5), then the Ed25519 signature over
 * u8(len(domain)) || domain || body (§7) under the strict rule, whose byte checks (small-order
 * keys and R refused, S < L, canonical encodings) come from bootpage/verify.js
 * (MetatrackerBootpage.isStrictSignature); the curve check itself is WebCrypto's Ed25519 when
 * the browser has it (a known-answer test decides), tweetnacl's otherwise. What it shows is
 * read from the verified bytes, never from the tracker's convenience fields; a record that fails
 * is shown as rejected. With data-bootpage it first reads a signed bootpage (verified by
 * verify.js) and asks the trackers it lists, one after another, until one answers.
 * Tested in headless Chromium by test/observe/pages.browser.test.ts.
 */
;(function (root) {
  'use strict'
  var DOMAIN = 'metatracker/v1/node-record'
  var TIMEOUT_MS = 8000
  var MAX_ENTRIES = 100
  // RFC 8032 §7.1 test 1: public key, empty message, signature.
  var KAT_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
  var KAT_SIG =
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'

  function hex(bytes) {
    var s = ''
    for (var i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16)
    return s
  }
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

  // ---- the page -------------------------------------------------------------------------
  if (typeof document === 'undefined' || !document.getElementById('browse')) {
    root.MetatrackerBrowse = {
      decodeRecord: decodeRecord,
      signingInput: signingInput,
      checkRecord: checkRecord,
    }
    return
  }
  function $(id) {
    return document.getElementById(id)
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }
  function plain(s) {
    return String(s).replace(
      /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g,
      '\ufffd',
    )
  }
  function status(id, kind, text) {
    var e = $(id)
    e.hidden = false
    e.className = 'status ' + kind
    e.textContent = text
  }
  function hostPort(host, port) {
    return host.indexOf(':') >= 0 ? '[' + host + ']:' + port : host + ':' + port
  }
  function getJson(url) {
    var ctl = typeof AbortController === 'function' ? new AbortController() : null
    var timer = setTimeout(function () {
      if (ctl) ctl.abort()
    }, TIMEOUT_MS)
    return fetch(url, {
      cache: 'no-store',
      credentials: 'omit',
      signal: ctl ? ctl.signal : undefined,
    })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status)
        return res.json()
      })
      .then(
        function (v) {
          clearTimeout(timer)
          return v
        },
        function (e) {
          clearTimeout(timer)
          throw e
        },
      )
  }
  // Ask each tracker in turn; resolves { base, value } from the first that answers.
  function firstAnswer(trackers, path) {
    var i = 0
    var errors = []
    function next() {
      if (i >= trackers.length)
        return Promise.reject(new Error(errors.join('; ') || 'no tracker to ask'))
      var base = trackers[i++]
      return getJson(base + path).then(
        function (value) {
          return { base: base, value: value }
        },
        function (e) {
          errors.push((base || 'this tracker') + ': ' + e.message)
          return next()
        },
      )
    }
    return next()
  }

  var trackers = []
  try {
    trackers = JSON.parse(document.body.getAttribute('data-trackers') || '[]').filter(function (t) {
      return typeof t === 'string'
    })
  } catch (e) {
    trackers = []
  }
  var bootpageUrl = document.body.getAttribute('data-bootpage') || ''
  var fixedNetwork = ''

  function readBootpage() {
    if (!bootpageUrl) return Promise.resolve()
    return getJson(bootpageUrl)
      .then(function (doc) {
        var r = root.MetatrackerBootpage.verifyDocument(doc, root.nacl, Date.now())
        if (!r.ok) throw new Error(r.problems.join('; '))
        fixedNetwork = doc.page.network
        doc.page.trackers.forEach(function (t) {
          if (t.http !== undefined) trackers.push('http://' + hostPort(t.host, t.http))
        })
        status(
          'bootpage-status',
          'ok',
          'Bootpage verified: network ' +
            doc.page.network +
            ', signed by ' +
            r.signed +
            ' of ' +
            r.operators.length +
            ' operators.',
        )
      })
      .catch(function (e) {
        status(
          'bootpage-status',
          'bad',
          'WARNING: the bootpage did not verify (' + e.message + '); its trackers are not used.',
        )
      })
  }

  function networkFromHash() {
    var m = /(?:^#|&)network=([a-z0-9._-]{1,32})(?:&|$)/.exec(location.hash)
    return m ? m[1] : ''
  }

  function loadNetworks() {
    var select = $('network')
    var fill = function (names) {
      select.textContent = ''
      names.forEach(function (n) {
        var o = el('option', '', n)
        o.value = n
        select.appendChild(o)
      })
      var want = networkFromHash()
      if (want && names.indexOf(want) >= 0) select.value = want
    }
    if (fixedNetwork) {
      fill([fixedNetwork])
      return Promise.resolve()
    }
    return firstAnswer(trackers, '/v1/networks').then(function (r) {
      var names = (r.value.networks || [])
        .filter(function (n) {
          return n && typeof n.network === 'string' && n.servers > 0
        })
        .map(function (n) {
          return n.network
        })
      if (names.length === 0) throw new Error('no network with servers')
      fill(names)
    })
  }

  function row(entry, result) {
    var tr = el('tr', result.ok ? 'verified' : 'rejected')
    var s = result.ok ? result.record.server : entry.server || {}
    var td = function (cls, text) {
      var c = el('td', cls, text)
      tr.appendChild(c)
      return c
    }
    td(
      'sig ' + (result.ok ? 'sig-ok' : 'sig-bad'),
      result.ok ? '✓ verified' : '✗ rejected: ' + result.reason,
    )
    td('name', plain(s.name || ''))
    td('n', (s.players | 0) + '/' + (s.maxPlayers | 0))
    td('', plain(s.world || ''))
    td('', plain(s.version || ''))
    var tags = td('tags')
    ;(Array.isArray(s.tags) ? s.tags : []).forEach(function (t) {
      tags.appendChild(el('span', 'tag', plain(t)))
      tags.appendChild(document.createTextNode(' '))
    })
    if (result.ok)
      td(
        'reach ' + (entry.verified === true ? 'proven' : 'unproven'),
        entry.verified === true ? 'proven' : 'not proven',
      )
    else td('reach', '—')
    // An unspecified address means the address the tracker observed (protocol §4).
    var connect = ''
    if (result.ok) {
      var ep = result.record.endpoints[0]
      var obs = entry.observed || {}
      if (!ep) connect = hostPort(String(obs.address || ''), obs.port | 0)
      else if (ep.address === '0.0.0.0' || ep.address === '::')
        connect = hostPort(String(obs.address || ''), ep.port)
      else connect = hostPort(ep.address, ep.port)
    }
    td('connect', connect)
    return tr
  }

  function applyFilter() {
    var words = ($('filter').value || '').toLowerCase().trim()
    var provenOnly = $('proven-only').checked
    Array.prototype.forEach.call($('browse').tBodies[0].rows, function (tr) {
      tr.hidden =
        (words && tr.textContent.toLowerCase().indexOf(words) < 0) ||
        (provenOnly && !tr.querySelector('td.proven'))
    })
  }

  var generation = 0
  function loadServers() {
    var network = $('network').value
    if (!network) return
    var mine = ++generation
    history.replaceState(null, '', '#network=' + network)
    status('browse-status', 'pending', 'Loading ' + network + '…')
    firstAnswer(
      trackers,
      '/v1/servers?network=' + encodeURIComponent(network) + '&count=' + MAX_ENTRIES,
    )
      .then(function (r) {
        var entries = Array.isArray(r.value.entries) ? r.value.entries.slice(0, MAX_ENTRIES) : []
        return Promise.all(
          entries.map(function (e) {
            return checkRecord(e, network)
          }),
        ).then(function (results) {
          return pickEngine().then(function (name) {
            return { base: r.base, entries: entries, results: results, engine: name }
          })
        })
      })
      .then(function (r) {
        if (mine !== generation) return
        var tbody = el('tbody')
        var bad = 0
        r.entries.forEach(function (e, i) {
          if (!r.results[i].ok) bad++
          tbody.appendChild(row(e, r.results[i]))
        })
        var table = $('browse')
        table.replaceChild(tbody, table.tBodies[0])
        applyFilter()
        var from = r.base ? ' from ' + r.base : ''
        var text =
          r.entries.length +
          ' servers' +
          from +
          '; signatures checked in your browser with ' +
          r.engine +
          ': ' +
          (r.entries.length - bad) +
          ' verified, ' +
          bad +
          ' rejected.'
        status('browse-status', bad > 0 ? 'bad' : 'ok', text)
        document.body.setAttribute('data-engine', r.engine)
        document.body.setAttribute('data-loaded', network)
      })
      .catch(function (e) {
        if (mine !== generation) return
        status('browse-status', 'bad', 'No tracker answered: ' + e.message)
      })
  }

  $('network').addEventListener('change', loadServers)
  $('filter').addEventListener('input', applyFilter)
  $('proven-only').addEventListener('change', applyFilter)
  readBootpage()
    .then(loadNetworks)
    .then(loadServers)
    .catch(function (e) {
      status('browse-status', 'bad', 'No network to show: ' + e.message)
    })
})(typeof self !== 'undefined' ? self : this)
