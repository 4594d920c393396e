import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { LocalConfig } from '../../infra/local/config';
import { startRuntime, type Runtime, type RuntimeOptions } from '../../infra/local/runtime';

export const ADMIN = 'trb_e2e-admin-token-0123456789abcdef';

export interface Local {
  rt: Runtime;
  base: string;
  mqttUrl: string;
  dataDir: string;
  api(path: string, init?: { method?: string; token?: string | null; body?: unknown; raw?: string; contentType?: string }): Promise<{ status: number; type: string; body: any }>;
  createStream(def: Record<string, unknown>): Promise<{ id: string; ingestToken: string }>;
  /** Polls the query API until `predicate` holds for the points, or fails after `ms`. */
  waitForPoints(streamId: string, query: string, predicate: (points: any[]) => boolean, ms?: number): Promise<any[]>;
  device(username: string, password: string, clientId?: string): Promise<MqttClient>;
  close(): Promise<void>;
}

/** Starts the local runtime on free ports in a fresh data dir (its points in DuckDB, or in the InfluxDB `influx` names). */
export async function startLocal(
  options: { dataDir?: string; alerts?: RuntimeOptions['alerts']; pulls?: RuntimeOptions['pulls']; queue?: RuntimeOptions['queue']; faults?: RuntimeOptions['faults']; clock?: RuntimeOptions['clock']; live?: RuntimeOptions['live']; influx?: LocalConfig['influx']; exportInlineBytes?: number } = {},
): Promise<Local> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tributary-e2e-')));
  const rt = await startRuntime(
    { httpPort: 0, mqttPort: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN, quiet: true, ...(options.influx && { influx: options.influx }) },
    { demo: false, queue: { batchWindowMs: 5, ...options.queue }, ...(options.clock && { clock: options.clock }), ...(options.faults && { faults: options.faults }), ...(options.alerts && { alerts: options.alerts }), ...(options.pulls && { pulls: options.pulls }), ...(options.live && { live: options.live }), ...(options.exportInlineBytes !== undefined && { exportInlineBytes: options.exportInlineBytes }) },
  );
  const base = `http://127.0.0.1:${rt.httpPort}`;
  const clients: MqttClient[] = [];

  const local: Local = {
    rt,
    base,
    mqttUrl: `mqtt://127.0.0.1:${rt.mqttPort}`,
    dataDir,
    async api(path, init = {}) {
      const token = init.token === undefined ? ADMIN : init.token;
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
      if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
      const res = await fetch(`${base}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined && { body }) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : undefined };
    },
    async createStream(def) {
      const r = await local.api('/v1/streams', { body: def });
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.body)}`);
      return { id: r.body.id, ingestToken: r.body.ingestToken };
    },
    async waitForPoints(streamId, query, predicate, ms = 15_000) {
      const until = Date.now() + ms;
      let last: any[] = [];
      while (Date.now() < until) {
        const r = await local.api(`/v1/streams/${streamId}/data?${query}`);
        if (r.status !== 200) throw new Error(`query failed: ${r.status} ${JSON.stringify(r.body)}`);
        last = r.body.points;
        if (predicate(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`timed out waiting for points; last saw ${last.length}: ${JSON.stringify(last.slice(0, 3))}`);
    },
    async device(username, password, clientId = username) {
      const client = mqtt.connect(local.mqttUrl, { username, password, clientId, reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4 });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed before CONNACK')));
      });
      return client;
    },
    async close() {
      for (const c of clients) c.end(true);
      await rt.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return local;
}

/** Publishes at QoS 1 and resolves `acked` on PUBACK, `closed` if the broker drops the connection first. */
export function publishQos1(client: MqttClient, topic: string, payload: string): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    const onClose = () => resolve('closed');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'closed' : 'acked');
    });
  });
}
