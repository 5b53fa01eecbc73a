/*
 * Penstock live dashboard (/ui).
 *
 * Polls GET /ui/api/state once a second and renders: the header (uptime, a live indicator, the
 * time of the last snapshot), summary tiles, the deployments grouped by model with their RPM/TPM
 * use, four canvas charts of the last five minutes and the recent errors. Plain ES2020, no
 * framework, no build step, nothing fetched from anywhere but the gateway.
 *
 * Data contract (contracts/ui-state.md); every field may be missing and every list empty:
 *   { time_ms, uptime_s, version,
 *     deployments: [{ name, model, state: enabled|disabled|draining|drained,
 *                     circuit: closed|half_open|open, rpm_limit, rpm_used, tpm_limit, tpm_used,
 *                     in_flight, cooldown_ms, requests_total, errors_total }],
 *     queue: { depth: { high, normal, low }, wait_p95_ms },
 *     totals: { requests, errors, error_rate, tokens_in, tokens_out, upstream_429, retries, rejected },
 *     series: [{ t (epoch s), requests, errors, tokens, latency_mean_ms, latency_p95_ms,
 *                queue_wait_p95_ms, queue_depth }],          // one per second, oldest first, <= 300
 *     keys: [{ id, name, spend_usd_today, requests, rate_limited }],
 *     cache: { enabled, entries, bytes, max_bytes, hits, semantic_hits, misses, bypasses, hit_rate,
 *              saved_tokens, saved_usd, redis: { configured, healthy, errors } },
 *     recent_errors: [{ time_ms, request_id, model, deployment, status, code, message }],
 *     batches: [{ id, status, endpoint, created_at (epoch s), owner: { id, name } | null,
 *                 request_counts: { total, completed, failed },
 *                 progress: { pending, claimed, done, failed, lines_per_minute, eta_seconds } }] }
 *                 // the unfinished batches and those finished in the last hour; the Batches panel
 *                 // is hidden while the field is absent (a gateway without the Batch API)
 *
 * Auth: with an admin key configured the state needs "Authorization: Bearer <key>". The key comes
 * from #key=... in the URL (read once, stored, removed from the location) or from the form shown
 * on a 401, and is kept in sessionStorage.
 *
 * Test hooks: body[data-ready="true"] after the first successful render; window.__penstockState
 * holds the last state received; each deployment row has data-deployment="<name>"; each error row
 * has data-error-row; each batch row has data-batch="<id>" and its progress bar data-done,
 * data-failed and data-pending (percent of the total, as drawn); the canvases
 * #chart-throughput, #chart-latency, #chart-queue and #chart-tokens draw their primary series in
 * exactly rgb(37, 99, 235), 2.5 CSS px wide, and nothing else on them uses that colour. The time
 * axis is the last 5 minutes (shorter, down to 1 minute, while the series is younger).
 *
 * Data reaches the page only through textContent and attributes, never innerHTML.
 */
'use strict';

const STATE_URL = '/ui/api/state'; // absolute: the page is served at /ui, without a trailing slash
const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;
// The charts' time axis: the last 5 minutes, or less while the series is shorter (right after a
// start), in whole minutes of at least one, so a few seconds of traffic are not a sliver at the edge.
const MAX_WINDOW_S = 300;
const MIN_WINDOW_S = 60;
const KEY_STORAGE = 'penstock.adminKey';
const PRIMARY = '#2563eb'; // rgb(37, 99, 235): reserved for the primary series
const INK = { grid: '#e8ebef', axis: '#c3c9d2', label: '#6b7280', errors: '#dc2626', p95: '#f59e0b', wait: '#9333ea' };

const CHARTS = [
  { id: 'chart-throughput', integer: true, lines: [
    { label: 'requests/s', colour: PRIMARY, value: (p) => p.requests },
    { label: 'errors/s', colour: INK.errors, value: (p) => p.errors }] },
  { id: 'chart-latency', lines: [ // seconds without traffic have no latency: gaps, not zeros
    { label: 'mean ms', colour: PRIMARY, value: (p) => positive(p.latency_mean_ms) },
    { label: 'p95 ms', colour: INK.p95, value: (p) => positive(p.latency_p95_ms) }] },
  { id: 'chart-queue', integer: true, lines: [
    { label: 'depth', colour: PRIMARY, value: (p) => p.queue_depth },
    { label: 'wait p95 ms (right axis)', colour: INK.wait, value: (p) => p.queue_wait_p95_ms, right: true }] },
  { id: 'chart-tokens', lines: [
    { label: 'tokens/s', colour: PRIMARY, value: (p) => p.tokens }] },
];

const NEEDS_KEY = Symbol('needs key'); // fetchState's answer while the key form is showing
let lastState = null;
let waitingForKey = false;
let pollTimer = 0;

// ---------------------------------------------------------------- formatting and small helpers

const $ = (id) => document.getElementById(id);
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const num = (v) => (isNum(v) ? v : 0);
const list = (v) => (Array.isArray(v) ? v : []);
const str = (v) => (v === undefined || v === null ? '' : String(v));
function positive(v) { return isNum(v) && v > 0 ? v : null; }

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function emptyRow(text, columns) {
  const row = el('tr', 'empty');
  const cell = row.appendChild(el('td', '', text));
  cell.colSpan = columns;
  return row;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function fmtCount(v) {
  if (!isNum(v)) return '—';
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${(v / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}G`;
  if (abs >= 1e6) return `${(v / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(v / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(1);
}

function fmtMs(v) {
  if (!isNum(v)) return '—';
  if (v >= 10000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${Math.round(v)} ms`;
}

function fmtPct(ratio) {
  if (!isNum(ratio)) return '—';
  const pct = ratio * 100;
  return pct > 0 && pct < 0.1 ? '<0.1%' : `${pct.toFixed(pct >= 10 ? 0 : 1)}%`;
}

const pad2 = (n) => String(n).padStart(2, '0');
function fmtClock(ms, seconds = true) {
  if (!isNum(ms)) return '—';
  const d = new Date(ms);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return seconds ? `${hm}:${pad2(d.getSeconds())}` : hm;
}

function fmtDuration(totalSeconds) {
  if (!isNum(totalSeconds)) return '—';
  const s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m`;
  return m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

// ---------------------------------------------------------------- the admin key

function storedKey() {
  try { return sessionStorage.getItem(KEY_STORAGE) || ''; } catch { return ''; }
}

function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch { /* storage disabled: the key lasts until the page is reloaded */ }
}

/** Moves #key=... from the URL into sessionStorage so the key is not left in the address bar. */
function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([^&]*)/.exec(location.hash);
  if (!match) return;
  let key = match[1];
  try { key = decodeURIComponent(key); } catch { /* keep it as written */ }
  storeKey(key);
  history.replaceState(null, '', location.pathname + location.search);
}

function askForKey(message) {
  waitingForKey = true;
  $('auth-message').textContent = message;
  $('auth').hidden = false;
  $('auth-key').focus();
  setLive(false, 'admin key required');
}

function onKeySubmitted(event) {
  event.preventDefault();
  storeKey($('auth-key').value.trim());
  $('auth-key').value = '';
  $('auth').hidden = true;
  waitingForKey = false;
  poll();
}

// ---------------------------------------------------------------- polling

/** Fetches the state (an object); NEEDS_KEY when the gateway wants a key and the form is showing. */
async function fetchState() {
  const key = storedKey();
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch(STATE_URL, { headers, cache: 'no-store', signal: controller.signal });
    if (response.status === 401) {
      storeKey('');
      askForKey(key ? 'The gateway refused that key. Enter the admin key.'
        : 'This gateway shows its state to holders of the admin key.');
      return NEEDS_KEY;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}${await errorMessage(response)}`);
    const state = await response.json();
    return state && typeof state === 'object' ? state : {};
  } catch (e) {
    throw e.name === 'AbortError' ? new Error(`no answer within ${FETCH_TIMEOUT_MS / 1000} s`) : e;
  } finally {
    clearTimeout(timer);
  }
}

/** The message of an OpenAI error body, if there is one. */
async function errorMessage(response) {
  try {
    const body = await response.json();
    return body && body.error && body.error.message ? `: ${body.error.message}` : '';
  } catch { return ''; }
}

async function poll() {
  clearTimeout(pollTimer);
  const started = Date.now();
  let state;
  try {
    state = await fetchState();
  } catch (e) {
    setLive(false, e.message || String(e));
  }
  if (state === NEEDS_KEY) return; // the form's submit polls again
  if (state !== undefined) {
    window.__penstockState = state;
    lastState = state;
    try {
      render(state);
      setLive(true, '');
      document.body.dataset.ready = 'true';
    } catch (e) {
      console.error('Penstock dashboard: render failed', e); // a bug in this page: let tests see it
      setLive(false, `cannot show the state: ${e.message}`);
    }
  }
  if (!waitingForKey) pollTimer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
}

function setLive(ok, errorText) {
  $('live').dataset.live = ok ? 'ok' : 'error';
  $('live-text').textContent = ok ? 'Live' : `Error: ${errorText}`;
  $('live').title = ok ? '' : errorText;
}

// ---------------------------------------------------------------- rendering

const seriesOf = (state) => list(state.series).filter((p) => p && isNum(p.t));

function render(state) {
  const series = seriesOf(state);
  $('version').textContent = state.version ? `v${state.version}` : '';
  $('uptime').textContent = `up ${fmtDuration(state.uptime_s)}`;
  $('updated').textContent = `Updated ${fmtClock(isNum(state.time_ms) ? state.time_ms : Date.now())}`;
  renderTiles(state, series);
  renderDeployments(list(state.deployments));
  renderCharts(series, state);
  renderBatches(state.batches);
  renderKeys(list(state.keys));
  renderErrors(list(state.recent_errors));
}

/** The samples of the last 60 s, counted back from the newest. */
function lastMinute(series) {
  if (series.length === 0) return [];
  const newest = series[series.length - 1].t;
  return series.filter((p) => p.t > newest - 60);
}

function setTile(id, value, sub, level) {
  const tile = $(id);
  tile.querySelector('.tile-value').textContent = value;
  tile.querySelector('.tile-sub').textContent = sub || '';
  if (level) tile.dataset.level = level;
  else delete tile.dataset.level;
}

function renderTiles(state, series) {
  const minute = lastMinute(series);
  const totals = state.totals || {};
  const queue = state.queue || {};
  const depth = queue.depth || {};
  const sum = (f) => minute.reduce((acc, p) => acc + num(f(p)), 0);
  const requests = sum((p) => p.requests);
  const errors = sum((p) => p.errors);
  // Request-weighted over the minute: a busy second counts for more than a quiet one.
  const weighted = (f) => {
    const measured = sum((p) => (isNum(f(p)) ? p.requests : 0));
    return measured > 0 ? sum((p) => (isNum(f(p)) ? num(p.requests) * f(p) : 0)) / measured : null;
  };
  const lastBusy = [...series].reverse().find((p) => num(p.requests) > 0);

  setTile('tile-rpm', fmtCount(requests), `${fmtCount(totals.requests)} total`);
  const errorRate = requests > 0 ? errors / requests : null;
  setTile('tile-error-rate', fmtPct(errorRate), `${fmtCount(errors)} errors · all-time ${fmtPct(totals.error_rate)}`,
    errorRate === null ? '' : errorRate > 0.05 ? 'bad' : errorRate > 0.01 ? 'warn' : 'ok');
  setTile('tile-latency-mean', fmtMs(weighted((p) => p.latency_mean_ms)),
    `latest ${fmtMs(lastBusy && lastBusy.latency_mean_ms)}`);
  setTile('tile-latency-p95', fmtMs(weighted((p) => p.latency_p95_ms)),
    `latest ${fmtMs(lastBusy && lastBusy.latency_p95_ms)}`);
  setTile('tile-tpm', fmtCount(sum((p) => p.tokens)),
    `${fmtCount(totals.tokens_in)} in · ${fmtCount(totals.tokens_out)} out`);
  const throttled = totals.upstream_429;
  setTile('tile-429', fmtCount(throttled), `retries ${fmtCount(totals.retries)} · rejected ${fmtCount(totals.rejected)}`,
    isNum(throttled) ? (throttled === 0 ? 'ok' : 'bad') : '');
  const queued = num(depth.high) + num(depth.normal) + num(depth.low);
  setTile('tile-queue-depth', fmtCount(queued),
    `high ${fmtCount(num(depth.high))} · normal ${fmtCount(num(depth.normal))} · low ${fmtCount(num(depth.low))}`);
  setTile('tile-queue-wait', fmtMs(queue.wait_p95_ms), 'now');
  const cache = state.cache || {};
  const lookups = num(cache.hits) + num(cache.semantic_hits) + num(cache.misses);
  setTile('tile-cache', lookups > 0 ? fmtPct(cache.hit_rate) : '—',
    cache.enabled === false ? 'off'
      : `${fmtCount(num(cache.entries))} entries · $${num(cache.saved_usd).toFixed(2)} saved`
        + (cache.redis && cache.redis.configured && !cache.redis.healthy ? ' · Redis down' : ''),
    cache.redis && cache.redis.configured && !cache.redis.healthy ? 'warn' : '');
}

function badgeLevel(kind, value, state) {
  if (state === 'disabled' || state === 'drained') return ''; // out of service: grey
  if (kind === 'batch') return BATCH_LEVELS[value] || '';
  if (kind === 'state') return value === 'enabled' ? 'ok' : value === 'draining' ? 'warn' : '';
  return { closed: 'ok', half_open: 'warn', open: 'bad' }[value] || '';
}

function badge(kind, value, state) {
  const td = el('td');
  td.appendChild(el('span', `badge ${badgeLevel(kind, value, state)}`, value ? value.replace('_', ' ') : '—'));
  return td;
}

function meter(used, limit) {
  const td = el('td');
  const box = el('div', 'meter');
  const track = el('div', 'meter-track');
  const fill = el('div', 'meter-fill');
  const text = el('span', 'meter-text');
  const ratio = isNum(limit) && limit > 0 ? num(used) / limit : null;
  if (ratio !== null) {
    fill.style.width = `${Math.min(100, ratio * 100).toFixed(1)}%`;
    if (ratio > 0.95) fill.classList.add('bad');
    else if (ratio >= 0.8) fill.classList.add('warn');
  } else {
    fill.style.width = '0';
  }
  track.appendChild(fill);
  text.appendChild(el('span', 'pct', ratio === null ? '—' : `${Math.round(ratio * 100)}%`));
  text.appendChild(document.createTextNode(` ${fmtCount(num(used))} / ${fmtCount(limit)}`));
  box.append(track, text);
  td.appendChild(box);
  return td;
}

function numberCell(text) { return el('td', 'num', text); }

function renderDeployments(deployments) {
  const byModel = new Map(); // insertion order: models as the gateway lists them
  for (const d of deployments) {
    if (!d) continue;
    const model = str(d.model) || '(no model)';
    if (!byModel.has(model)) byModel.set(model, []);
    byModel.get(model).push(d);
  }
  const rows = [];
  for (const [model, members] of byModel) {
    const group = el('tr', 'group');
    const cell = group.appendChild(el('td', '', model));
    cell.colSpan = 9;
    cell.appendChild(el('span', 'muted', plural(members.length, 'deployment')));
    rows.push(group, ...members.map(deploymentRow));
  }
  $('deployments').replaceChildren(...(rows.length > 0 ? rows : [emptyRow('No deployments', 9)]));
  const open = deployments.filter((d) => d && d.circuit === 'open').length;
  $('deployments-summary').textContent = `${plural(deployments.length, 'deployment')} · ${plural(byModel.size, 'model')}`
    + (open > 0 ? ` · ${plural(open, 'circuit')} open` : '');
}

function deploymentRow(d) {
  const row = el('tr');
  row.dataset.deployment = str(d.name);
  row.append(
    el('td', 'name', str(d.name) || '—'),
    badge('state', str(d.state), d.state),
    badge('circuit', str(d.circuit), d.state),
    meter(d.rpm_used, d.rpm_limit),
    meter(d.tpm_used, d.tpm_limit),
    numberCell(fmtCount(num(d.in_flight))),
    numberCell(num(d.cooldown_ms) > 0 ? fmtMs(d.cooldown_ms) : '—'),
    numberCell(fmtCount(d.requests_total)),
    numberCell(fmtCount(d.errors_total)));
  return row;
}

const BATCH_LEVELS = {
  validating: '', in_progress: 'ok', finalizing: 'ok', cancelling: 'warn',
  completed: 'ok', failed: 'bad', expired: 'bad', cancelled: '',
};
const BATCH_TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** Unfinished batches first, then the newest. */
function batchOrder(a, b) {
  const finished = (x) => (BATCH_TERMINAL.has(x.status) ? 1 : 0);
  return finished(a) - finished(b) || num(b.created_at) - num(a.created_at);
}

function renderBatches(batches) {
  $('batches-card').hidden = !Array.isArray(batches);
  if (!Array.isArray(batches)) return;
  const shown = batches.filter(Boolean).sort(batchOrder);
  const rows = shown.map(batchRow);
  $('batches').replaceChildren(...(rows.length > 0 ? rows : [emptyRow('No batches', 6)]));
  const running = shown.filter((b) => !BATCH_TERMINAL.has(b.status)).length;
  $('batches-summary').textContent = `${running} running · ${shown.length - running} finished in the last hour`;
}

function batchRow(b) {
  const row = el('tr');
  row.dataset.batch = str(b.id);
  const owner = b.owner && (str(b.owner.name) || str(b.owner.id));
  const finished = BATCH_TERMINAL.has(b.status);
  const progress = b.progress || {};
  row.append(
    el('td', 'mono', str(b.id)),
    el('td', owner ? 'name' : 'muted', owner || 'open mode'),
    badge('batch', str(b.status), b.status),
    batchProgress(b),
    numberCell(finished ? '—' : fmtCount(progress.lines_per_minute)),
    numberCell(finished ? '—' : fmtDuration(progress.eta_seconds)));
  return row;
}

/** A stacked bar: done, failed, and pending (the track) of the total, with the counts beside it. */
function batchProgress(b) {
  const counts = b.request_counts || {};
  const progress = b.progress || {};
  const total = num(counts.total);
  const done = isNum(progress.done) ? progress.done : num(counts.completed);
  const failed = isNum(progress.failed) ? progress.failed : num(counts.failed);
  const pending = isNum(progress.pending) ? progress.pending : Math.max(0, total - done - failed);
  const pct = (n) => (total > 0 ? Math.min(100, (n / total) * 100) : 0);
  const td = el('td');
  const box = el('div', 'meter');
  const track = el('div', 'meter-track stack');
  track.dataset.done = pct(done).toFixed(1);
  track.dataset.failed = pct(failed).toFixed(1);
  track.dataset.pending = pct(pending).toFixed(1);
  const doneBar = track.appendChild(el('div', 'stack-done'));
  doneBar.style.width = `${pct(done).toFixed(1)}%`;
  const failedBar = track.appendChild(el('div', 'stack-failed'));
  failedBar.style.width = `${pct(failed).toFixed(1)}%`;
  track.title = `${done} done · ${failed} failed · ${pending} pending of ${total}`;
  const text = el('span', 'meter-text');
  text.appendChild(el('span', 'pct', total > 0 ? `${Math.floor(pct(done + failed))}%` : '—'));
  text.appendChild(document.createTextNode(` ${fmtCount(done)} / ${fmtCount(total)}`));
  if (failed > 0) text.appendChild(el('span', 'status-5xx', ` · ${fmtCount(failed)} failed`));
  box.append(track, text);
  td.appendChild(box);
  return td;
}

function renderKeys(keys) {
  const rows = keys.filter(Boolean).map((k) => {
    const row = el('tr');
    row.dataset.keyRow = '';
    row.append(
      el('td', 'name', str(k.name) || '—'),
      el('td', 'mono', str(k.id)),
      numberCell(`$${num(k.spend_usd_today).toFixed(4)}`),
      numberCell(fmtCount(num(k.requests))),
      el('td', `num ${num(k.rate_limited) > 0 ? 'status-429' : ''}`, fmtCount(num(k.rate_limited))));
    return row;
  });
  $('keys').replaceChildren(...(rows.length > 0 ? rows : [emptyRow('No virtual keys in use', 5)]));
}

function renderErrors(errors) {
  const sorted = errors.filter(Boolean).sort((a, b) => num(b.time_ms) - num(a.time_ms));
  const rows = sorted.map((e) => {
    const row = el('tr');
    row.dataset.errorRow = '';
    const status = num(e.status);
    const message = el('td', 'message', str(e.message));
    message.title = str(e.message);
    row.append(
      el('td', '', fmtClock(e.time_ms)),
      el('td', 'mono', str(e.request_id)),
      el('td', '', str(e.model)),
      el('td', '', str(e.deployment)),
      el('td', `num ${status >= 500 ? 'status-5xx' : status === 429 ? 'status-429' : ''}`, status ? String(status) : '—'),
      el('td', 'mono', str(e.code)),
      message);
    return row;
  });
  $('errors').replaceChildren(...(rows.length > 0 ? rows : [emptyRow('No errors', 7)]));
}

// ---------------------------------------------------------------- charts

function renderCharts(series, state) {
  const newest = series.length > 0 ? series[series.length - 1].t
    : Math.floor((isNum(state.time_ms) ? state.time_ms : Date.now()) / 1000);
  const covered = series.length > 0 ? newest - series[0].t : 0;
  const span = Math.min(MAX_WINDOW_S, Math.max(MIN_WINDOW_S, Math.ceil(covered / 60) * 60));
  for (const spec of CHARTS) drawChart($(spec.id), spec, series, newest - span, newest);
}

/** A round upper bound for the axis and its step: about four ticks of 1, 2, 2.5 or 5 times 10^n. */
function niceScale(max, integer) {
  if (!(max > 0)) return integer ? { max: 4, step: 1 } : { max: 1, step: 0.25 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * magnitude);
  const step = integer ? Math.max(1, steps.find((s) => s >= rough && Number.isInteger(s)) ?? 1) : steps.find((s) => s >= rough);
  return { max: Math.ceil(max / step) * step, step };
}

/** Draws spec.lines over the seconds t0..tEnd; sized to the canvas's CSS box. */
function drawChart(canvas, spec, series, t0, tEnd) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);

  const points = series.filter((p) => p.t >= t0 && p.t <= tEnd);
  const hasRight = spec.lines.some((l) => l.right);
  const plot = { left: 46, right: width - (hasRight ? 46 : 12), top: 8, bottom: height - 22 };
  const x = (t) => plot.left + ((t - t0) / (tEnd - t0)) * (plot.right - plot.left);
  const maxOf = (right) => Math.max(0, ...spec.lines.filter((l) => !!l.right === right)
    .flatMap((l) => points.map((p) => num(l.value(p)))));
  const left = niceScale(maxOf(false), spec.integer); // the integer flag is for the left axis
  const right = hasRight ? niceScale(maxOf(true), false) : null;
  const y = (scale) => (v) => plot.bottom - (v / scale.max) * (plot.bottom - plot.top);

  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  drawYAxis(ctx, plot, left, 'left', INK.label);
  if (right) drawYAxis(ctx, plot, right, 'right', spec.lines.find((l) => l.right).colour);
  drawTimeAxis(ctx, plot, t0, tEnd, x);

  if (points.length === 0) {
    ctx.fillStyle = INK.label;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('No data yet', (plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2);
    return;
  }
  // Secondary series first, so the primary one is drawn on top and keeps its exact colour.
  const order = spec.lines.filter((l) => l.colour !== PRIMARY).concat(spec.lines.filter((l) => l.colour === PRIMARY));
  ctx.save();
  ctx.beginPath();
  ctx.rect(plot.left, plot.top - 2, plot.right - plot.left, plot.bottom - plot.top + 4);
  ctx.clip();
  for (const line of order) {
    drawLine(ctx, points, line, x, y(line.right ? right : left), line.colour === PRIMARY ? 2.5 : 1.5);
  }
  ctx.restore();
}

/** Labels (and, on the left, gridlines); right-axis labels take their series' colour. */
function drawYAxis(ctx, plot, scale, side, labelColour) {
  ctx.textBaseline = 'middle';
  ctx.textAlign = side === 'left' ? 'right' : 'left';
  for (let v = 0; v <= scale.max + scale.step / 2; v += scale.step) {
    const yy = Math.round(plot.bottom - (v / scale.max) * (plot.bottom - plot.top)) + 0.5;
    if (side === 'left') {
      ctx.strokeStyle = v === 0 ? INK.axis : INK.grid;
      ctx.beginPath();
      ctx.moveTo(plot.left, yy);
      ctx.lineTo(plot.right, yy);
      ctx.stroke();
    }
    ctx.fillStyle = labelColour;
    const label = Number.isInteger(v) || v >= 1e4 ? fmtCount(v) : String(Number(v.toFixed(2))); // 2.5, 0.75
    ctx.fillText(label, side === 'left' ? plot.left - 6 : plot.right + 6, yy);
  }
}

function drawTimeAxis(ctx, plot, t0, tEnd, x) {
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.strokeStyle = INK.grid;
  ctx.fillStyle = INK.label;
  const span = tEnd - t0;
  const step = span <= 60 ? 10 : span <= 120 ? 20 : span <= 180 ? 30 : 60;
  for (let t = Math.ceil(t0 / step) * step; t <= tEnd; t += step) {
    const xx = Math.round(x(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(xx, plot.top);
    ctx.lineTo(xx, plot.bottom);
    ctx.stroke();
    const label = fmtClock(t * 1000, step < 60);
    const half = ctx.measureText(label).width / 2; // keep edge labels inside the canvas
    ctx.fillText(label, Math.min(Math.max(xx, half + 1), ctx.canvas.clientWidth - half - 1), plot.bottom + 6);
  }
}

/** One series as a polyline; a missing value breaks it, a lone point becomes a dot. */
function drawLine(ctx, points, line, x, y, widthPx) {
  ctx.strokeStyle = line.colour;
  ctx.fillStyle = line.colour;
  ctx.lineWidth = widthPx;
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  let run = [];
  const flush = () => {
    if (run.length === 1) {
      ctx.beginPath();
      ctx.arc(run[0][0], run[0][1], widthPx, 0, 2 * Math.PI);
      ctx.fill();
    } else if (run.length > 1) {
      ctx.beginPath();
      run.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
      ctx.stroke();
    }
    run = [];
  };
  for (const p of points) {
    const v = line.value(p);
    if (isNum(v)) run.push([x(p.t), y(v)]);
    else flush();
  }
  flush();
}

function buildLegends() {
  for (const spec of CHARTS) {
    const items = spec.lines.map((line) => {
      const item = el('span', 'legend-item');
      item.appendChild(el('span', 'legend-swatch')).style.background = line.colour;
      item.appendChild(document.createTextNode(line.label));
      return item;
    });
    document.querySelector(`.legend[data-for="${spec.id}"]`)?.replaceChildren(...items);
  }
}

// ---------------------------------------------------------------- start

function start() {
  takeKeyFromFragment();
  buildLegends();
  $('auth-form').addEventListener('submit', onKeySubmitted);
  window.addEventListener('resize', () => {
    if (lastState) renderCharts(seriesOf(lastState), lastState);
  });
  poll();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
