import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startLocal, type Local } from './harness';

/**
 * The web dashboard in a real browser: Debian's Chromium (installed here with apt-get when it is missing),
 * headless, driven by playwright-core, against the local runtime started in the test. It signs in with a
 * token, opens a stream from the list, sees a point posted over HTTP reach the live chart and the gauge within
 * 1 s (a WebSocket opened with a live ticket), sees the alert that point fires appear in the alert panel and
 * acknowledges it, and downloads a CSV whose rows are the query API's. Screenshots go to
 * TRIBUTARY_SCREENSHOTS_DIR (the README's are made with `TRIBUTARY_SCREENSHOTS_DIR=docs`), else a temp dir.
 */

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not on PATH
    }
  }
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

/** Chromium on PATH, else Debian's package installed now (root only; the registry is reachable here). */
function ensureChromium(): { path?: string; why?: string } {
  const found = findChromium();
  if (found) return { path: found };
  if (process.getuid?.() !== 0) return { why: 'chromium is not on PATH and this is not root, so apt-get cannot install it' };
  try {
    execFileSync('sh', ['-c', 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium'], { stdio: 'inherit', timeout: 900_000 });
  } catch (err) {
    return { why: `apt-get install chromium failed: ${(err as Error).message}` };
  }
  const path = findChromium();
  return path ? { path } : { why: 'apt-get installed chromium but no chromium binary is on PATH' };
}

const browserFound = ensureChromium();
if (!browserFound.path) {
  console.error(`\n${'!'.repeat(78)}\n!! SKIPPING the dashboard browser test: ${browserFound.why}\n${'!'.repeat(78)}\n`);
}

const shots = process.env.TRIBUTARY_SCREENSHOTS_DIR;

describe.skipIf(!browserFound.path)('the web dashboard in headless Chromium', () => {
  let local: Local;
  let browser: Browser;
  let page: Page;
  let stream: { id: string; ingestToken: string };
  let shotDir: string;
  const post = (records: unknown) => local.api(`/v1/streams/${stream.id}/data`, { token: stream.ingestToken, body: records });

  beforeAll(async () => {
    shotDir = shots ?? (await mkdtemp(join(tmpdir(), 'tributary-shots-')));
    await mkdir(shotDir, { recursive: true });
    local = await startLocal();
    stream = await local.createStream({
      id: 'freezer-room',
      name: 'Freezer room',
      type: 'iot_sensor',
      schema: { temperature: { type: 'number', unit: 'celsius', range: { min: -40, max: 10 } }, deviceId: { type: 'string' } },
      dimensions: ['deviceId'],
      alerts: [{ name: 'freezer warm', severity: 'critical', when: 'temperature > -15', cooldown: '1m' }],
      dashboards: [
        {
          name: 'Freezers',
          widgets: [
            { type: 'line_chart', title: 'Temperature', field: 'temperature', timeWindow: '1h', refreshInterval: '30s' },
            { type: 'gauge', title: 'Current temperature', field: 'temperature', ranges: [{ min: -40, max: -15, color: 'green', label: 'Frozen' }, { min: -15, max: 10, color: 'red', label: 'Too warm' }] },
            { type: 'alert_panel', title: 'Active alerts', severities: ['critical', 'warning'] },
          ],
          layout: { columns: 3 },
        },
      ],
    });
    const now = Date.now();
    const history = Array.from({ length: 40 }, (_, i) => ({ timestamp: new Date(now - (40 - i) * 45_000).toISOString(), deviceId: i % 2 ? 'f-2' : 'f-1', temperature: -22 + Math.sin(i / 4) * 2 }));
    expect((await post(history)).status).toBe(202);
    await local.waitForPoints(stream.id, `start=${new Date(now - 3_600_000).toISOString()}&limit=100`, (p) => p.length === 40);
    browser = await chromium.launch({ executablePath: browserFound.path!, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await local?.close();
  });

  it('signs in with a token kept in sessionStorage and lists the streams', async () => {
    await page.goto(`${local.base}/`);
    await expect(page.getByLabel('Token').isVisible()).resolves.toBe(true);
    await page.getByLabel('Token').fill(ADMIN);
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: /Freezer room/ }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('tributary.token')")).toBe(ADMIN);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  it('opens the stream’s saved dashboard: its chart, gauge (schema range and unit) and a live WebSocket', async () => {
    await page.getByRole('link', { name: /Freezer room/ }).click();
    await page.locator('.chart[data-field="temperature"][data-points="40"]').waitFor();
    await page.getByRole('status', { name: 'Stream health' }).getByText('live (websocket)').waitFor();
    const meter = page.getByRole('meter', { name: 'Current temperature' });
    expect(await meter.getAttribute('aria-valuemin')).toBe('-40');
    expect(await meter.getAttribute('aria-valuemax')).toBe('10');
    expect(await page.locator('.gauge .bounds').innerText()).toContain('celsius');
    expect(await page.locator('#granularity').innerText()).toBe('granularity: raw');
  });

  it('draws a point posted over HTTP within 1 s, on the chart and the gauge', async () => {
    const time = new Date().toISOString();
    const started = Date.now();
    expect((await post({ timestamp: time, deviceId: 'f-1', temperature: -19.5 })).status).toBe(202);
    await page.locator(`.chart[data-field="temperature"][data-last-time="${time}"]`).waitFor({ timeout: 5_000 });
    const elapsed = Date.now() - started;
    console.log(`dashboard: posted point on the chart after ${elapsed} ms`);
    expect(elapsed).toBeLessThan(1_000);
    expect(await page.getByRole('meter', { name: 'Current temperature' }).getAttribute('aria-valuenow')).toBe('-19.5');
  });

  it('shows the alert the next point fires in the alert panel, and acknowledges it', async () => {
    expect((await post({ timestamp: new Date().toISOString(), deviceId: 'f-2', temperature: -6 })).status).toBe(202);
    const item = page.locator('.alert_panel li[data-state="firing"]', { hasText: 'freezer warm' });
    await item.waitFor({ timeout: 10_000 });
    expect(await item.innerText()).toContain('critical');
    await page.locator('[role="meter"][aria-valuetext*="Too warm"]').waitFor();
    if (shots) await page.screenshot({ path: join(shotDir, 'dashboard-stream.png') });
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await item.getByText('acknowledged').waitFor();
    const alerts = await local.api(`/v1/streams/${stream.id}/alerts`);
    expect(alerts.body.alerts.find((a: any) => a.rule === 'freezer warm')).toMatchObject({ state: 'firing', acknowledged: true });
  });

  it('downloads a CSV of the range whose rows are the query API’s', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const name = download.suggestedFilename();
    const m = /^freezer-room_(.+)_(.+)\.csv$/.exec(name);
    expect(m).not.toBeNull();
    const iso = (s: string) => s.replace(/T(\d\d)-(\d\d)-(\d\d)/, 'T$1:$2:$3');
    const rows: string[][] = parse(await readFile((await download.path())!, 'utf8'));
    const q = await local.api(`/v1/streams/${stream.id}/data?start=${iso(m![1]!)}&end=${iso(m![2]!)}&limit=10000`);
    expect(q.status).toBe(200);
    expect(rows[0]).toEqual(['time', 'deviceId', 'temperature']);
    expect(rows.slice(1)).toEqual(q.body.points.map((p: any) => [p.time, p.dimensions.deviceId, String(p.values.temperature)]));
    expect(rows).toHaveLength(43);
  });

  it('falls back to Server-Sent Events where the browser has no WebSocket, and still draws a posted point', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      await context.addInitScript('delete window.WebSocket');
      const sse = await context.newPage();
      await sse.goto(`${local.base}/`);
      await sse.getByLabel('Token').fill(ADMIN);
      await sse.getByRole('button', { name: 'Sign in' }).click();
      await sse.getByRole('link', { name: /Freezer room/ }).click();
      await sse.getByRole('status', { name: 'Stream health' }).getByText('live (sse)').waitFor();
      const time = new Date().toISOString();
      const started = Date.now();
      expect((await post({ timestamp: time, deviceId: 'f-1', temperature: -21 })).status).toBe(202);
      await sse.locator(`.chart[data-field="temperature"][data-last-time="${time}"]`).waitFor({ timeout: 5_000 });
      console.log(`dashboard (SSE): posted point on the chart after ${Date.now() - started} ms`);
    } finally {
      await context.close();
    }
  });

  it('is usable from the keyboard: the range picker switches granularity as the range grows', async () => {
    await page.getByLabel('Range').focus();
    await page.getByLabel('Range').selectOption('24h');
    await page.locator('#granularity', { hasText: 'granularity: 5m' }).waitFor();
    await page.locator('.chart[data-field="temperature"]').waitFor();
    await page.getByLabel('Range').selectOption('7d');
    await page.locator('#granularity', { hasText: 'granularity: 1h' }).waitFor();
  });
});
