// The Tributary dashboard: sign in with a token, list streams, open one; its panels (line charts, gauges, the
// alert panel) come from a saved dashboard of the stream or, by default, one chart and gauge per numeric field.
import { api, download, loadConfig, setToken, token } from './api.js';
import { subscribe } from './live.js';
import { alertPanel, el, gauge, lineChart, renderHealth } from './panels.js';

/** Each range and the granularity its charts are read at: raw up to an hour, then bins that keep a few hundred points. */
export const RANGES = { '15m': [900_000, 'raw'], '1h': [3_600_000, 'raw'], '6h': [21_600_000, '1m'], '24h': [86_400_000, '5m'], '7d': [604_800_000, '1h'], '30d': [2_592_000_000, '6h'] };

const $ = (id) => document.getElementById(id);
let view; // the open stream's panels, live subscriptions and timers

function notice(text) {
  $('notice').hidden = !text;
  $('notice').textContent = text ?? '';
}

function showSignedIn(on) {
  $('signin').hidden = on;
  $('signedin').hidden = !on;
  $('whoami').textContent = on ? 'Signed in' : '';
}

async function route() {
  view?.close();
  view = undefined;
  notice();
  if (!token()) {
    showSignedIn(false);
    $('streams').hidden = true;
    $('stream').hidden = true;
    $('token').focus();
    return;
  }
  showSignedIn(true);
  const m = /^#\/streams\/([^/?]+)/.exec(location.hash);
  if (m) return openStream(decodeURIComponent(m[1]));
  return listStreams();
}

async function listStreams() {
  $('stream').hidden = true;
  $('streams').hidden = false;
  const list = $('stream-list');
  list.replaceChildren();
  try {
    const { streams } = await api('/v1/streams?limit=100');
    if (streams.length === 0) list.append(el('li', { class: 'empty' }, 'No streams yet.'));
    for (const s of streams) {
      list.append(el('li', {}, el('a', { href: `#/streams/${encodeURIComponent(s.id)}` }, el('strong', {}, s.name), el('div', { class: 'meta' }, `${s.id} · ${s.type} · ${Object.keys(s.schema ?? {}).length} fields`))));
    }
  } catch (err) {
    if (err.status === 401) return signOut('That token is not known.');
    // a read token may not list streams: it opens its stream by id
    list.append(el('li', { class: 'empty' }, err.status === 403 ? 'This token cannot list streams: open yours by id.' : `Could not list streams: ${err.message}`));
  }
}

const numericFields = (s) => Object.entries(s.schema).filter(([name, f]) => (f.type === 'number' || f.type === 'integer') && name !== s.timeField && !s.dimensions.includes(name)).map(([name]) => name);

/** The widgets of the picked dashboard, or the default: a chart and a gauge per numeric field and an alert panel. */
function widgetsOf(stream, picked) {
  const saved = stream.dashboards?.find((d) => d.name === picked);
  if (saved) return { widgets: saved.widgets, layout: saved.layout };
  const fields = numericFields(stream);
  return {
    widgets: [
      ...fields.flatMap((f) => [
        { type: 'line_chart', title: `${f}${stream.schema[f].unit ? ` (${stream.schema[f].unit})` : ''}`, field: f },
        { type: 'gauge', title: `Latest ${f}`, field: f },
      ]),
      { type: 'alert_panel', title: 'Alerts' },
    ],
    layout: { columns: 3 },
  };
}

async function openStream(id) {
  $('streams').hidden = true;
  $('stream').hidden = false;
  $('panels').replaceChildren();
  $('health').replaceChildren();
  let stream;
  try {
    stream = await api(`/v1/streams/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status === 401) return signOut('That token is not known.');
    $('stream').hidden = true;
    return notice(err.status === 404 ? `No stream '${id}'.` : err.status === 403 ? `This token cannot read '${id}'.` : `Could not open '${id}': ${err.message}`);
  }
  $('stream-title').textContent = stream.name;
  const pick = $('dashboard-pick');
  pick.replaceChildren(el('option', { value: '' }, 'Default (every numeric field)'), ...(stream.dashboards ?? []).map((d) => el('option', { value: d.name }, d.name)));
  const picked = new URLSearchParams(location.hash.split('?')[1] ?? '').get('dashboard') ?? stream.dashboards?.[0]?.name ?? '';
  pick.value = picked;
  // a saved dashboard's first chart with a timeWindow the picker offers (24h, 7d…) sets the range it opens at
  const windowed = stream.dashboards?.find((d) => d.name === picked)?.widgets.find((w) => w.type === 'line_chart' && w.timeWindow && RANGES[w.timeWindow]);
  if (windowed) $('range').value = windowed.timeWindow;
  view = buildView(stream, picked);
  await view.load();
}

function buildView(stream, picked) {
  const { widgets, layout } = widgetsOf(stream, picked);
  const panels = $('panels');
  panels.style.setProperty('--columns', String(layout?.columns ?? 3));
  panels.classList.toggle('responsive', layout?.responsive === true);
  const defs = new Map([[stream.id, stream]]);
  const charts = [];
  const gauges = [];
  const alertPanels = [];
  for (const w of widgets) {
    const box = el('section', { class: `panel ${w.type}`, 'aria-label': w.title });
    panels.append(box);
    if (w.type === 'alert_panel') alertPanels.push(alertPanel(box, { title: w.title, streamIds: w.streamIds?.length ? w.streamIds : [stream.id], severities: w.severities }));
    else charts.push({ w, streamId: w.streamId ?? stream.id, box });
  }
  const stops = [];
  const timers = [];
  const state = { status: undefined, live: { state: 'connecting', via: 'websocket' }, metrics: undefined };
  const health = () => renderHealth($('health'), state.status, state.live, state.metrics);
  let refreshAlerts = 0;
  const alertsSoon = () => {
    clearTimeout(refreshAlerts);
    refreshAlerts = setTimeout(() => alertPanels.forEach((p) => p.refresh().catch(() => {})), 150);
  };

  async function definition(id) {
    if (!defs.has(id)) defs.set(id, await api(`/v1/streams/${encodeURIComponent(id)}`).catch(() => undefined));
    return defs.get(id);
  }

  async function load() {
    const [spanMs, granularity] = RANGES[$('range').value] ?? RANGES['1h'];
    $('granularity').textContent = `granularity: ${granularity}`;
    const end = Date.now();
    const start = end - spanMs;
    // panels built once; their data is read again for each range
    for (const c of charts) {
      if (c.panel) continue;
      const def = await definition(c.streamId);
      const spec = def?.schema?.[c.w.field] ?? {};
      c.panel = c.w.type === 'gauge'
        ? gauge(c.box, { title: c.w.title, field: c.w.field, unit: spec.unit, min: spec.range?.min, max: spec.range?.max, ranges: c.w.ranges ?? [] })
        : lineChart(c.box, { title: c.w.title, field: c.w.field, unit: spec.unit });
    }
    const byStream = Map.groupBy ? Map.groupBy(charts, (c) => c.streamId) : group(charts);
    await Promise.all(
      [...byStream].map(async ([id, list]) => {
        const fields = [...new Set(list.map((c) => c.w.field))].join(',');
        const q = new URLSearchParams({ start: new Date(start).toISOString(), end: new Date(end).toISOString(), granularity, fields, limit: '10000' });
        if (granularity !== 'raw') q.set('downsamplers', 'mean');
        const [data, latest] = await Promise.all([
          api(`/v1/streams/${encodeURIComponent(id)}/data?${q}`).catch((err) => (notice(`Could not read ${id}: ${err.message}`), { points: [] })),
          api(`/v1/streams/${encodeURIComponent(id)}/latest?fields=${encodeURIComponent(fields)}`).catch(() => ({ points: [] })),
        ]);
        for (const c of list) {
          if (c.w.type === 'line_chart') c.panel.set(data.points, { start, end, live: true });
          else setGauge(c, latest.points);
        }
      }),
    );
    $('download').dataset.start = new Date(start).toISOString();
    $('download').dataset.end = new Date(end).toISOString();
    await Promise.all(alertPanels.map((p) => p.refresh().catch(() => {})));
  }

  function setGauge(c, points) {
    let newest;
    for (const p of points) if (typeof p.values?.[c.w.field] === 'number' && (!newest || p.time > newest.time)) newest = p;
    if (newest) c.panel.set(newest.values[c.w.field], newest.time);
  }

  const status = async () => {
    state.status = await api(`/v1/streams/${encodeURIComponent(stream.id)}/status`).catch(() => state.status);
    health();
  };
  status();
  timers.push(setInterval(status, 15_000));
  timers.push(setInterval(alertsSoon, 30_000));
  for (const id of new Set([stream.id, ...charts.map((c) => c.streamId)])) {
    stops.push(
      subscribe(id, {
        onState: (s, via) => {
          if (id !== stream.id) return;
          state.live = { state: s, via };
          health();
        },
        onMessage: (m) => {
          if (m.type === 'data_update') {
            for (const c of charts) {
              if (c.streamId !== id || !c.panel) continue;
              if (c.w.type === 'line_chart') c.panel.add(m.points);
              else setGauge(c, m.points);
            }
          } else if (m.type === 'error_alert') alertsSoon();
          else if (id === stream.id && m.type === 'stream_status') {
            state.status = { ...state.status, state: m.status, lastDataAt: m.lastDataAt, pointsTotal: m.pointsTotal };
            health();
          } else if (id === stream.id && m.type === 'metrics_update') {
            state.metrics = m;
            health();
          }
        },
      }),
    );
  }
  health();
  return {
    stream,
    load,
    close() {
      stops.forEach((s) => s());
      timers.forEach((t) => clearInterval(t));
      clearTimeout(refreshAlerts);
    },
  };
}

function group(list) {
  const m = new Map();
  for (const c of list) m.set(c.streamId, [...(m.get(c.streamId) ?? []), c]);
  return m;
}

function signOut(message) {
  setToken(null);
  location.hash = '#/';
  route();
  if (message) notice(message);
}

$('signin').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken($('token').value.trim());
  $('token').value = '';
  route();
});
$('signout').addEventListener('click', () => signOut());
$('open-by-id').addEventListener('submit', (e) => {
  e.preventDefault();
  location.hash = `#/streams/${encodeURIComponent($('stream-id').value.trim())}`;
});
$('range').addEventListener('change', () => view?.load());
$('dashboard-pick').addEventListener('change', () => {
  const id = view?.stream.id;
  if (!id) return;
  const d = $('dashboard-pick').value;
  location.hash = `#/streams/${encodeURIComponent(id)}${d ? `?dashboard=${encodeURIComponent(d)}` : ''}`;
});
$('download').addEventListener('click', async () => {
  if (!view) return;
  const b = $('download');
  const q = new URLSearchParams({ format: 'csv', start: b.dataset.start, end: new Date().toISOString() });
  b.disabled = true;
  try {
    await download(`/v1/streams/${encodeURIComponent(view.stream.id)}/export?${q}`, `${view.stream.id}.csv`);
  } catch (err) {
    // past 4 MiB the export answers a 303 to storage on another origin, which fetch may not follow from here
    notice(err instanceof TypeError ? 'This range is larger than the 4 MiB the page can download: narrow it, or use curl -L or the SDK’s streams.export (README, Export).' : `Could not download: ${err.message}`);
  } finally {
    b.disabled = false;
  }
});
window.addEventListener('hashchange', route);

await loadConfig();
await new Promise((resolve) => (window.uPlot ? resolve() : window.addEventListener('load', resolve, { once: true })));
route();
