// The API as the dashboard uses it: the token from sessionStorage, problem+json turned into an Error with its detail.
const TOKEN_KEY = 'tributary.token';

let config = { apiUrl: '', liveUrl: '' };

/** Reads config.json (the stack's API and live URLs in AWS; empty locally: this page's own origin). */
export async function loadConfig() {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) config = { ...config, ...(await res.json()) };
  } catch {
    // served without a config: same origin
  }
  return config;
}

export const apiBase = () => (config.apiUrl || location.origin).replace(/\/+$/, '');
export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (t) => (t ? sessionStorage.setItem(TOKEN_KEY, t) : sessionStorage.removeItem(TOKEN_KEY));

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** A JSON request with the bearer token; resolves to the parsed body (undefined for 204). */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(`${apiBase()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token()}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

/** A file from the API (the export route), saved through a temporary link; a 303 to a presigned URL is followed by fetch. */
export async function download(path, fallbackName) {
  const res = await fetch(`${apiBase()}${path}`, { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) throw new ApiError(res.status, safeJson(await res.text()));
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** The live URL of a stream: the stack's WebSocket API in AWS, this API's own path locally. */
export function liveUrl(id, query) {
  const base = config.liveUrl ? config.liveUrl.replace(/\/+$/, '') : `${apiBase().replace(/^http/, 'ws')}/v1/streams/${encodeURIComponent(id)}/live`;
  const sep = base.includes('?') ? '&' : '?';
  return `${base}${sep}${config.liveUrl ? `stream=${encodeURIComponent(id)}&` : ''}${query}`;
}

/** The Server-Sent Events URL of a stream (local runtime only: API Gateway's HTTP API cannot hold a response open). */
export const sseUrl = (id, query) => `${apiBase()}/v1/streams/${encodeURIComponent(id)}/live?${query}`;

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
