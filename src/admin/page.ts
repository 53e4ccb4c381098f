/**
 * The status page at GET /: one self-contained HTML document (no external assets) that
 * polls /status every 2 s and draws the backends with health, in-flight and request
 * rate, the recent errors and the last reloads. Text from requests (hosts, paths, error
 * details) is only ever set as textContent. Its inline script and style are allowed by
 * hash in a strict Content-Security-Policy.
 */
import crypto from 'node:crypto';

const STYLE = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--mute:#6b7385;--line:#e3e6ec;--up:#1f9d55;--down:#d64545;--drain:#8a8f9c;--warn:#c77c02;--accent:#2f6fde}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;align-items:center;gap:18px;flex-wrap:wrap;padding:12px 24px;background:#1d2330;color:#fff}
header h1{font-size:18px;margin:0;letter-spacing:.3px}
header .meta{color:#b9c0cf;font-size:13px}
header .meta b{color:#fff;font-weight:600}
#live{margin-left:auto;font-size:12px;color:#b9c0cf;display:flex;align-items:center;gap:6px}
#dot{width:9px;height:9px;border-radius:50%;background:var(--drain)}
#dot.ok{background:#3ddc84}#dot.bad{background:#ff6b6b}
main{padding:18px 24px;max-width:1400px;margin:0 auto}
.banner{display:none;padding:10px 14px;border-radius:8px;margin-bottom:14px;background:#fdecec;color:#8f1d1d;border:1px solid #f3c2c2;white-space:pre-wrap;font-family:ui-monospace,Menlo,monospace;font-size:12.5px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(128px,1fr));gap:12px;margin-bottom:18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.card .k{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
.card .v{font-size:22px;font-weight:600;margin-top:2px;font-variant-numeric:tabular-nums}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;margin-bottom:18px;overflow:hidden}
section h2{font-size:14px;margin:0;padding:10px 14px;border-bottom:1px solid var(--line);display:flex;justify-content:space-between}
section h2 small{color:var(--mute);font-weight:400}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:1000px){.cols{grid-template-columns:1fr}}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:7px 14px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--mute);font-weight:600;background:#fafbfc}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:0}
.mono{font-family:ui-monospace,Menlo,monospace;font-size:12.5px}
.mute{color:var(--mute)}
.small{font-size:11.5px;margin-top:3px}
.pill{display:inline-block;min-width:64px;text-align:center;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.pill.up{background:var(--up)}.pill.down{background:var(--down)}.pill.drained{background:var(--drain)}
.ok{color:var(--up);font-weight:600}.bad{color:var(--down);font-weight:600}
.err{color:var(--down)}
.bar{height:6px;border-radius:3px;background:var(--accent);opacity:.75;margin-left:auto}
.nowrap{white-space:nowrap}
button{font:inherit;font-size:12px;padding:3px 10px;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer}
button:hover{border-color:var(--accent);color:var(--accent)}
.empty{padding:14px;color:var(--mute)}
form#auth{display:none;padding:14px;gap:8px}
form#auth input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px;width:320px}
footer{color:var(--mute);font-size:12px;padding:0 24px 18px;max-width:1400px;margin:0 auto}
#fleet{display:none}
`;

const SCRIPT = `
(function(){
'use strict';
var POLL = 2000;
var m = /[#&]token=([^&]+)/.exec(location.hash);
if (m) { sessionStorage.setItem('lpxToken', decodeURIComponent(m[1])); history.replaceState(null, '', location.pathname); }
var prev = null;
function $(id){ return document.getElementById(id); }
function el(tag, cls, text){ var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined && text !== null) e.textContent = String(text); return e; }
function row(cells){ var tr = document.createElement('tr'); cells.forEach(function(c){ tr.appendChild(c); }); return tr; }
function td(text, cls){ return el('td', cls, text); }
function headers(){ var t = sessionStorage.getItem('lpxToken'); return t ? { authorization: 'Bearer ' + t } : {}; }
function ago(iso){ if (!iso) return ''; var s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 60 ? s + 's ago' : s < 3600 ? Math.floor(s/60) + 'm ago' : Math.floor(s/3600) + 'h ago'; }
function dur(s){ var d = Math.floor(s/86400), h = Math.floor(s%86400/3600), mi = Math.floor(s%3600/60); return d ? d+'d '+h+'h' : h ? h+'h '+mi+'m' : mi+'m '+(s%60)+'s'; }
function bytes(n){ return n >= 1<<30 ? (n/(1<<30)).toFixed(1)+' GiB' : n >= 1<<20 ? (n/(1<<20)).toFixed(1)+' MiB' : (n/1024).toFixed(0)+' KiB'; }
function rate(r){ return r === null ? '…' : r >= 100 ? r.toFixed(0) : r.toFixed(1); }
function fill(tbody, rows, cols, empty){ tbody.textContent = ''; if (!rows.length) { var tr = document.createElement('tr'); var c = el('td', 'empty', empty); c.colSpan = cols; tr.appendChild(c); tbody.appendChild(tr); return; } rows.forEach(function(r){ tbody.appendChild(r); }); }
function card(k, v){ var c = el('div', 'card'); c.appendChild(el('div', 'k', k)); c.appendChild(el('div', 'v', v)); return c; }

function act(name, what){
  fetch('/backends/' + encodeURIComponent(name) + '/' + what, { method: 'POST', headers: headers() }).then(tick);
}

function render(s){
  var now = Date.now();
  $('listen').textContent = s.listen;
  $('version').textContent = 'v' + s.version;
  $('hash').textContent = s.hash;
  $('uptime').textContent = dur(s.process.uptime_s);
  document.title = 'luaproxy ' + s.listen + ' · v' + s.version;

  var rates = {};
  s.backends.forEach(function(b){
    rates[b.name] = prev && prev.req[b.name] !== undefined ? Math.max(0, (b.requests - prev.req[b.name]) / ((now - prev.at) / 1000)) : null;
  });
  var maxRate = 0; for (var k in rates) if (rates[k] > maxRate) maxRate = rates[k];
  var up = s.backends.filter(function(b){ return b.status === 'up'; }).length;
  var total = 0; for (var k2 in rates) total += rates[k2] || 0;

  var cards = $('cards'); cards.textContent = '';
  cards.appendChild(card('Backends up', up + ' / ' + s.backends.length));
  cards.appendChild(card('Requests / s', prev ? rate(total) : '…'));
  cards.appendChild(card('In flight', s.traffic.requests_in_flight));
  cards.appendChild(card('Connections', s.traffic.client_connections));
  cards.appendChild(card('5xx since start', s.traffic.errors_total));
  cards.appendChild(card('Loop lag p99', s.process.event_loop_lag_ms.p99.toFixed(1) + ' ms'));
  cards.appendChild(card('Heap used', bytes(s.process.heap_used_bytes)));
  var handles = 0; for (var h in s.process.open_handles) handles += s.process.open_handles[h];
  cards.appendChild(card('Open handles', handles));

  fill($('backends'), s.backends.map(function(b){
    var st = td(''); st.appendChild(el('span', 'pill ' + b.status, b.status));
    if (b.last_check) st.appendChild(el('div', 'mute small', b.last_check));
    var name = td(''); name.appendChild(el('div', '', b.name)); name.appendChild(el('div', 'mute mono', b.url));
    var r = td('', 'n'); r.appendChild(el('div', '', rate(rates[b.name])));
    var bar = el('div', 'bar'); bar.style.width = (maxRate > 0 && rates[b.name] ? Math.round(100 * rates[b.name] / maxRate) : 0) + '%'; r.appendChild(bar);
    var le = td(b.last_error || '', 'err mono'); if (b.last_error_at) le.title = b.last_error_at;
    var a = td('');
    var btn = el('button', '', b.drained ? 'Enable' : 'Drain');
    btn.addEventListener('click', function(){ act(b.name, b.drained ? 'enable' : 'drain'); });
    a.appendChild(btn);
    return row([st, name, td(b.weight, 'n'), td(b.inflight, 'n'), td(b.queued, 'n'), r, td(b.requests, 'n'), td(b.failures, 'n'), td(b.ejections_total, 'n'), le, a]);
  }), 11, 'no backends in the live script');

  fill($('errors'), s.recent_errors.slice(0, 15).map(function(e){
    var what = td(''); what.appendChild(el('div', 'mono', e.method + ' ' + e.host + e.path)); if (e.detail) what.appendChild(el('div', 'mute', e.detail));
    var when = td(ago(e.at), 'mute nowrap'); when.title = e.at;
    return row([when, td(e.status, 'bad'), td(e.code || '', 'mono'), what, td(e.backend || '–')]);
  }), 5, 'no failed requests');

  fill($('reloads'), s.reload.history.slice(0, 10).map(function(r){
    var when = td(ago(r.at), 'mute nowrap'); when.title = r.at;
    var res = td(r.ok ? 'live' : 'refused', r.ok ? 'ok' : 'bad');
    var what = td(r.ok ? r.hash + (r.sampled ? ' · ' + (r.moved * 100).toFixed(1) + '% of ' + r.sampled + ' recent requests move' : '') : (r.error || r.code || ''), r.ok ? 'mono' : 'err mono');
    return row([when, td(r.trigger), res, td('v' + r.version, 'n'), what]);
  }), 5, 'no reloads since start');

  var fl = s.fleet, fbox = $('fleet');
  fbox.style.display = fl ? 'block' : 'none';
  if (fl) {
    $('fleetstate').textContent = fl.prefix + ' · ' + (fl.connected ? 'in step with etcd' : 'etcd unreachable for ' + fl.stale_s + ' s, serving on') + ' · this instance: revision ' + fl.revision + ' (' + fl.hash + ')' + (fl.from_cache ? ' from its cache' : '');
    var v = fl.view;
    fill($('instances'), (v ? v.instances : []).map(function(i){
      var r = i.last_refusal;
      return row([td(i.id, 'mono'), td(i.address, 'mono'), td(i.revision + (i.from_cache ? ' (cache)' : ''), 'n'), td(i.hash, v.published && i.hash !== v.published.hash ? 'bad mono' : 'mono'), td(ago(i.live_since), 'mute nowrap'), td(r ? 'rev ' + r.revision + ', ' + ago(r.at) + ': ' + r.error : '–', r ? 'err mono' : '')]);
    }), 6, v ? 'no instance registered' : (fl.view_error || 'no fleet view'));
    $('fleetverdict').textContent = !v ? '' : v.converged ? 'Every instance serves the version etcd holds.' : v.same_version ? 'Every instance serves the same version, but not the one etcd holds.' : 'INSTANCES DISAGREE: more than one version in service.';
  }

  var last = s.reload.last;
  var banner = $('banner');
  if (last && !last.ok) { banner.style.display = 'block'; banner.textContent = 'Last reload (' + last.trigger + ', ' + ago(last.at) + ') was refused; v' + s.version + ' keeps serving.\\n' + (last.error || last.code); }
  else banner.style.display = 'none';

  var req = {}; s.backends.forEach(function(b){ req[b.name] = b.requests; });
  prev = { at: now, req: req };
}

function tick(){
  fetch('/status', { headers: headers(), cache: 'no-store' }).then(function(res){
    if (res.status === 401) { $('auth').style.display = 'flex'; throw new Error('token needed'); }
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json();
  }).then(function(s){
    $('auth').style.display = 'none';
    render(s);
    $('dot').className = 'ok';
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }).catch(function(e){
    $('dot').className = 'bad';
    $('updated').textContent = 'cannot reach the proxy: ' + e.message;
  });
}

$('auth').addEventListener('submit', function(ev){ ev.preventDefault(); sessionStorage.setItem('lpxToken', $('token').value); tick(); });
tick();
setInterval(tick, POLL);
})();
`;

function sha256(s: string): string {
  return `'sha256-${crypto.createHash('sha256').update(s).digest('base64')}'`;
}

export const PAGE_CSP = `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; connect-src 'self'; img-src data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'`;

export const statusPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>luaproxy</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>luaproxy</h1>
  <span class="meta">listening on <b id="listen">…</b></span>
  <span class="meta">script <b id="version">…</b> <span id="hash" class="mono"></span></span>
  <span class="meta">up <b id="uptime">…</b></span>
  <span id="live"><span id="dot"></span><span id="updated">connecting…</span></span>
</header>
<main>
  <form id="auth"><span>This admin listener needs its token:</span><input id="token" type="password" autocomplete="off" placeholder="admin.token"><button type="submit">Use token</button></form>
  <div id="banner" class="banner"></div>
  <div id="cards" class="cards"></div>
  <section>
    <h2>Backends <small>request rate over the last 2 s</small></h2>
    <table>
      <thead><tr><th>Health</th><th>Backend</th><th class="n">Weight</th><th class="n">In flight</th><th class="n">Queued</th><th class="n">Req/s</th><th class="n">Requests</th><th class="n">Failures</th><th class="n">Ejections</th><th>Last error</th><th></th></tr></thead>
      <tbody id="backends"></tbody>
    </table>
  </section>
  <section id="fleet">
    <h2>Fleet <small id="fleetstate"></small></h2>
    <table><thead><tr><th>Instance</th><th>Address</th><th class="n">Revision</th><th>Hash</th><th>Live since</th><th>Last refusal</th></tr></thead><tbody id="instances"></tbody></table>
    <p id="fleetverdict" class="mute"></p>
  </section>
  <div class="cols">
    <section>
      <h2>Recent errors <small>5xx answers, newest first</small></h2>
      <table><thead><tr><th>When</th><th>Status</th><th>Code</th><th>Request</th><th>Backend</th></tr></thead><tbody id="errors"></tbody></table>
    </section>
    <section>
      <h2>Reloads <small>newest first</small></h2>
      <table><thead><tr><th>When</th><th>Trigger</th><th>Result</th><th class="n">Version</th><th>Detail</th></tr></thead><tbody id="reloads"></tbody></table>
    </section>
  </div>
</main>
<footer>Refreshes every 2 s · JSON at <a href="/status">/status</a> · Prometheus at <a href="/metrics">/metrics</a></footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
