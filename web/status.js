/*
 * metatracker status page: live updates, sorting and filtering (src/observe/status-page.ts
 * renders the page on the server; this script keeps it current). Plain ES2017, no build step,
 * served same-origin as /assets/status.js. It fetches /status.json every data-refresh-ms while
 * the tab is visible (one request at a time, slower after a failure) and redraws figures,
 * charts and the server list. Values from the network are only ever set with textContent.
 * Tested in headless Chromium by test/observe/pages.browser.test.ts.
 */
;(function () {
  'use strict'
  var body = document.body
  var every = Number(body.getAttribute('data-refresh-ms')) || 10000
  var sortKey = 'players'
  var sortDir = -1
  var W = 120
  var H = 32

  function $(id) {
    return document.getElementById(id)
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag)
    if (cls) e.className = cls
    if (text !== undefined) e.textContent = text
    return e
  }
  function setText(id, text) {
    var e = $(id)
    if (e) e.textContent = text
  }
  function int(n) {
    return Math.round(n).toLocaleString('en-US')
  }
  function rate(n) {
    return (Number.isFinite(n) ? n : 0).toFixed(2)
  }
  function bytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    var u = 0
    while (n >= 1024 && u < units.length - 1) {
      n /= 1024
      u++
    }
    return u === 0 ? Math.round(n) + ' B' : n.toFixed(1) + ' ' + units[u]
  }
  function duration(s) {
    s = Math.max(0, Math.floor(s))
    var parts = []
    ;[
      ['d', 86400],
      ['h', 3600],
      ['m', 60],
    ].forEach(function (u) {
      var n = Math.floor(s / u[1])
      s -= n * u[1]
      if (n > 0 || parts.length > 0) parts.push(n + u[0])
    })
    parts.push(s + 's')
    return parts.join(' ')
  }
  function percent(part, whole) {
    return whole > 0 ? ((100 * part) / whole).toFixed(1) + '%' : '0.0%'
  }
  // Characters that reorder or hide text (src/observe/format.ts plainText).
  function plain(s) {
    return String(s).replace(
      /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g,
      '\ufffd',
    )
  }

  // Mirrors chartPoints() in src/observe/status-charts.ts.
  function chartPoints(values, max) {
    if (values.length < 2) return ''
    var top = max > 0 ? max : 1
    var dx = W / (values.length - 1)
    return values
      .map(function (v, i) {
        var y = H - (Math.max(0, v) / top) * (H - 2) - 1
        return (i * dx).toFixed(1) + ',' + y.toFixed(1)
      })
      .join(' ')
  }
  function drawChart(id, lines, format, empty) {
    var fig = $(id)
    if (!fig) return
    var max = 0
    var latest = 0
    lines.forEach(function (l) {
      l.values.forEach(function (v) {
        if (v > max) max = v
      })
      latest += l.values.length ? l.values[l.values.length - 1] : 0
    })
    var cap = fig.querySelector('figcaption')
    cap.querySelector('.chart-now').textContent = format(latest)
    cap.querySelector('.chart-max').textContent = 'max ' + format(max)
    while (cap.nextSibling) fig.removeChild(cap.nextSibling)
    var drawn = lines.filter(function (l) {
      return l.values.length >= 2
    })
    if (drawn.length === 0) {
      fig.appendChild(el('p', 'chart-empty', empty))
    } else {
      var ns = 'http://www.w3.org/2000/svg'
      var svg = document.createElementNS(ns, 'svg')
      svg.setAttribute('class', 'chart-svg')
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H)
      svg.setAttribute('preserveAspectRatio', 'none')
      svg.setAttribute('role', 'img')
      drawn.forEach(function (l, i) {
        var p = document.createElementNS(ns, 'polyline')
        p.setAttribute('class', 'c' + (i % 6))
        p.setAttribute('vector-effect', 'non-scaling-stroke')
        p.setAttribute('points', chartPoints(l.values, max))
        svg.appendChild(p)
      })
      fig.appendChild(svg)
    }
    if (lines.length > 1) {
      var ul = el('ul', 'legend')
      lines.forEach(function (l, i) {
        ul.appendChild(el('li', 'c' + (i % 6), l.label))
      })
      fig.appendChild(ul)
    }
  }

  // Mirrors serverRowHtml() in src/observe/status-page.ts.
  function serverRow(network, s) {
    var tr = el('tr')
    tr.setAttribute('data-key', s.key)
    tr.title = s.connect
    function td(cls, text, sort) {
      var c = el('td', cls, text)
      if (sort !== undefined) c.setAttribute('data-sort', String(sort))
      tr.appendChild(c)
      return c
    }
    td('', network, network)
    td('name', plain(s.name), plain(s.name).toLowerCase())
    td('n', s.players + '/' + s.maxPlayers, s.players)
    td('', plain(s.world))
    td('', plain(s.version))
    var tags = td('tags')
    s.tags.forEach(function (t, i) {
      if (i > 0) tags.appendChild(document.createTextNode(' '))
      tags.appendChild(el('span', 'tag', plain(t)))
    })
    td(
      'proof ' + (s.verified ? 'proven' : 'unproven'),
      s.verified ? 'proven' : 'not proven',
      s.verified ? 1 : 0,
    )
    td('n', duration(s.age), s.age)
    td('n', String(s.served), s.served)
    return tr
  }

  var COLUMN = { network: 0, name: 1, players: 2, proven: 6, age: 7, served: 8 }
  function sortValue(tr, key) {
    var v = tr.children[COLUMN[key]].getAttribute('data-sort') || ''
    return key === 'network' || key === 'name' ? v : Number(v)
  }
  function applyView() {
    var table = $('servers')
    if (!table) return
    var tbody = table.tBodies[0]
    var rows = Array.prototype.slice.call(tbody.rows)
    rows.sort(function (a, b) {
      var x = sortValue(a, sortKey)
      var y = sortValue(b, sortKey)
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir
    })
    var words = ($('filter').value || '').toLowerCase().trim()
    var provenOnly = $('proven-only').checked
    var shown = 0
    rows.forEach(function (tr) {
      var ok =
        (!words || tr.textContent.toLowerCase().indexOf(words) >= 0) &&
        (!provenOnly || tr.children[6].classList.contains('proven'))
      tr.hidden = !ok
      if (ok) shown++
      tbody.appendChild(tr)
    })
    setText('servers-shown', shown + ' of ' + rows.length + ' servers shown')
    Array.prototype.forEach.call(table.querySelectorAll('button.sort'), function (b) {
      var k = b.getAttribute('data-sort-key')
      if (k === sortKey) b.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending')
      else b.removeAttribute('aria-sort')
    })
  }

  function update(m) {
    setText('uptime', duration(m.uptime))
    setText('version', m.version)
    setText('rate-announces', rate(m.lastMinute.announces))
    setText('rate-queries', rate(m.lastMinute.queries))
    var t = m.table
    ;[
      ['entries', t.entries, t.maxEntries, int],
      ['bytes', t.bytes, t.maxBytes, bytes],
    ].forEach(function (r) {
      setText('table-' + r[0], r[3](r[1]))
      $('table-' + r[0]).setAttribute('data-value', String(r[1]))
      setText('table-max-' + r[0], r[3](r[2]))
      setText('table-' + r[0] + '-used', percent(r[1], r[2]))
      var meter = $('table-' + r[0] + '-meter')
      meter.max = Math.max(1, r[2])
      meter.value = r[1]
    })
    setText('process-rss', bytes(m.process.rssBytes))
    setText('process-cpu', (m.process.cpu * 100).toFixed(1) + '% of one core')
    setText(
      'process-lag',
      m.process.lagP99Ms.toFixed(1) + ' ms p99, ' + m.process.lagMaxMs.toFixed(1) + ' ms max',
    )
    var h = m.history
    var perS = function (n) {
      return rate(n) + '/s'
    }
    drawChart('chart-announces', [{ label: 'announces', values: h.announces }], perS, 'no data yet')
    drawChart('chart-queries', [{ label: 'queries', values: h.queries }], perS, 'no data yet')
    drawChart(
      'chart-drops',
      h.drops.map(function (d) {
        return { label: d.reason, values: d.values }
      }),
      perS,
      'no drops',
    )
    drawChart(
      'chart-egress',
      [{ label: 'bytes', values: h.egressBytes }],
      function (n) {
        return bytes(n) + '/s'
      },
      'not counted (no egress budget set)',
    )
    drawChart(
      'chart-cpu',
      [{ label: 'cpu', values: h.cpu }],
      function (n) {
        return (n * 100).toFixed(1) + '%'
      },
      'no data yet',
    )
    var list = el('ul')
    list.id = 'network-list'
    m.networks.forEach(function (n) {
      var li = el('li')
      li.appendChild(el('span', 'net', n.network))
      var listed = n.list.length < n.servers ? ' (' + n.list.length + ' listed)' : ''
      li.appendChild(
        document.createTextNode(
          ' ' + int(n.servers) + ' servers, ' + int(n.peers) + ' peers' + listed,
        ),
      )
      list.appendChild(li)
    })
    $('network-list').replaceWith(list)
    $('networks-none').hidden = m.networks.length > 0
    $('networks-more').hidden = !(m.networksNotListed > 0)
    setText('networks-more', int(m.networksNotListed) + ' more networks not listed.')
    var box = $('drops-box')
    box.textContent = ''
    if (m.drops.length === 0) {
      var none = el('p', '', 'No drops.')
      none.id = 'drops-none'
      box.appendChild(none)
    } else {
      var dt = el('table')
      dt.id = 'drops'
      var head = el('thead')
      var hr = el('tr')
      hr.appendChild(el('th', '', 'reason'))
      hr.appendChild(el('th', '', 'count'))
      head.appendChild(hr)
      dt.appendChild(head)
      var db = el('tbody')
      m.drops.forEach(function (d) {
        var tr = el('tr')
        tr.appendChild(el('td', '', d.reason))
        var c = el('td', 'n', int(d.count))
        c.setAttribute('data-value', String(d.count))
        tr.appendChild(c)
        db.appendChild(tr)
      })
      dt.appendChild(db)
      box.appendChild(dt)
    }
    var table = $('servers')
    if (table) {
      var tbody = el('tbody')
      m.networks.forEach(function (n) {
        n.list.forEach(function (s) {
          tbody.appendChild(serverRow(n.network, s))
        })
      })
      table.replaceChild(tbody, table.tBodies[0])
      applyView()
    }
    setText('live', 'Updated ' + new Date(m.now).toISOString() + ' (live)')
  }

  var busy = false
  var failures = 0
  function tick() {
    if (busy || document.hidden) return schedule()
    busy = true
    fetch('/status.json', { cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status)
        return res.json()
      })
      .then(function (m) {
        failures = 0
        update(m)
      })
      .catch(function (e) {
        failures++
        setText('live', 'Not updated: ' + e.message + ' (retrying)')
      })
      .then(function () {
        busy = false
        schedule()
      })
  }
  function schedule() {
    setTimeout(tick, every * Math.min(6, 1 + failures))
  }

  if ($('servers')) {
    $('servers').addEventListener('click', function (ev) {
      var b = ev.target.closest ? ev.target.closest('button.sort') : null
      if (!b) return
      var k = b.getAttribute('data-sort-key')
      if (k === sortKey) sortDir = -sortDir
      else {
        sortKey = k
        sortDir = k === 'name' || k === 'network' ? 1 : -1
      }
      applyView()
    })
    $('filter').addEventListener('input', applyView)
    $('proven-only').addEventListener('change', applyView)
    applyView()
  }
  body.classList.add('live')
  schedule()
})()
