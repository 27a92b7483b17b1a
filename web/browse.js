/*
 * metatracker server browser (src/observe/browse-page.ts renders its page). Plain ES2017, no
 * build step. It lists a network's servers from /v1/servers and checks every record in the
 * browser with web/record.js (decode, then the strict Ed25519 rule); what it shows is read from
 * the verified bytes, never from the tracker's convenience fields, and a record that fails is
 * shown as rejected. With data-bootpage it first reads a signed bootpage (verified by
 * bootpage/verify.js) and asks the trackers it lists, one after another, until one answers.
 * Tested in headless Chromium by test/observe/pages.browser.test.ts.
 */
;(function (root) {
  'use strict'
  var TIMEOUT_MS = 8000
  var MAX_ENTRIES = 100
  var Record = root.MetatrackerRecord
  if (typeof document === 'undefined' || !document.getElementById('browse') || !Record) return
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
        if (!res.ok) {
          var err = new Error('HTTP ' + res.status)
          err.status = res.status
          throw err
        }
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
  // Ask each tracker in turn; resolves { base, value } from the first that answers. A tracker
  // that refuses `path` (an older version refuses a parameter it does not know with a 400,
  // which a cross-origin page sees only as a failed fetch) is asked `older` once, when given;
  // one that timed out is not asked again.
  function firstAnswer(trackers, path, older) {
    var i = 0
    var errors = []
    function next() {
      if (i >= trackers.length)
        return Promise.reject(new Error(errors.join('; ') || 'no tracker to ask'))
      var base = trackers[i++]
      return getJson(base + path)
        .catch(function (e) {
          if (older && e.name !== 'AbortError') return getJson(base + older)
          throw e
        })
        .then(
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
        // The bootpage's trackers first, then the page's own list.
        var listed = []
        doc.page.trackers.forEach(function (t) {
          if (t.http !== undefined) listed.push('http://' + hostPort(t.host, t.http))
        })
        trackers = listed.concat(trackers)
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
    // unproven=1: every server, proven reachable or not (each entry says which).
    var query = '/v1/servers?network=' + encodeURIComponent(network) + '&count=' + MAX_ENTRIES
    firstAnswer(trackers, query + '&unproven=1', query)
      .then(function (r) {
        var entries = Array.isArray(r.value.entries) ? r.value.entries.slice(0, MAX_ENTRIES) : []
        return Promise.all(
          entries.map(function (e) {
            return Record.checkRecord(e, network)
          }),
        ).then(function (results) {
          return Record.engine().then(function (name) {
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
