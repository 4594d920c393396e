import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { HttpResult } from '../../functions/commons/http';

/** The dashboard's files in the repository (`web/`), served by `npm start` and deployed to S3 by the CDK app. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** uPlot's browser build and stylesheet, served from the installed package as `ui/vendor/…`. */
export const UPLOT_FILES = { 'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js', 'uPlot.min.css': 'uplot/dist/uPlot.min.css' } as const;

/** Every file of the site: its URL path, where it is read from and its type. Nothing else is served. */
export function siteFiles(): { path: string; file: string; type: string }[] {
  const require = createRequire(import.meta.url);
  const web = (name: string, type: string) => ({ path: `/${name}`, file: `${WEB_DIR}${name}`, type });
  return [
    web('index.html', 'text/html; charset=utf-8'),
    web('ui/app.js', 'text/javascript; charset=utf-8'),
    web('ui/api.js', 'text/javascript; charset=utf-8'),
    web('ui/live.js', 'text/javascript; charset=utf-8'),
    web('ui/panels.js', 'text/javascript; charset=utf-8'),
    web('ui/style.css', 'text/css; charset=utf-8'),
    ...Object.entries(UPLOT_FILES).map(([name, mod]) => ({ path: `/ui/vendor/${name}`, file: require.resolve(mod), type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' })),
  ];
}

/**
 * The page may load only its own scripts and styles (uPlot sets inline styles, hence `'unsafe-inline'` for
 * styles alone), talk only to this origin (HTTP and WebSocket), and be framed by no one.
 */
const securityHeaders = (host: string | undefined): Record<string, string> => ({
  'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'${host ? ` ws://${host} wss://${host}` : ''}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

export interface DashboardSite {
  /** The answer for a GET or HEAD of `path`, or `undefined` when it is not a file of the site. */
  answer(method: string, path: string, host: string | undefined): HttpResult | undefined;
}

/**
 * The dashboard as `npm start` serves it on the API's port: `/` (and `/index.html`), its modules under `/ui/`,
 * uPlot under `/ui/vendor/`, and `/config.json` (empty URLs: the page talks to its own origin). Read once at
 * start, kept in memory (87 KB), served with `no-cache` so an edited file shows on reload.
 *
 * @example
 * const site = await loadDashboardSite();
 * site.answer('GET', '/', 'localhost:3000'); // { statusCode: 200, headers: { 'content-type': 'text/html; …' }, body }
 */
export async function loadDashboardSite(): Promise<DashboardSite> {
  const files = new Map<string, { body: string; type: string }>();
  for (const f of siteFiles()) files.set(f.path, { body: await readFile(f.file, 'utf8'), type: f.type });
  files.set('/', files.get('/index.html')!);
  files.set('/config.json', { body: JSON.stringify({ apiUrl: '', liveUrl: '' }), type: 'application/json' });
  return {
    answer(method, path, host) {
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      const f = files.get(path);
      if (!f) return undefined;
      return { statusCode: 200, headers: { 'content-type': f.type, 'cache-control': 'no-cache', ...securityHeaders(host) }, body: method === 'HEAD' ? '' : f.body };
    },
  };
}
