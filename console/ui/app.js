// The console's single page: a router over history paths, one view per page, and a watch stream
// that keeps the open list or detail live. Everything from the server is put in the page with
// textContent (never as markup).
import { api, stream, token, setToken, ApiError } from './api.js';
import { renderDag } from './dag.js';

const main = document.getElementById('main');
let leave = () => {};  // ends the current view's streams

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function say(text) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.hidden = !text;
  if (text) setTimeout(() => { if (s.textContent === text) s.hidden = true; }, 4000);
}

function phaseBadge(phase) {
  return h('span', { class: 'badge phase-' + String(phase || 'Pending').toLowerCase() },
    phase || 'Pending');
}

function go(path, replace) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  route();
}

function page(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...content);
  document.title = title + ' · Agentry console';
  main.focus();
}

function failure(e) {
  if (e instanceof ApiError && e.status === 401) {
    stopLive();
    setToken('');
    go('/login', true);
    return;
  }
  main.append(h('p', { class: 'error', role: 'alert' }, e.message || String(e)));
}

// Live: one watch stream for the whole session (every kind), however many pages are opened, so a
// tab holds one of the user's stream slots (the server caps them) rather than one per page
// visited. The current page subscribes from the revision of its own list; the last changes are
// kept so one that came in before the page subscribed still reaches it, and a page whose revision
// is older than what is kept lists again.
const live = { ctl: null, rev: 0, oldest: 0, recent: [], sub: null };
const KEEP = 1000;

function startLive(since) {
  if (live.ctl) return;
  live.ctl = new AbortController();
  live.rev = since;
  live.oldest = since;
  const ctl = live.ctl;
  (async () => {
    try {
      await stream('GET', `/watch?since=${live.rev}`, undefined, (name, data) => {
        if (name === 'resync') { stopLive(); route(); return; }  // the page lists, then watches
        if (name !== 'change') return;
        live.rev = data.revision;
        live.recent.push(data);
        if (live.recent.length > KEEP) live.oldest = live.recent.shift().revision;
        const s = live.sub;
        if (s && data.revision > s.since && s.kinds.includes(data.kind)) s.fn(data);
      }, ctl.signal);
    } catch (e) { /* ended or aborted: below */ }
    if (live.ctl !== ctl) return;  // stopped on purpose (logout)
    live.ctl = null;
    if (token()) setTimeout(() => { if (!live.ctl) { startLive(live.rev); route(); } }, 2000);
  })();
}

function stopLive() {
  if (live.ctl) live.ctl.abort();
  live.ctl = null;
  live.recent = [];
  live.sub = null;
}

// onChange for each change of kinds after revision, while this page is open; returns its leave.
function watch(revision, kinds, onChange) {
  if (!live.ctl) startLive(revision);
  if (revision < live.oldest) { setTimeout(route, 0); return () => {}; }  // too old: list again
  const sub = { since: revision, kinds: kinds.split(','), fn: onChange };
  live.sub = sub;
  for (const c of live.recent) if (c.revision > revision && sub.kinds.includes(c.kind)) onChange(c);
  return () => { if (live.sub === sub) live.sub = null; };
}

// --- pages ---------------------------------------------------------------------------------

function loginPage() {
  document.querySelector('header.top').hidden = true;
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const form = h('form', { class: 'login', 'aria-describedby': 'login-error' },
    h('label', { for: 'username' }, 'User name'),
    h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true }),
    h('label', { for: 'password' }, 'Password'),
    h('input', { id: 'password', name: 'password', type: 'password',
      autocomplete: 'current-password', required: true }),
    h('button', { type: 'submit' }, 'Log in'),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      const r = await api('POST', '/auth/login',
        { username: form.username.value, password: form.password.value });
      setToken(r.access_token);
      document.getElementById('who').textContent = r.user;
      go('/agents', true);
    } catch (e) {
      err.textContent = e.message;
    }
  });
  page('Log in to Agentry', form);
  form.username.focus();
}

async function agentsPage() {
  const tbody = h('tbody');
  const table = h('table', { class: 'list', id: 'agents' },
    h('caption', { class: 'sr-only' }, 'Agents'),
    h('thead', {}, h('tr', {}, ['Agent', 'Namespace', 'Phase', 'Ready', 'Replicas', 'Model',
      'Policy'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);
  page('Agents', h('p', {}, h('a', { href: '/create', 'data-nav': true }, 'Create an agent')),
    h('div', { class: 'scroll' }, table));
  const rows = new Map();
  const row = (a) => h('tr', { 'data-id': a.id, 'data-phase': a.phase },
    h('th', { scope: 'row' }, h('a', { href: '/agents/' + a.id, 'data-nav': true }, a.displayName)),
    h('td', {}, a.namespace), h('td', {}, phaseBadge(a.phase)), h('td', {}, a.ready || '—'),
    h('td', {}, `${a.readyReplicas}/${a.replicas}`), h('td', {}, `${a.provider}/${a.model}`),
    h('td', {}, a.policy || '—'));
  const put = (a) => {
    const r = row(a);
    if (rows.has(a.id)) rows.get(a.id).replaceWith(r); else tbody.append(r);
    rows.set(a.id, r);
  };
  try {
    const list = await api('GET', '/agents?limit=500');
    list.items.forEach(put);
    if (!list.items.length) tbody.append(h('tr', {}, h('td', { colspan: 7 }, 'No agents yet.')));
    leave = watch(list.revision, 'agent', (c) => {
      if (c.type === 'DELETED') { rows.get(c.object.id)?.remove(); rows.delete(c.object.id); }
      else put(c.object);
    });
  } catch (e) { failure(e); }
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function conditionsTable(conds) {
  return h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, ['Type', 'Status', 'Reason', 'Message'].map((c) =>
      h('th', { scope: 'col' }, c)))),
    h('tbody', {}, (conds || []).map((c) => h('tr', {}, h('td', {}, c.type),
      h('td', {}, c.status), h('td', {}, c.reason || ''), h('td', {}, c.message || '')))));
}

function ratio(hits, misses) {
  const n = (hits || 0) + (misses || 0);
  return n ? `${hits} hits, ${misses} misses (${Math.round((100 * hits) / n)}% hit)` : 'no lookups yet';
}

function sidecarCache(sc) {
  if (!sc || !sc.cache) return h('p', { id: 'sidecar-figures' }, (sc && sc.error) || 'No figures.');
  const c = sc.cache;
  const rows = [['L1', ratio(c.l1?.hits, c.l1?.misses)],
    ['L1 entries', `${c.l1?.entries ?? 0} of ${c.l1?.maxEntries ?? '—'}`]];
  if (c.l2 && c.l2.configured) rows.push(['L2 (Redis)', ratio(c.l2.hits, c.l2.misses) + (c.l2.up ? '' : ' — down')]);
  else rows.push(['L2 (Redis)', 'not configured']);
  if (c.degraded) rows.push(['State', 'degraded']);
  const d = kv(rows);
  d.id = 'sidecar-figures';
  return d;
}

function chatPanel(id) {
  const log = h('div', { class: 'chat-log', id: 'chat-log', 'aria-live': 'polite' });
  const input = h('textarea', { id: 'chat-input', rows: 2, required: true });
  const send = h('button', { type: 'submit' }, 'Send');
  const sessionId = 'console-' + Math.random().toString(36).slice(2, 10);
  const form = h('form', { class: 'chat' }, h('label', { for: 'chat-input' }, 'Message'), input,
    send);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    log.append(h('p', { class: 'msg user' }, text));
    const answer = h('p', { class: 'msg agent', 'data-state': 'streaming' });
    log.append(answer);
    send.disabled = true;
    try {
      await stream('POST', `/agents/${id}/chat`, { input: text, sessionId }, (name, data) => {
        if (name === 'delta' && data.content) answer.textContent += data.content;
        if (name === 'done') {
          if (!answer.textContent && data.output) answer.textContent = data.output;
          if (data.state && data.state !== 'succeeded')
            answer.textContent += ` [${data.state}${data.error ? ': ' + data.error.message : ''}]`;
          answer.dataset.state = data.state || 'done';
        }
        if (name === 'error') { answer.textContent = data.message; answer.dataset.state = 'error'; }
      });
      if (answer.dataset.state === 'streaming') answer.dataset.state = 'done';
    } catch (e) {
      answer.textContent = e.message;
      answer.dataset.state = 'error';
    } finally {
      send.disabled = false;
    }
  });
  return h('section', { 'aria-labelledby': 'chat-h' }, h('h2', { id: 'chat-h' }, 'Chat'), log, form);
}

// The parts of the agent page a change of the Agent updates in place (the chat keeps its state).
function agentSummary(a) {
  const phase = phaseBadge(a.phase);
  phase.id = 'agent-phase';
  const d = kv([['Phase', phase], ['Ready', a.ready || '—'],
    ['Replicas', `${a.readyReplicas}/${a.replicas}`], ['Model', `${a.provider}/${a.model}`],
    ['Policy', a.policy || '—'], ['Template', a.template || '—'], ['Namespace', a.namespace]]);
  d.id = 'agent-summary';
  return d;
}

function loadFigures(id) {
  api('GET', `/agents/${id}/figures`).then((f) => {
    document.getElementById('sidecar-figures')?.replaceWith(sidecarCache(f));
  }, (e) => {
    const p = document.getElementById('sidecar-figures');
    if (p) p.textContent = e.message;
  });
}

async function agentPage(id) {
  try {
    const a = await api('GET', '/agents/' + id);
    const memory = (a.status && a.status.memory) || null;
    const scaling = a.autoscaling;
    const conditions = h('div', { id: 'agent-conditions' }, conditionsTable(a.conditions));
    page(a.displayName,
      agentSummary(a),
      h('h2', {}, 'Conditions'), conditions,
      h('h2', {}, 'Scaling'),
      scaling ? kv([['Range', `${scaling.minReplicas ?? '—'}–${scaling.maxReplicas ?? '—'} replicas`],
        ['Current', scaling.currentReplicas ?? '—'], ['Desired', scaling.desiredReplicas ?? '—'],
        ['Metrics', scaling.metrics || '—'], ['Last scaled', scaling.lastScaleTime || '—']])
        : h('p', {}, 'Autoscaling is off, or its HPA has not reported yet.'),
      h('h2', {}, 'Memory'),
      memory ? kv([['Facts', `${memory.facts ?? 0} of ${memory.factsBound ?? '—'} (${memory.factsPercent ?? 0}%)`],
        ['Exchanges', `${memory.exchanges ?? 0} of ${memory.exchangesBound ?? '—'} (${memory.exchangesPercent ?? 0}%)`],
        ['Evicted', Object.entries(memory.evictions || {}).map(([k, v]) => `${k} ${v}`).join(', ') || '0'],
        ['Refused (full)', memory.refusedFull ?? 0], ['Observed', memory.observedAt || '—']])
        : h('p', {}, 'No memory figures yet (the operator reads them from a Ready sidecar).'),
      h('h2', {}, 'Cache (one sidecar, now)'),
      h('p', { id: 'sidecar-figures' }, 'Asking the sidecar…'),
      h('h2', {}, 'Events'),
      h('ul', { class: 'events' }, (a.events || []).map((e) =>
        h('li', { class: 'event-' + String(e.type).toLowerCase() },
          `${e.lastTimestamp ? e.lastTimestamp + ' ' : ''}${e.reason}: ${e.message}` +
          (e.count > 1 ? ` (×${e.count})` : '')))),
      chatPanel(a.id),
      h('p', {}, h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete agent ${a.id}?`)) return;
        try { await api('DELETE', '/agents/' + a.id); say('Deleting ' + a.id); go('/agents'); }
        catch (e) { say(e.message); }
      } }, 'Delete agent')));
    loadFigures(a.id);
    let phase = a.phase;
    leave = watch(a.revision, 'agent', (c) => {
      if (c.object.id !== a.id) return;
      if (c.type === 'DELETED') { say(`${a.id} was deleted`); go('/agents'); return; }
      document.getElementById('agent-summary')?.replaceWith(agentSummary(c.object));
      conditions.replaceChildren(conditionsTable(c.object.conditions));
      if (c.object.phase === 'Ready' && phase !== 'Ready') {
        const p = document.querySelector('#sidecar-figures');
        if (p) { p.replaceWith(h('p', { id: 'sidecar-figures' }, 'Asking the sidecar…')); loadFigures(a.id); }
      }
      phase = c.object.phase;
    });
  } catch (e) { page('Agent ' + id); failure(e); }
}

async function createPage() {
  try {
    const t = await api('GET', '/templates');
    const err = h('p', { class: 'error', role: 'alert' });
    const field = (id, label, attrs) => [h('label', { for: id }, label),
      h('input', Object.assign({ id, name: id }, attrs || {}))];
    const form = h('form', { class: 'create' },
      h('label', { for: 'template' }, 'Template'),
      h('select', { id: 'template', name: 'template' },
        t.items.map((x) => h('option', { value: x.name }, `${x.name} — ${x.description}`))),
      ...field('name', 'Name', { required: true, placeholder: 'My agent' }),
      ...field('namespace', 'Namespace', { value: 'default', required: true }),
      h('label', { for: 'llm_provider' }, 'LLM provider'),
      h('select', { id: 'llm_provider', name: 'llm_provider' },
        h('option', { value: 'ollama' }, 'ollama'), h('option', { value: 'openai' }, 'openai')),
      ...field('model', 'Model', { value: 'llama3.2', required: true }),
      ...field('endpoint', 'Endpoint (optional)', { type: 'url', placeholder: 'http://ollama:11434' }),
      ...field('api_key_secret', 'API key Secret (optional; key api-key)', { placeholder: 'llm-key' }),
      h('button', { type: 'submit' }, 'Create'), err);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const config = { llm_provider: form.llm_provider.value, model: form.model.value };
      if (form.endpoint.value) config.endpoint = form.endpoint.value;
      if (form.api_key_secret.value) config.api_key_secret = form.api_key_secret.value;
      try {
        const a = await api('POST', '/agents', { name: form.name.value,
          namespace: form.namespace.value, template: form.template.value, config });
        say('Created ' + a.id);
        go('/agents/' + a.id);
      } catch (e) { err.textContent = e.message; }
    });
    page('Create an agent', form);
  } catch (e) { page('Create an agent'); failure(e); }
}

async function workflowsPage() {
  const tbody = h('tbody');
  page('Workflows', h('div', { class: 'scroll' }, h('table', { class: 'list', id: 'workflows' },
    h('thead', {}, h('tr', {}, ['Workflow', 'Namespace', 'Phase', 'Progress', 'Started']
      .map((c) => h('th', { scope: 'col' }, c)))), tbody)));
  const rows = new Map();
  const put = (w) => {
    const r = h('tr', { 'data-id': w.id },
      h('th', { scope: 'row' }, h('a', { href: '/workflows/' + w.id, 'data-nav': true }, w.name)),
      h('td', {}, w.namespace), h('td', {}, phaseBadge(w.phase)), h('td', {}, w.progress || ''),
      h('td', {}, w.startedAt || ''));
    if (rows.has(w.id)) rows.get(w.id).replaceWith(r); else tbody.append(r);
    rows.set(w.id, r);
  };
  try {
    const list = await api('GET', '/workflows?limit=500');
    list.items.forEach(put);
    leave = watch(list.revision, 'workflow', (c) => {
      if (c.type === 'DELETED') { rows.get(c.object.id)?.remove(); rows.delete(c.object.id); }
      else put(c.object);
    });
  } catch (e) { failure(e); }
}

async function workflowPage(id) {
  try {
    const w = await api('GET', '/workflows/' + id);
    const dag = h('div', { class: 'dag-wrap', id: 'dag' }, renderDag(w.steps));
    const phase = h('span', { id: 'workflow-phase' }, phaseBadge(w.phase));
    const steps = h('tbody');
    const fillSteps = (list) => steps.replaceChildren(...list.map((s) => h('tr', {},
      h('th', { scope: 'row' }, s.name), h('td', {}, phaseBadge(s.phase)), h('td', {}, s.agent),
      h('td', {}, s.attempts || 0), h('td', {}, s.message || (s.output || '').slice(0, 200)))));
    fillSteps(w.steps);
    const act = (verb) => async () => {
      try { await api('POST', `/workflows/${w.id}/${verb}`); say(`${verb}: ${w.id}`); }
      catch (e) { say(e.message); }
    };
    page(w.name, kv([['Phase', phase], ['Namespace', w.namespace], ['Started', w.startedAt || '—'],
      ['Finished', w.finishedAt || '—']]), dag,
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Step', 'Phase', 'Agent',
        'Attempts', 'Output / message'].map((c) => h('th', { scope: 'col' }, c)))), steps),
      h('p', {}, h('button', { type: 'button', onclick: act('cancel') }, 'Cancel (suspend)'), ' ',
        h('button', { type: 'button', onclick: act('resume') }, 'Resume')));
    leave = watch(w.revision, 'workflow', (c) => {
      if (c.object.id !== w.id) return;
      dag.replaceChildren(renderDag(c.object.steps));
      phase.replaceChildren(phaseBadge(c.object.phase));
      fillSteps(c.object.steps);
    });
  } catch (e) { page('Workflow ' + id); failure(e); }
}

async function policiesPage() {
  try {
    const list = await api('GET', '/policies');
    page('Policies', h('div', { class: 'scroll' }, h('table', { class: 'list', id: 'policies' },
      h('thead', {}, h('tr', {}, ['Policy', 'CPU target', 'Memory target', 'Description']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.items.map((p) => {
        const a = (p.spec && p.spec.autoscaling) || {};
        return h('tr', {}, h('th', { scope: 'row' }, p.name),
          h('td', {}, a.targetCPUUtilizationPercentage ?? '—'),
          h('td', {}, a.targetMemoryUtilizationPercentage ?? '—'), h('td', {}, p.description || ''));
      })))));
  } catch (e) { page('Policies'); failure(e); }
}

// --- routing -------------------------------------------------------------------------------

async function route() {
  leave();
  leave = () => {};
  const path = location.pathname;
  if (!token() && path !== '/login') return go('/login', true);
  if (path === '/login') return loginPage();
  document.querySelector('header.top').hidden = false;
  for (const a of document.querySelectorAll('nav a'))
    a.setAttribute('aria-current', path.startsWith(a.getAttribute('href')) ? 'page' : 'false');
  let m;
  if ((m = path.match(/^\/agents\/([^/]+\/[^/]+)$/))) return agentPage(m[1]);
  if ((m = path.match(/^\/workflows\/([^/]+\/[^/]+)$/))) return workflowPage(m[1]);
  if (path === '/workflows') return workflowsPage();
  if (path === '/policies') return policiesPage();
  if (path === '/create') return createPage();
  return agentsPage();
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-nav]');
  if (!a || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);
document.getElementById('logout').addEventListener('click', async () => {
  stopLive();
  try { await api('POST', '/auth/logout'); } catch { /* the session may be gone already */ }
  setToken('');
  go('/login', true);
});

(async () => {
  if (token()) {
    try {
      const me = await api('GET', '/auth/whoami');
      document.getElementById('who').textContent = me.user;
    } catch { setToken(''); }
  }
  route();
})();
