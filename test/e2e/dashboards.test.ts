import { describe, expect, it } from 'vitest';
import { startedForSuite } from '../fixtures/lifecycle';
import { startLocal } from './harness';

/**
 * Saved dashboards in stream definitions (the Data Streams document's `dashboards`) and the dashboard's files
 * as `npm start` serves them; what the page does with them is test/e2e/dashboard-browser.test.ts's.
 */

const local = startedForSuite(() => startLocal());

const schema = { temperature: { type: 'number', unit: 'celsius', range: { min: -40, max: 10 } }, status: { type: 'string' } };
const facility = {
  name: 'Facility Monitoring Dashboard',
  widgets: [
    { type: 'line_chart', title: 'Temperature Trends', field: 'temperature', timeWindow: '24h', refreshInterval: '30s' },
    { type: 'gauge', title: 'Current temperature', field: 'temperature', ranges: [{ min: -40, max: -15, color: 'green', label: 'Optimal' }, { min: -15, max: 10, color: 'red', label: 'Too warm' }] },
    { type: 'alert_panel', title: 'Active Alerts', severities: ['critical', 'warning'] },
  ],
  layout: { columns: 3, responsive: true },
};

describe('dashboards in the stream definition', () => {
  it('keeps the document’s dashboards and replaces them on PATCH ([] removes them)', async () => {
    const { id } = await local.createStream({ name: 'Dash', type: 'iot_sensor', schema, dashboards: [facility] });
    expect((await local.api(`/v1/streams/${id}`)).body.dashboards).toEqual([facility]);
    const second = { name: 'Gauge only', widgets: [{ type: 'gauge', title: 'T', field: 'temperature' }] };
    expect((await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: { dashboards: [facility, second] } })).status).toBe(200);
    expect((await local.api(`/v1/streams/${id}`)).body.dashboards.map((d: any) => d.name)).toEqual([facility.name, 'Gauge only']);
    expect((await local.api(`/v1/streams/${id}`, { method: 'PATCH', body: { dashboards: [] } })).status).toBe(200);
    expect((await local.api(`/v1/streams/${id}`)).body.dashboards).toBeUndefined();
  });

  it('refuses a bad dashboard with problem+json naming the path', async () => {
    const refused = async (dashboards: unknown) => {
      const r = await local.api('/v1/streams', { body: { name: 'Bad dash', type: 'iot_sensor', schema, dashboards } });
      expect(r.status).toBe(400);
      expect(r.type).toBe('application/problem+json');
      return r.body.errors.map((e: any) => e.path);
    };
    expect(await refused([{ ...facility, widgets: [{ type: 'line_chart', title: 'x', field: 'status' }] }])).toEqual([['dashboards', 0, 'widgets', 0, 'field']]);
    expect(await refused([{ ...facility, widgets: [{ type: 'gauge', title: 'x', field: 'nope' }] }])).toEqual([['dashboards', 0, 'widgets', 0, 'field']]);
    expect(await refused([{ ...facility, widgets: [{ type: 'pie_chart', title: 'x', field: 'temperature' }] }])).toContainEqual(['dashboards', 0, 'widgets', 0, 'type']);
    expect(await refused([{ ...facility, widgets: [{ type: 'gauge', title: 'x', field: 'temperature', ranges: [{ min: 0, max: 1, color: 'red;background:url(x)' }] }] }])).toEqual([['dashboards', 0, 'widgets', 0, 'ranges', 0, 'color']]);
    expect(await refused([{ ...facility, widgets: [{ type: 'gauge', title: 'x', field: 'temperature', ranges: [{ min: 5, max: 1, color: 'red' }] }] }])).toEqual([['dashboards', 0, 'widgets', 0, 'ranges', 0, 'min']]);
    expect(await refused([facility, facility])).toEqual([['dashboards', 1, 'name']]);
    expect(await refused([{ ...facility, layout: { columns: 9 } }])).toEqual([['dashboards', 0, 'layout', 'columns']]);
  });
});

describe('the dashboard’s files on the API’s port', () => {
  it('serves the page at / without a token, with a content security policy, and its modules and uPlot', async () => {
    const page = await fetch(`${local.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('<label for="token">Token</label>');
    for (const src of [...html.matchAll(/(?:src|href)="(ui\/[^"]+)"/g)].map((m) => m[1]!)) {
      const res = await fetch(`${local.base}/${src}`);
      expect(res.status, src).toBe(200);
      expect(res.headers.get('content-type'), src).toMatch(/^text\/(javascript|css)/);
    }
    expect((await fetch(`${local.base}/ui/vendor/uPlot.iife.min.js`)).status).toBe(200);
    expect(await (await fetch(`${local.base}/config.json`)).json()).toEqual({ apiUrl: '', liveUrl: '' });
    // only the site's own files: nothing else of the repository is reachable
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/web/index.html', '/ui/']) expect((await fetch(`${local.base}${path}`)).status, path).toBe(404);
  });
});
