// warren manager UI, the clients page: adding a client and showing its
// configuration once (text, QR code, download, one-time link), enabling
// a client with a new expiry, and the client settings. Everything a
// client's name or configuration holds goes into the page as text
// (textContent, value), never as markup.
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function api(method, path, body) {
    var opts = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
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

  function showError(res) {
    var box = $('#form-error');
    var d = res.data || {};
    box.textContent = d.error || ('HTTP ' + res.status);
    box.dataset.code = d.code || '';
    box.hidden = false;
  }

  function clearError() {
    var box = $('#form-error');
    box.hidden = true;
    box.textContent = '';
  }

  // expiryOf turns a date input's value into UNIX seconds at the end of
  // that day, local time (0: never).
  function expiryOf(input) {
    if (!input || !input.value) { return 0; }
    var p = input.value.split('-');
    return Math.floor(new Date(+p[0], +p[1] - 1, +p[2], 23, 59, 59).getTime() / 1000);
  }

  function list(text) {
    return text.split(/[\s,]+/).filter(Boolean);
  }

  function busy(form, on) {
    $all('button', form).forEach(function (b) { b.disabled = on; });
  }

  var download = null; // the object URL of the configuration shown

  // showCreated shows a new client's configuration, once.
  function showCreated(d) {
    var box = $('#client-created');
    $('#client-created-name').textContent = d.client.name;
    $('#client-config').textContent = d.config;
    var img = $('#client-qr');
    img.src = d.qrLink;
    img.dataset.link = d.qrLink;
    if (download) { URL.revokeObjectURL(download); }
    download = URL.createObjectURL(new Blob([d.config], { type: 'text/plain' }));
    var a = $('#client-download');
    a.href = download;
    a.setAttribute('download', d.fileName);
    var link = $('#client-link');
    link.value = location.origin + d.configLink;
    var exp = $('#client-link-expires');
    exp.dateTime = new Date(d.linkExpires * 1000).toISOString();
    exp.textContent = new Date(d.linkExpires * 1000).toLocaleTimeString();
    box.hidden = false;
    box.scrollIntoView();
  }

  function forget() {
    $('#client-config').textContent = '';
    $('#client-link').value = '';
    $('#client-qr').removeAttribute('src');
    if (download) { URL.revokeObjectURL(download); download = null; }
    location.reload();
  }

  function setupAdd() {
    var form = $('#client-add-form');
    if (!form) { return; }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      busy(form, true);
      var body = { name: $('#client-name').value.trim(), expires: expiryOf($('#client-expires')) };
      api('POST', '/api/tunnels/' + encodeURIComponent(form.dataset.tunnel) + '/clients', body).then(function (res) {
        busy(form, false);
        if (!res.ok) { showError(res); return; }
        form.reset();
        showCreated(res.data);
      }, function (err) {
        busy(form, false);
        showError({ data: { error: String(err) } });
      });
    });
    $('#client-created-done').addEventListener('click', forget);
    $('#client-link').addEventListener('focus', function (ev) { ev.target.select(); });
  }

  function setupEnable() {
    $all('form[data-enable]').forEach(function (form) {
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        clearError();
        busy(form, true);
        api('POST', form.dataset.enable, { expires: expiryOf($('input[name=expires]', form)) }).then(function (res) {
          busy(form, false);
          if (res.ok) { location.reload(); } else { showError(res); }
        }, function (err) {
          busy(form, false);
          showError({ data: { error: String(err) } });
        });
      });
    });
  }

  function setupSettings() {
    var form = $('#client-settings-form');
    if (!form) { return; }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      $('#client-settings-saved').hidden = true;
      busy(form, true);
      var body = {
        endpointHost: $('#client-endpoint-host').value.trim(),
        endpointPort: +$('#client-endpoint-port').value || 0,
        dns: list($('#client-dns').value),
        allowedIPs: list($('#client-allowed-ips').value),
        persistentKeepalive: +$('#client-keepalive').value || 0
      };
      api('PUT', '/api/tunnels/' + encodeURIComponent(form.dataset.tunnel) + '/client-settings', body).then(function (res) {
        busy(form, false);
        if (!res.ok) { showError(res); return; }
        $('#client-settings-saved').hidden = false;
        var warn = $('#client-no-endpoint');
        if (warn && res.data.endpointHost) { warn.hidden = true; }
      }, function (err) {
        busy(form, false);
        showError({ data: { error: String(err) } });
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    setupAdd();
    setupEnable();
    setupSettings();
  });
})();
