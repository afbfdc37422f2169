const $ = (id) => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
function row(cells) { const tr = el('tr'); for (const c of cells) tr.append(c instanceof Node ? c : el('td', c)); return tr; }
function table(id, head, rows, empty) {
  const t = $(id); t.replaceChildren(row(head.map((h) => el('th', h))));
  if (!rows.length) t.append(row([Object.assign(el('td', empty, 'mute'), {colSpan: head.length})]));
  for (const r of rows) t.append(r);
}
const ago = (s) => s < 60 ? s.toFixed(0) + ' s' : s < 3600 ? (s / 60).toFixed(0) + ' min' : (s / 3600).toFixed(1) + ' h';
const client = (c) => c ? `${c.name ?? '?'} ${c.version ?? ''}` : '?';
const outcome = (o) => el('td', o, o === 'ok' ? 'ok' : 'bad');
function render(d) {
  $('uptime').textContent = 'up ' + ago(d.uptime);
  $('count').textContent = d.sessionCount + ' legacy sessions, ' + d.modernInFlight + ' modern requests in flight';
  table('sessions', ['session', 'era', 'version', 'client', 'age', 'in flight', 'streams'],
    d.sessions.map((s) => row([s.id.slice(0, 12), s.era, s.version ?? '-', client(s.client), ago(s.age),
      el('td', s.inFlight, 'num'), el('td', s.streams, 'num')])), 'no session');
  table('modern', ['client (2026-07-28, stateless)', 'last request'],
    d.modernClients.map((m) => row([client(m.client), ago(m.lastSeen) + ' ago'])), 'no modern client yet');
  table('recent', ['when', 'method', 'tool', 'era', 'session', 'ms', 'outcome'],
    d.recent.map((r) => row([new Date(r.at * 1000).toLocaleTimeString(), r.method, r.tool ?? '',
      r.era, (r.session ?? '').slice(0, 8), el('td', r.ms.toFixed(1), 'num'), outcome(r.outcome)])), 'no request yet');
  const top = Math.max(1, ...d.tools.map((t) => t.p95));
  table('tools', ['tool', 'calls', 'p50 ms', 'p95 ms', ''], d.tools.map((t) => {
    const track = el('td', null, 'track'), bar = el('div', null, 'bar');
    bar.style.width = (100 * t.p95 / top).toFixed(1) + '%'; bar.title = `p95 ${t.p95} ms`; track.append(bar);
    return row([t.tool, el('td', t.calls + (t.failures ? ` (${t.failures} failed)` : ''), 'num'),
      el('td', t.p50.toFixed(1), 'num'), el('td', t.p95.toFixed(1), 'num'), track]);
  }), 'no tool call yet');
  const ev = $('events'); ev.replaceChildren();
  if (d.eventLog.bytes !== undefined) {
    const pct = 100 * d.eventLog.bytes / d.eventLog.maxBytes, meter = el('div', null, 'meter'), fill = el('div');
    fill.style.width = Math.min(100, pct).toFixed(2) + '%'; meter.append(fill); const gauge = el('dd'); gauge.append(meter);
    ev.append(el('dt', 'bytes'), el('dd', `${d.eventLog.bytes} of ${d.eventLog.maxBytes} (${pct.toFixed(2)}%)`),
      el('dt', 'used'), gauge,
      el('dt', 'streams'), el('dd', d.eventLog.streams), el('dt', 'max age'), el('dd', d.eventLog.maxAge + ' s'));
  } else ev.append(el('dt', 'store'), el('dd', 'shared (not reported here)'));
  const tasks = Object.entries(d.tasks);
  table('tasks', ['state', 'tasks'], tasks.map(([s, n]) => row([s, el('td', n, 'num')])), 'no task seen');
  $('status').textContent = 'live'; $('status').className = 'ok';
}
async function poll() {
  try { const r = await fetch('status.json', {cache: 'no-store'}); if (!r.ok) throw new Error('HTTP ' + r.status);
    render(await r.json()); }
  catch (e) { $('status').textContent = 'disconnected: ' + e.message; $('status').className = 'bad'; }
  setTimeout(poll, 1000);
}
poll();
