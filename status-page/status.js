// trunkgate's status page: reads /v1/status/events (server-sent events) and
// /v1/calls/{id}/messages, and draws them. No build step, no framework.
// Everything from the network is put in the page as text, never as HTML.
'use strict';

const TOKEN_KEY = 'trunkgate.token';
const SVG = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null) continue;
    if (k === 'onclick') e.addEventListener('click', v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c === undefined || c === null ? '' : String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function headers() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

function needToken() {
  $('token-form').hidden = false;
  $('summary').textContent = 'this gateway wants its API token';
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  $('token-form').hidden = true;
  connect();
});

function time(iso) {
  return iso ? iso.slice(11, 19) : '';
}

function bar(value, limit) {
  if (limit === null || limit === undefined) return el('span', { class: 'muted' }, 'no cap');
  const ratio = limit === 0 ? 1 : Math.min(1, value / limit);
  const b = el('span', { class: ratio >= 1 ? 'bar full' : 'bar' }, el('span', { style: `width:${Math.round(ratio * 100)}%` }));
  return el('span', {}, b, `${value} / ${limit}`);
}

function fill(tableId, rows, columns) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    body.append(el('tr', { class: 'empty' }, el('td', { colspan: columns }, 'none')));
    return;
  }
  for (const r of rows) body.append(r);
}

function short(s, n = 14) {
  return s.length > n + 1 ? `${s.slice(0, n)}…` : s;
}

function callLink(id, label) {
  return el('a', { 'data-call': id, title: id, onclick: () => showLadder(id) }, label ?? short(id));
}

function outcomeText(o) {
  switch (o.kind) {
    case 'admitted':
      return o.disposition ? `admitted, ${o.disposition}` : 'admitted, in progress';
    case 'refused':
      return `${o.status} ${o.reason}`;
    case 'dropped':
      return 'dropped (no response)';
    default:
      return 'pending';
  }
}

function render(s) {
  $('summary').textContent = `${s.trunks.length} trunk(s) · ${s.activeCalls} active call(s) · ${time(s.time)}`;
  $('active-count').textContent = `(${s.activeCalls})`;
  const trunkRows = [];
  for (const t of s.trunks) {
    t.regions.forEach((r, i) => {
      trunkRows.push(
        el(
          'tr',
          { 'data-trunk': t.name, 'data-region': r.region },
          el('td', {}, i === 0 ? el('strong', {}, t.name) : '', i === 0 ? el('div', { class: 'muted' }, `${t.accountType} · ${t.route}`) : ''),
          el('td', {}, r.region === t.homeRegion ? `${r.region} (home)` : r.region),
          el('td', {}, String(r.offeredPerSecond)),
          el('td', { class: 'cps' }, bar(r.admittedPerSecond, r.cpsLimit)),
          el('td', { class: 'active' }, String(r.activeCalls)),
          el('td', {}, i === 0 ? bar(t.concurrency.active, t.concurrency.trunkCap) : ''),
          el('td', {}, i === 0 ? bar(t.concurrency.accountActive, t.concurrency.accountCap) : ''),
        ),
      );
    });
  }
  fill('trunks', trunkRows, 7);
  fill(
    'calls',
    s.calls.map((c) => el('tr', {}, el('td', {}, callLink(c.id)), el('td', {}, c.trunk), el('td', {}, c.from), el('td', {}, c.to), el('td', {}, c.state), el('td', {}, time(c.createdAt)))),
    6,
  );
  fill(
    'recent',
    s.recentCalls.map((c) => {
      const key = c.id ?? c.callIds[0];
      const status = c.outcome.kind === 'refused' ? `status-${String(c.outcome.status)[0]}` : c.outcome.kind === 'dropped' ? 'status-0' : '';
      return el('tr', {}, el('td', {}, time(c.startedAt)), el('td', {}, callLink(key, c.id === null ? `Call-ID ${short(c.callIds[0])}` : short(c.id))), el('td', {}, c.trunk ?? '—'), el('td', {}, c.from ?? ''), el('td', {}, c.to ?? ''), el('td', { class: status }, outcomeText(c.outcome)), el('td', {}, String(c.messageCount)));
    }),
    7,
  );
  fill(
    'refusals',
    s.refusals.map((r) =>
      el('tr', {}, el('td', {}, time(r.time)), el('td', { class: `status-${String(r.status)[0]}` }, r.status === 0 ? 'dropped' : String(r.status)), el('td', {}, r.reason), el('td', {}, r.trunk ?? '—'), el('td', {}, r.source), el('td', { class: 'wrap' }, callLink(r.callId, short(r.callId, 20)))),
    ),
    6,
  );
  fill(
    'alerts',
    s.alerts.map((a) => el('tr', {}, el('td', {}, time(a.time)), el('td', {}, String(a.code)), el('td', { class: 'wrap' }, a.text), el('td', {}, a.trunk ?? '—'), el('td', { class: 'wrap' }, a.detail ?? ''))),
    5,
  );
}

// ------------------------------------------------------------------ the live stream

let controller;

async function connect() {
  controller?.abort();
  controller = new AbortController();
  const live = $('live');
  try {
    const res = await fetch('/v1/status/events', { headers: headers(), signal: controller.signal });
    if (res.status === 401) {
      needToken();
      return;
    }
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
    live.classList.add('on');
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let end;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data !== '') render(JSON.parse(data));
      }
    }
  } catch (err) {
    if (err.name === 'AbortError') return;
    $('summary').textContent = `disconnected (${err.message}); retrying…`;
  }
  live.classList.remove('on');
  setTimeout(connect, 2000);
}

// ------------------------------------------------------------------ the ladder

function label(m) {
  const first = m.firstLine;
  if (first.startsWith('SIP/2.0 ')) return first.slice(8);
  return first.split(' ')[0];
}

async function showLadder(id) {
  history.replaceState(null, '', `#call=${encodeURIComponent(id)}`);
  const section = $('ladder-section');
  section.hidden = false;
  $('ladder-title').textContent = id;
  $('message-text').textContent = '';
  const res = await fetch(`/v1/calls/${encodeURIComponent(id)}/messages`, { headers: headers() });
  const body = await res.json();
  const box = $('ladder');
  box.replaceChildren();
  if (!res.ok) {
    box.append(el('p', { class: 'muted' }, body.message));
    return;
  }
  $('ladder-title').textContent = `${body.id ?? ''} ${body.callIds.join(' / ')} · ${outcomeText(body.outcome)}`;
  $('pcap-link').href = `/v1/calls/${encodeURIComponent(id)}/pcap`;
  $('pcap-link').onclick = (e) => {
    if (!sessionStorage.getItem(TOKEN_KEY)) return; // a plain link works without a token
    e.preventDefault();
    fetch(`/v1/calls/${encodeURIComponent(id)}/pcap`, { headers: headers() })
      .then((r) => r.blob())
      .then((b) => {
        const a = el('a', { href: URL.createObjectURL(b), download: `${body.id ?? 'call'}.pcap` });
        a.click();
      });
  };
  box.append(drawLadder(body.messages));
}

function drawLadder(messages) {
  // one column per address:port, in order of appearance; ours are named trunkgate
  const columns = [];
  const ours = new Set();
  const peers = new Map(); // a peer's column: PBX on leg A, carrier on leg B
  const key = (e) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);
  for (const m of messages) {
    for (const e of [m.source, m.destination]) if (!columns.includes(key(e))) columns.push(key(e));
    ours.add(key(m.direction === 'in' ? m.destination : m.source));
    const peer = key(m.direction === 'in' ? m.source : m.destination);
    if (!peers.has(peer)) peers.set(peer, m.leg === 'a' ? 'PBX' : 'carrier');
  }
  const colWidth = 270;
  const left = 90;
  const top = 50;
  const row = 30;
  const width = left + colWidth * Math.max(columns.length, 1);
  const height = top + row * messages.length + 20;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'SIP ladder' });
  const x = (c) => left + colWidth * columns.indexOf(c) + colWidth / 2;
  for (const c of columns) {
    root.append(svg('text', { x: x(c), y: 18, 'text-anchor': 'middle', 'font-weight': 'bold' }, ours.has(c) ? 'trunkgate' : (peers.get(c) ?? 'peer')));
    root.append(svg('text', { x: x(c), y: 34, 'text-anchor': 'middle', fill: '#6b7385' }, c));
    root.append(svg('line', { x1: x(c), y1: top - 8, x2: x(c), y2: height - 10, stroke: '#c5cad3', 'stroke-dasharray': '4 3' }));
  }
  const t0 = messages.length > 0 ? Date.parse(messages[0].time) : 0;
  const defs = svg('defs', {});
  for (const leg of ['a', 'b']) {
    const marker = svg('marker', { id: `head-${leg}`, markerWidth: 10, markerHeight: 8, refX: 9, refY: 4, orient: 'auto' });
    marker.append(svg('path', { d: 'M0,0 L10,4 L0,8 z', fill: leg === 'a' ? '#2563eb' : '#7c3aed' }));
    defs.append(marker);
  }
  root.append(defs);
  messages.forEach((m, i) => {
    const y = top + row * i + 16;
    const x1 = x(key(m.source));
    const x2 = x(key(m.destination));
    const colour = m.leg === 'a' ? '#2563eb' : '#7c3aed';
    const g = svg('g', { class: 'arrow', 'data-index': i, 'data-leg': m.leg });
    g.append(svg('text', { x: 4, y: y + 4, fill: '#6b7385' }, `+${((Date.parse(m.time) - t0) / 1000).toFixed(3)}s`));
    g.append(svg('line', { x1, y1: y, x2: x2 + (x2 > x1 ? -2 : 2), y2: y, stroke: colour, 'stroke-width': 1.6, 'marker-end': `url(#head-${m.leg})` }));
    g.append(svg('text', { x: (x1 + x2) / 2, y: y - 5, 'text-anchor': 'middle', fill: colour }, `${label(m)}${m.transport === 'udp' ? '' : ` (${m.transport})`}`));
    g.append(svg('rect', { x: Math.min(x1, x2), y: y - 18, width: Math.max(Math.abs(x2 - x1), 10), height: 24, fill: 'transparent' }));
    g.addEventListener('click', () => {
      for (const s of root.querySelectorAll('.arrow.selected')) s.classList.remove('selected');
      g.classList.add('selected');
      $('message-text').textContent = `${m.time}  ${m.direction === 'in' ? 'received' : 'sent'} on leg ${m.leg.toUpperCase()} over ${m.transport}, ${key(m.source)} -> ${key(m.destination)}\n\n${m.text}`;
    });
    root.append(g);
  });
  return root;
}

$('ladder-close').addEventListener('click', () => {
  $('ladder-section').hidden = true;
  history.replaceState(null, '', '#');
});

const wanted = /^#call=(.+)$/.exec(location.hash);
if (wanted) showLadder(decodeURIComponent(wanted[1]));
connect();
