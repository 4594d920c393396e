// The dashboard's panels: a live line chart (uPlot), a gauge (SVG), the alert panel and the health panel.
import { api } from './api.js';

const COLOURS = ['#0b63ce', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#0a7c8c', '#6e7781', '#bf3989'];
const MAX_POINTS = 5_000;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c);
  return node;
}

const seriesKey = (p) => (p.dimensions ? Object.entries(p.dimensions).map(([k, v]) => `${k}=${v}`).join(',') : '') || 'all';
const numeric = (v) => (typeof v === 'number' ? v : v && typeof v === 'object' && typeof v.mean === 'number' ? v.mean : null);
const fmt = (v, unit) => (v === null || v === undefined ? '–' : `${Number.isInteger(v) ? v : v.toFixed(2)}${unit ? ` ${unit}` : ''}`);

/** A line chart of one field, a line per series; `set` replaces its points, `add` appends live ones. */
export function lineChart(root, { title, field, unit }) {
  const box = el('div', { class: 'chart', role: 'img', 'data-field': field, 'aria-label': `${title}: no points yet` });
  root.append(el('h3', {}, title), box);
  /** series key → Map(time ms → value) */
  let series = new Map();
  let range = { start: 0, end: Infinity, live: true };
  let plot;
  let keys = [];
  let pending = false;
  let last;

  const put = (p) => {
    const v = numeric(p.values?.[field]);
    if (v === null) return;
    const key = seriesKey(p);
    if (!series.has(key)) series.set(key, new Map());
    const t = Date.parse(p.time);
    series.get(key).set(t, v);
    if (!last || t >= last.t) last = { t, v, time: p.time };
  };
  const draw = () => {
    pending = false;
    const now = Date.now();
    const start = range.live ? now - (range.end - range.start) : range.start;
    const times = new Set();
    for (const m of series.values()) {
      for (const t of m.keys()) if (t < start) m.delete(t);
      while (m.size > MAX_POINTS) m.delete(m.keys().next().value);
      for (const t of m.keys()) times.add(t);
    }
    const xs = [...times].sort((a, b) => a - b);
    const nextKeys = [...series.keys()].sort();
    const data = [xs.map((t) => t / 1000), ...nextKeys.map((k) => xs.map((t) => series.get(k).get(t) ?? null))];
    const width = Math.max(280, box.clientWidth || 600);
    if (!plot || nextKeys.join('|') !== keys.join('|')) {
      plot?.destroy();
      keys = nextKeys;
      plot = new window.uPlot(
        {
          width,
          height: 220,
          scales: { x: { time: true } },
          axes: [{}, { label: unit ?? '', size: 60 }],
          series: [{}, ...keys.map((k, i) => ({ label: k, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true, points: { show: xs.length < 200 } }))],
          legend: { live: true },
        },
        data,
        box,
      );
    } else plot.setData(data);
    box.dataset.points = String(xs.length);
    if (last) {
      box.dataset.lastTime = last.time;
      box.dataset.lastValue = String(last.v);
    }
    box.setAttribute('aria-label', `${title}: ${xs.length} points${last ? `, latest ${fmt(last.v, unit)} at ${last.time}` : ''}`);
  };
  const schedule = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  new ResizeObserver(() => plot && plot.setSize({ width: Math.max(280, box.clientWidth), height: 220 })).observe(box);
  return {
    set(points, r) {
      range = r;
      series = new Map();
      last = undefined;
      for (const p of points) put(p);
      schedule();
    },
    add(points) {
      for (const p of points) put(p);
      schedule();
    },
  };
}

/** An SVG gauge of the latest value between `min` and `max`, with the widget's coloured bands. */
export function gauge(root, { title, field, unit, min, max, ranges = [] }) {
  const lo = min ?? ranges.reduce((m, r) => Math.min(m, r.min), Infinity);
  const hi = max ?? ranges.reduce((m, r) => Math.max(m, r.max), -Infinity);
  const bounded = Number.isFinite(lo) && Number.isFinite(hi) && lo < hi;
  const [a, b] = bounded ? [lo, hi] : [0, 100];
  const angle = (v) => Math.PI * (1 - (Math.min(b, Math.max(a, v)) - a) / (b - a));
  const at = (v, r) => [100 + r * Math.cos(angle(v)), 100 - r * Math.sin(angle(v))];
  const arc = (from, to, r) => {
    const [x1, y1] = at(from, r);
    const [x2, y2] = at(to, r);
    return `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${r} ${r} 0 0 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`;
  };
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 200 110');
  svg.setAttribute('aria-hidden', 'true');
  const path = (d, stroke, width) => {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', stroke);
    p.setAttribute('stroke-width', String(width));
    svg.append(p);
    return p;
  };
  path(arc(a, b, 80), '#e6e8eb', 16);
  for (const r of ranges) path(arc(Math.max(a, r.min), Math.min(b, r.max), 92), r.color, 5);
  const value = path(arc(a, a, 80), '#0b63ce', 16);
  const text = el('div', { class: 'value' }, '–');
  const label = el('div', { class: 'band' });
  const meter = el('div', { role: 'meter', 'aria-label': title, 'aria-valuemin': a, 'aria-valuemax': b, 'aria-valuenow': a, 'data-field': field }, svg, text, label);
  root.append(el('h3', {}, title), meter, el('div', { class: 'bounds' }, el('span', {}, fmt(a, unit)), el('span', {}, bounded ? fmt(b, unit) : `${fmt(b, unit)} (no range in the schema)`)));
  return {
    set(v, time) {
      if (typeof v !== 'number') return;
      value.setAttribute('d', arc(a, v, 80));
      const band = ranges.find((r) => v >= r.min && v < r.max);
      value.setAttribute('stroke', band?.color ?? '#0b63ce');
      text.textContent = fmt(v, unit);
      label.textContent = band?.label ?? '';
      meter.setAttribute('aria-valuenow', String(v));
      meter.setAttribute('aria-valuetext', `${fmt(v, unit)}${band?.label ? ` (${band.label})` : ''} at ${time}`);
    },
  };
}

/** The alerts of one or more streams, newest first, firing and resolved, with an acknowledge button. */
export function alertPanel(root, { title, streamIds, severities }) {
  const list = el('ul', { 'aria-live': 'polite' });
  const note = el('p', { class: 'empty' }, 'No alerts.');
  root.append(el('h3', {}, title), note, list);
  const render = (alerts) => {
    note.hidden = alerts.length > 0;
    list.replaceChildren(
      ...alerts.map((a) => {
        const ack = a.state === 'firing' && !a.acknowledged
          ? el('button', { type: 'button', onclick: () => acknowledge(a) }, 'Acknowledge')
          : el('span', { class: 'when' }, a.acknowledged ? 'acknowledged' : '');
        return el(
          'li',
          { 'data-alert': a.id, 'data-state': a.state },
          el('div', {}, el('span', { class: `badge ${a.state}` }, a.state), ' ', el('span', { class: `badge ${a.severity}` }, a.severity), ' ', el('strong', {}, a.rule),
            el('div', { class: 'when' }, `${a.value === null || a.value === undefined ? '' : `value ${typeof a.value === 'object' ? JSON.stringify(a.value) : a.value} · `}fired ${a.firedAt}${a.resolvedAt ? ` · resolved ${a.resolvedAt}` : ''}${Object.keys(a.dimensions ?? {}).length ? ` · ${seriesKey(a)}` : ''}`)),
          ack,
        );
      }),
    );
  };
  async function acknowledge(a) {
    try {
      await api(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, { method: 'POST' });
      await refresh();
    } catch (err) {
      note.hidden = false;
      note.textContent = err.status === 403 ? 'Acknowledging takes an admin token.' : `Could not acknowledge: ${err.message}`;
    }
  }
  async function refresh() {
    const pages = await Promise.all(streamIds.map((id) => api(`/v1/streams/${encodeURIComponent(id)}/alerts?limit=50`).catch(() => ({ alerts: [] }))));
    const alerts = pages.flatMap((p) => p.alerts ?? []).filter((a) => !severities?.length || severities.includes(a.severity));
    alerts.sort((x, y) => (x.firedAt < y.firedAt ? 1 : -1));
    render(alerts);
  }
  return { refresh };
}

/** The health panel: state, `health` when the status has it, the counts, and the live connection. */
export function renderHealth(root, status, live, metrics) {
  const rows = [];
  const add = (term, value) => rows.push(el('dt', {}, term), el('dd', {}, value));
  if (status) {
    add('state', el('span', { class: `badge ${status.state}` }, status.state ?? '–'));
    if (status.health && typeof status.health === 'object') {
      add('health', el('span', { class: `badge ${status.health.status}` }, status.health.status ?? '–'));
      if (status.health.reason) add('reason', String(status.health.reason));
      for (const [k, v] of Object.entries(status.health)) {
        if (k === 'status' || k === 'reason' || v === null || typeof v === 'object') continue;
        add(k, String(v));
      }
    } else if (typeof status.health === 'string') add('health', el('span', { class: `badge ${status.health}` }, status.health));
    add('last data', status.lastDataAt ?? '–');
    add('points', String(status.pointsTotal ?? 0));
    add('today', String(status.pointsToday ?? 0));
    add('invalid', String(status.invalidCount ?? 0));
  }
  if (metrics) add('points/s', String(Math.round(metrics.pointsPerSecond * 100) / 100));
  add('live', el('span', { class: `badge ${live.state}` }, `${live.state}${live.via ? ` (${live.via})` : ''}`));
  root.replaceChildren(el('dl', {}, ...rows));
}
