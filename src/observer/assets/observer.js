/* global document, Node, location, window, sessionStorage, fetch, EventSource */
// The observer page: plain ES module, no build step, no network beyond its own server.
// Live data comes over Server-Sent Events (/api/stream, /api/entity/stream), pushed on change.

const $ = (selector) => document.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
};
const show = (value) => (typeof value === 'string' ? value : JSON.stringify(value));

// ── tabs ──────────────────────────────────────────────────────────────────────────────────────
function openTab(name) {
  for (const section of document.querySelectorAll('.tab')) section.hidden = section.id !== `tab-${name}`;
  for (const link of document.querySelectorAll('nav a[data-tab]')) link.classList.toggle('active', link.dataset.tab === name);
}
function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith('entity=')) {
    openTab('entity');
    inspect(hash.slice('entity='.length));
  } else if (hash.startsWith('audit=')) {
    openTab('audit');
    audit(hash.slice('audit='.length));
  } else openTab(['tree', 'cluster', 'dlq', 'entity', 'audit'].includes(hash) ? hash : 'tree');
}
window.addEventListener('hashchange', route);

// ── admin actions: the token travels with each request, and is kept for this tab only ────────
const tokenInput = $('#token');
tokenInput.value = sessionStorage.getItem('governor-admin-token') ?? '';
tokenInput.addEventListener('change', () => sessionStorage.setItem('governor-admin-token', tokenInput.value));

function notice(text, code) {
  const box = $('#notice');
  box.hidden = false;
  box.textContent = text;
  box.classList.toggle('refused', code !== undefined);
  box.dataset.code = code ?? '';
}

async function act(command, args) {
  const headers = { 'content-type': 'application/json' };
  if (tokenInput.value) headers['x-governor-admin-token'] = tokenInput.value;
  const response = await fetch('/api/action', { method: 'POST', headers, body: JSON.stringify({ command, args }) });
  const reply = await response.json();
  if (reply.ok) notice(`${command}(${args.map(show).join(', ')}): ${show(reply.value)}`);
  else notice(`${reply.code.startsWith('ADMIN_') ? 'refused' : 'failed'}: ${reply.code} — ${reply.message}`, reply.code);
  return reply;
}

// ── the supervision tree ──────────────────────────────────────────────────────────────────────
const lastPids = new Map();

function renderProcess(proc, parent, path) {
  const key = `${path}/${proc.name ?? proc.id}/${proc.pid ?? ''}`;
  const item = el('li', { class: 'proc', 'data-id': proc.id, 'data-name': proc.name ?? '', 'data-pid': proc.pid ?? '', 'data-kind': proc.kind, 'data-restarts': proc.restarts });
  const label = proc.name?.startsWith('entity:')
    ? el('a', { class: 'id entity', href: `#entity=${encodeURIComponent(proc.name.slice('entity:'.length))}` }, proc.name.slice('entity:'.length))
    : proc.kind === 'statem' && proc.pid
      ? el('a', { class: 'id', href: `#entity=${encodeURIComponent(proc.pid)}` }, proc.name && proc.name !== proc.id ? `${proc.id} (${proc.name})` : proc.id)
      : el('span', { class: 'id' }, proc.name && proc.name !== proc.id ? `${proc.id} (${proc.name})` : proc.id);
  const row = el(
    'div',
    { class: 'row' },
    label,
    el('span', { class: 'kind muted' }, proc.kind),
    el('span', { class: 'pid' }, proc.pid ?? '—'),
    el('span', { class: `restarts${proc.restarts > 0 ? ' some' : ''}` }, `restarts ${proc.restarts}`),
    proc.stateValue === null ? null : el('span', { class: 'state' }, show(proc.stateValue)),
  );
  // As in OTP, restart_child starts a child that is not running: so terminate_child, then
  // restart_child, each a signed request (not for simple_one_for_one's children, which have no id).
  if (parent && parent.stateValue !== 'simple_one_for_one' && proc.pid) {
    row.append(el('button', { class: 'restart', onclick: async () => (await act('terminate_child', [parent.pid, proc.id])).ok && act('restart_child', [parent.pid, proc.id]) }, 'restart'));
  }
  if (proc.kind === 'statem' && proc.pid) {
    row.append(el('button', { class: 'suspend', onclick: () => act('suspend', [proc.pid]) }, 'suspend'));
    row.append(el('button', { class: 'resume', onclick: () => act('resume', [proc.pid]) }, 'resume'));
  }
  item.append(row);
  // A new pid in the same place: a restart; flashed so a person sees it.
  const before = lastPids.get(`${path}/${proc.name ?? proc.id}`);
  if (before !== undefined && before !== proc.pid) item.classList.add('flash');
  lastPids.set(`${path}/${proc.name ?? proc.id}`, proc.pid);
  if (proc.children?.length) item.append(el('ul', {}, ...proc.children.map((child) => renderProcess(child, proc, key))));
  return item;
}

function renderTree(reply) {
  const root = $('#tree');
  if (!reply.ok) {
    root.replaceChildren(el('li', { class: 'error' }, `${reply.code}: ${reply.message}`));
    return;
  }
  root.replaceChildren(renderProcess(reply.value, undefined, ''));
}

// ── the cluster ───────────────────────────────────────────────────────────────────────────────
function renderNodes(reply) {
  const body = $('#nodes tbody');
  if (!reply.ok) return body.replaceChildren(el('tr', {}, el('td', { colspan: 4, class: 'error' }, reply.message)));
  body.replaceChildren(
    ...reply.value.map((node) => {
      const { name, alive, partitions, ...rest } = node;
      return el('tr', { 'data-node': name }, el('td', {}, name), el('td', { class: alive ? 'ok' : 'broken' }, alive ? 'alive' : 'gone'), el('td', {}, Array.isArray(partitions) ? partitions.join(', ') : '—'), el('td', {}, el('pre', {}, JSON.stringify(rest, null, 1))));
    }),
  );
}

// ── dead letters ──────────────────────────────────────────────────────────────────────────────
function renderDlq(reply) {
  const body = $('#dlq tbody');
  $('#dlq-error').hidden = reply.ok;
  if (!reply.ok) {
    $('#dlq-error').textContent = reply.message;
    return body.replaceChildren();
  }
  body.replaceChildren(
    ...reply.value.map((letter) =>
      el(
        'tr',
        { class: 'letter', 'data-id': letter.id },
        el('td', { class: 'letter-id' }, letter.id),
        el('td', { class: 'reason' }, letter.reason),
        el('td', {}, letter.queue),
        el('td', {}, letter.node),
        el('td', {}, new Date(letter.at).toISOString()),
        el('td', {}, el('pre', {}, JSON.stringify(letter.data, null, 1))),
        el('td', {}, el('button', { class: 'replay', onclick: () => act('dlq_replay', [letter.id]) }, 'replay')),
      ),
    ),
  );
}

// ── one actor or entity ───────────────────────────────────────────────────────────────────────
let entityStream;
let drawnKind;

async function inspect(ref) {
  $('#entity-ref').value = ref;
  entityStream?.close();
  $('#entity-trace').replaceChildren();
  $('#entity-error').hidden = true;
  let lastCurrent;
  entityStream = new EventSource(`/api/entity/stream?ref=${encodeURIComponent(ref)}`);
  entityStream.addEventListener('entity', async (message) => {
    const reply = JSON.parse(message.data);
    if (!reply.ok) {
      $('#entity').hidden = true;
      $('#entity-error').hidden = false;
      $('#entity-error').textContent = `${reply.code}: ${reply.message}`;
      return;
    }
    const view = reply.value;
    $('#entity').hidden = false;
    $('#entity-error').hidden = true;
    $('#entity-title').textContent = view.ref;
    $('#entity-current').textContent = view.current ?? show(view.state?.value);
    $('#entity-resident').textContent = view.state?.resident ? `resident on ${view.state.resident}` : 'not in memory: its committed state';
    $('#entity-context').textContent = JSON.stringify(view.state?.context ?? view.state, null, 2);
    const status = view.status ?? {};
    const stats = { status: status.status, version: view.state?.version, mailbox: status.statistics?.mailboxLength, ...(status.statistics ?? {}), timers: status.timers?.length, postponed: status.postponed };
    $('#entity-stats').replaceChildren(...Object.entries(stats).filter(([, v]) => v !== undefined).flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-stat': k }, show(v))]));
    if (view.kind && view.kind !== drawnKind) {
      const svg = await fetch(`/api/machine?kind=${encodeURIComponent(view.kind)}`);
      $('#machine').innerHTML = svg.ok ? await svg.text() : '';
      drawnKind = view.kind;
    }
    for (const state of document.querySelectorAll('#machine g.state')) state.classList.toggle('current', state.dataset.state === view.current);
    if (view.current !== lastCurrent) {
      $('#entity-trace').append(el('li', {}, `${new Date().toISOString()} → ${view.current} (version ${view.state?.version ?? '?'})`));
      lastCurrent = view.current;
    }
  });
}

$('#entity-form').addEventListener('submit', (event) => {
  event.preventDefault();
  location.hash = `entity=${encodeURIComponent($('#entity-ref').value.trim())}`;
});

// ── a customer's audit trail ──────────────────────────────────────────────────────────────────
async function audit(customer) {
  $('#audit-customer').value = customer;
  const reply = await (await fetch(`/api/audit?customer=${encodeURIComponent(customer)}`)).json();
  const status = $('#audit-status');
  if (!reply.ok) {
    status.className = 'broken';
    status.textContent = `${reply.code}: ${reply.message}`;
    return;
  }
  const { verification, receipts } = reply.value;
  status.className = verification.ok ? 'ok' : 'broken';
  status.dataset.ok = String(verification.ok);
  status.textContent = verification.ok
    ? `chain of ${customer} verified: ${verification.length ?? receipts.length} receipt(s)${verification.found === false ? ' (no receipts yet)' : ''}`
    : `chain of ${customer} does NOT verify: ${JSON.stringify(verification)}`;
  $('#audit tbody').replaceChildren(
    ...receipts.map((receipt, i) => {
      const entry = receipt.entry ?? {};
      const outcomes = (entry.outcomes ?? []).map((o) => `${o.governor}: ${o.outcome}${o.reasonCode ? ` (${o.reasonCode})` : ''}`).join(', ');
      return el('tr', { class: 'receipt' }, el('td', {}, receipt.seq ?? i), el('td', {}, entry.eventId ?? ''), el('td', {}, entry.type ?? ''), el('td', {}, entry.committedAt ? new Date(entry.committedAt).toISOString() : ''), el('td', { class: 'outcomes' }, outcomes), el('td', {}, el('code', { title: receipt.hash }, String(receipt.hash ?? '').slice(0, 16))));
    }),
  );
}

$('#audit-form').addEventListener('submit', (event) => {
  event.preventDefault();
  location.hash = `audit=${encodeURIComponent($('#audit-customer').value.trim())}`;
});

// ── start ─────────────────────────────────────────────────────────────────────────────────────
const overview = await (await fetch('/api/overview')).json();
$('#title').textContent = overview.title;
$('#queues-link').hidden = !overview.queues;
const stream = new EventSource('/api/stream');
stream.addEventListener('open', () => {
  $('#live').textContent = 'live';
  $('#live').classList.add('live');
});
stream.addEventListener('error', () => {
  $('#live').textContent = 'reconnecting…';
  $('#live').classList.remove('live');
});
stream.addEventListener('tree', (message) => renderTree(JSON.parse(message.data)));
stream.addEventListener('nodes', (message) => renderNodes(JSON.parse(message.data)));
stream.addEventListener('dlq', (message) => renderDlq(JSON.parse(message.data)));
route();
