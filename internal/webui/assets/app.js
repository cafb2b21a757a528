// warren manager UI: forms and buttons talk to the JSON API; live
// statistics and logs come as server-sent events. No inline script, no
// other origin (the Content-Security-Policy forbids both).
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function api(method, path, body) {
    var opts = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
        }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    });
  }

  function errorBox(near) {
    return $('#form-error', near && near.closest('form') ? near.closest('form') : document) || $('#form-error');
  }

  // showError puts an API error in the page's error box; an error at a
  // line of a configuration also selects that line in the text area.
  function showError(res, near) {
    var box = errorBox(near);
    var d = res.data || {};
    var msg = d.error || ('HTTP ' + res.status);
    if (box) {
      box.textContent = msg;
      box.hidden = false;
      if (d.line) { box.dataset.line = String(d.line); } else { delete box.dataset.line; }
    }
    var form = near && near.closest ? near.closest('form') : null;
    var ta = form ? $('textarea', form) : null;
    if (ta && d.line) { selectLine(ta, d.line); }
    if (d.output) { showOutput(d.output); }
  }

  function clearError(near) {
    var box = errorBox(near);
    if (box) { box.hidden = true; box.textContent = ''; delete box.dataset.line; }
  }

  function selectLine(ta, line) {
    var lines = ta.value.split('\n');
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
    var end = start + (lines[line - 1] || '').length;
    ta.focus();
    ta.setSelectionRange(start, end);
  }

  function showOutput(text) {
    var box = $('#action-output');
    if (!box || !text) { return; }
    box.textContent = text;
    box.hidden = false;
  }

  // After an action that reloads the page, its output is shown once.
  function restoreOutput() {
    var text = sessionStorage.getItem('warren-output');
    if (text) {
      sessionStorage.removeItem('warren-output');
      showOutput(text);
    }
  }

  function warningsText(ws) {
    return (ws || []).map(function (w) { return 'Warning: ' + w.message; }).join('\n');
  }

  // done carries out what an element's data-done asks for after success.
  function done(el, res) {
    var d = res.data || {};
    var out = [d.output, warningsText(d.warnings)].filter(Boolean).join('\n');
    switch (el.dataset.done) {
      case 'reload':
        if (out) { sessionStorage.setItem('warren-output', out); }
        location.reload();
        break;
      case 'home':
        if (out) { sessionStorage.setItem('warren-output', out); }
        location.assign('/');
        break;
      case 'goto-tunnel':
        var w = (d.warnings || []).join('\n');
        if (w) { sessionStorage.setItem('warren-output', w); }
        location.assign('/tunnels/' + encodeURIComponent(d.name));
        break;
      case 'edit-result':
        var box = $('#edit-result');
        var lines = [d.applied ? 'Saved and applied to the running tunnel.' : 'Saved.'];
        if (d.restartNeeded && d.restartNeeded.length) {
          lines.push('Takes effect when the tunnel is deactivated and activated again: ' + d.restartNeeded.join(', ') + '.');
        }
        (d.warnings || []).forEach(function (w) { lines.push('Warning: ' + w); });
        box.textContent = lines.join('\n');
        box.hidden = false;
        break;
      case 'token':
        $('#token-secret').textContent = d.token;
        $('#token-created').hidden = false;
        el.reset();
        break;
      case 'password':
        $('#password-done').hidden = false;
        el.reset();
        break;
    }
  }

  function formBody(form) {
    var body = {};
    $all('input[name], textarea[name], select[name]', form).forEach(function (f) {
      if (f.type !== 'file') { body[f.name] = f.value; }
    });
    return body;
  }

  function onSubmit(ev) {
    var form = ev.target;
    if (!form.dataset || !form.dataset.api) { return; }
    ev.preventDefault();
    clearError(form);
    var bad = $all('[data-confirm]', form).filter(function (f) {
      var other = document.getElementById(f.dataset.confirm);
      return other && other.value !== f.value;
    });
    if (bad.length) {
      showError({ data: { error: 'The two passwords differ.' } }, form);
      return;
    }
    var buttons = $all('button', form);
    buttons.forEach(function (b) { b.disabled = true; });
    api(form.dataset.method || 'POST', form.dataset.api, formBody(form)).then(function (res) {
      buttons.forEach(function (b) { b.disabled = false; });
      if (res.ok) { done(form, res); } else { showError(res, form); }
    }, function (err) {
      buttons.forEach(function (b) { b.disabled = false; });
      showError({ data: { error: String(err) } }, form);
    });
  }

  function onClick(ev) {
    var el = ev.target.closest('button[data-api]');
    if (!el || el.form) { return; }
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) { return; }
    clearError(el);
    el.disabled = true;
    el.setAttribute('aria-busy', 'true');
    api(el.dataset.method || 'POST', el.dataset.api).then(function (res) {
      el.disabled = false;
      el.removeAttribute('aria-busy');
      if (res.ok) { done(el, res); } else { showError(res, el); }
    }, function (err) {
      el.disabled = false;
      el.removeAttribute('aria-busy');
      showError({ data: { error: String(err) } }, el);
    });
  }

  function setupLogout() {
    var b = $('#logout');
    if (!b) { return; }
    b.addEventListener('click', function () {
      api('POST', '/api/logout').then(function () { location.assign('/login'); });
    });
  }

  // The import form takes a dropped-in file's text and, if no name was
  // typed, the file's name.
  function setupImport() {
    var file = $('#import-file');
    if (!file) { return; }
    file.addEventListener('change', function () {
      var f = file.files && file.files[0];
      if (!f) { return; }
      f.text().then(function (text) {
        $('#import-config').value = text;
        var name = $('#import-name');
        if (!name.value) { name.value = f.name.replace(/\.conf$/, ''); }
      });
    });
  }

  function formatBytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }

  function formatRate(n) { return formatBytes(Math.round(n)) + '/s'; }

  function formatAge(secs) {
    if (secs < 0) { secs = 0; }
    if (secs < 60) { return secs + ' s ago'; }
    if (secs < 3600) { return Math.floor(secs / 60) + ' min ' + (secs % 60) + ' s ago'; }
    if (secs < 86400) { return Math.floor(secs / 3600) + ' h ' + Math.floor((secs % 3600) / 60) + ' min ago'; }
    return Math.floor(secs / 86400) + ' days ago';
  }

  // History of rates per peer, newest last, for the graphs.
  var capacity = 120;
  function pushRate(hist, rx, tx) {
    hist.rx.push(rx);
    hist.tx.push(tx);
    if (hist.rx.length > capacity) { hist.rx.shift(); hist.tx.shift(); }
  }

  // The tunnel page follows the statistics stream and updates each peer's
  // row and graph, and the tunnel's graph, on every sample.
  function setupLive() {
    var table = $('#peers');
    if (!table || !window.EventSource) { return; }
    var tunnel = table.dataset.tunnel;
    // Peers are told apart by id: the public key, or for an operator an
    // opaque value (the server's data-peer is the same).
    var prev = {};   // id -> {rx, tx, time}
    var hists = {};  // id -> {rx: [], tx: []}
    var total = { rx: [], tx: [] };
    var totalCanvas = $('#tunnel-graph');
    var es = new EventSource('/api/events');
    es.addEventListener('stats', function (ev) {
      var snap = JSON.parse(ev.data);
      var iface = snap.interfaces[tunnel];
      var state = $('[data-test=tunnel-state]');
      if (state) { state.dataset.live = iface ? 'running' : 'stopped'; }
      if (!iface) { return; }
      var sumRx = 0, sumTx = 0;
      iface.peers.forEach(function (p) {
        var row = $all('tr[data-peer]', table).filter(function (r) { return r.dataset.peer === p.id; })[0];
        var last = prev[p.id];
        var rx = 0, tx = 0;
        if (last && snap.time > last.time) {
          var dt = (snap.time - last.time) / 1000;
          // A counter that went down is a restarted device.
          rx = p.rxBytes >= last.rx ? (p.rxBytes - last.rx) / dt : 0;
          tx = p.txBytes >= last.tx ? (p.txBytes - last.tx) / dt : 0;
        }
        prev[p.id] = { rx: p.rxBytes, tx: p.txBytes, time: snap.time };
        sumRx += rx; sumTx += tx;
        var hist = hists[p.id] || (hists[p.id] = { rx: [], tx: [] });
        if (last) { pushRate(hist, rx, tx); }
        if (!row) { return; }
        var hs = $('[data-test=peer-handshake]', row);
        hs.dataset.time = String(p.latestHandshake);
        hs.textContent = p.latestHandshake ? formatAge(Math.round(snap.time / 1000 - p.latestHandshake)) : 'never';
        var rxc = $('[data-test=peer-rx]', row), txc = $('[data-test=peer-tx]', row);
        rxc.dataset.bytes = String(p.rxBytes); rxc.textContent = formatBytes(p.rxBytes);
        txc.dataset.bytes = String(p.txBytes); txc.textContent = formatBytes(p.txBytes);
        $('[data-test=peer-endpoint]', row).textContent = p.endpoint || '';
        var canvas = $('[data-test=peer-graph]', row);
        canvas.dataset.samples = String(hist.rx.length);
        canvas.dataset.rate = String(Math.round(rx + tx));
        window.warrenChart.draw(canvas, hist, capacity, formatRate);
      });
      if (Object.keys(prev).length && totalCanvas) {
        pushRate(total, sumRx, sumTx);
        totalCanvas.dataset.samples = String(total.rx.length);
        totalCanvas.dataset.rate = String(Math.round(sumRx + sumTx));
        window.warrenChart.draw(totalCanvas, total, capacity, formatRate);
      }
    });
  }

  // The tunnel page's history graph: the traffic of all peers over the
  // last hour, day or month, from the history the manager keeps.
  function setupHistory() {
    var canvas = $('#history-graph');
    if (!canvas) { return; }
    var totals = $('#history-totals');
    function load(range) {
      $all('[data-test=history-range]').forEach(function (b) {
        b.setAttribute('aria-pressed', String(b.dataset.range === range));
      });
      api('GET', '/api/tunnels/' + encodeURIComponent(canvas.dataset.tunnel) + '/history?range=' + range).then(function (res) {
        if (!res.ok) {
          totals.textContent = (res.data && res.data.error) || ('HTTP ' + res.status);
          return;
        }
        var d = res.data;
        var series = { rx: d.points.map(function (p) { return p.rxRate; }), tx: d.points.map(function (p) { return p.txRate; }) };
        canvas.dataset.range = range;
        canvas.dataset.points = String(d.points.length);
        canvas.dataset.rxBytes = String(d.rxBytes);
        canvas.dataset.txBytes = String(d.txBytes);
        window.warrenChart.draw(canvas, series, d.points.length, formatRate);
        totals.textContent = 'All peers, ' + d.resolution + ' s per point: ' + formatBytes(d.rxBytes) + ' received, ' +
          formatBytes(d.txBytes) + ' sent (kept across restarts)';
      });
    }
    $all('[data-test=history-range]').forEach(function (b) {
      b.addEventListener('click', function () { load(b.dataset.range); });
    });
    load('hour');
  }

  // The log page follows a log stream.
  function setupLog() {
    var list = $('#log');
    if (!list || !window.EventSource) { return; }
    var es = new EventSource(list.dataset.src);
    es.addEventListener('line', function (ev) {
      var l = JSON.parse(ev.data);
      var li = document.createElement('li');
      li.dataset.test = 'log-line';
      li.dataset.tag = l.tag;
      var time = document.createElement('time');
      time.textContent = new Date(l.time).toISOString().replace('T', ' ').replace('Z', '');
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = l.tag;
      var text = document.createElement('span');
      text.textContent = l.text;
      li.append(time, ' ', tag, ' ', text);
      var atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
      list.appendChild(li);
      while (list.children.length > 5000) { list.removeChild(list.firstChild); }
      if (atEnd) { li.scrollIntoView(); }
    });
    es.addEventListener('error', function () {
      if (es.readyState === EventSource.CLOSED) {
        showError({ data: { error: 'The log stream ended; reload the page to follow it again.' } });
      }
    });
  }

  document.addEventListener('submit', onSubmit);
  document.addEventListener('click', onClick);
  document.addEventListener('DOMContentLoaded', function () {
    restoreOutput();
    setupLogout();
    setupImport();
    setupLive();
    setupHistory();
    setupLog();
  });
})();
