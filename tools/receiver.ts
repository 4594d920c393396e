import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * `npm run receiver`: the other end of the README's walkthrough, on this machine. It
 *
 * - receives alert webhooks (`POST /hooks/<anything>`), verifies their Standard Webhooks signature
 *   (`webhook-id`, `webhook-timestamp`, `webhook-signature` keyed by the stream's `whsec_…` secret), answers
 *   204 when it holds and 401 when it does not, and prints one line per delivery;
 * - serves the pull example's source, `GET /readings.json`, always the same two readings;
 * - with `--mqtt-user`, subscribes to a stream's device topics and prints every message (alert actions
 *   of type `mqtt_publish` land there);
 * - answers `GET /healthz` once it listens and (with `--mqtt-user`) is subscribed, so a script can wait for it.
 *
 * It imports nothing of Tributary: copy it as the start of your own receiver.
 */

/** The pull example's source: fixed readings, so the walkthrough's answers are the same on any day. */
export const READINGS = {
  data: [
    { station: 'north', at: '2026-11-24T09:00:00Z', celsius: -3.5 },
    { station: 'south', at: '2026-11-24T09:00:00Z', celsius: 1.25 },
  ],
};

const USAGE = `Usage: npm run receiver -- [--port 8080] [--host 127.0.0.1] [--secret whsec_…]
                         [--mqtt-url mqtt://127.0.0.1:1883 --mqtt-user DEVICE --mqtt-password TOKEN --mqtt-topic FILTER]

  --secret         the stream's alertSigningSecret; without it deliveries are printed but not verified
  --mqtt-user      subscribe as this device (its password: the stream's ingest token) to --mqtt-topic
  (secrets also from the environment, out of sight of ps: RECEIVER_SECRET, RECEIVER_MQTT_PASSWORD; RECEIVER_PORT)`;

const { values: opts } = (() => {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        secret: { type: 'string' },
        'mqtt-url': { type: 'string', default: 'mqtt://127.0.0.1:1883' },
        'mqtt-user': { type: 'string' },
        'mqtt-password': { type: 'string' },
        'mqtt-topic': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(opts.port ?? process.env.RECEIVER_PORT ?? 8080);
const secret = opts.secret ?? process.env.RECEIVER_SECRET;
const webhook = (() => {
  if (!secret) return undefined;
  try {
    return new Webhook(secret);
  } catch (err) {
    console.error(`--secret is not a signing secret (whsec_ and base64): ${(err as Error).message}`);
    process.exit(2);
  }
})();
let subscribed = !opts['mqtt-user'];

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    console.log(`error: ${(err as Error).message}`);
    if (!res.headersSent) res.writeHead(500).end();
  });
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  const body = await readBody(req);
  if (req.method === 'GET' && path === '/healthz') {
    // 503 until subscribed, without a body: `curl -sf --retry` waits through it and prints only the final answer
    if (subscribed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
    else res.writeHead(503, { 'retry-after': '1' }).end();
    return;
  }
  if (req.method === 'GET' && path === '/readings.json') {
    console.log('served GET /readings.json');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(READINGS));
    return;
  }
  if (req.method === 'POST' && path.startsWith('/hooks/')) {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
    const id = headers['webhook-id'] || '(none)';
    let verdict = 'signature not checked (start the receiver with --secret)';
    if (webhook) {
      try {
        webhook.verify(body, headers);
        verdict = 'signature verified';
      } catch (err) {
        const why = err instanceof WebhookVerificationError ? err.message : String(err);
        console.log(`webhook ${path} id ${id}: signature INVALID (${why}), answered 401`);
        res.writeHead(401).end();
        return;
      }
    }
    console.log(`webhook ${path} id ${id}: ${verdict}: ${summary(body)}`);
    res.writeHead(204).end();
    return;
  }
  res.writeHead(404).end();
}

/** One line for a delivery: the alert's rule, severity, value and series if it is one, else the body. */
function summary(body: string): string {
  try {
    const parsed = JSON.parse(body) as { type?: string; alert?: { rule?: string; severity?: string; value?: unknown; dimensions?: unknown } };
    const a = parsed.alert;
    if (parsed.type && a) return `${parsed.type} "${a.rule}" ${a.severity} value ${JSON.stringify(a.value)} ${JSON.stringify(a.dimensions ?? {})}`;
  } catch {
    // not JSON: print it as it came
  }
  return body.length > 300 ? `${body.slice(0, 300)}…` : body;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

server.once('error', (err: NodeJS.ErrnoException) => {
  console.error(err.code === 'EADDRINUSE' ? `port ${port} is in use: pass --port (or RECEIVER_PORT) with another one` : err.message);
  process.exit(1);
});
server.listen(port, opts.host, () => {
  console.log(`receiver listening on http://${opts.host}:${port}: POST /hooks/… (alert webhooks), GET /readings.json (pull source)`);
  const user = opts['mqtt-user'];
  if (!user) return;
  const topic = opts['mqtt-topic'] ?? '#';
  const client = mqtt.connect(opts['mqtt-url'], { username: user, clientId: user, password: opts['mqtt-password'] ?? process.env.RECEIVER_MQTT_PASSWORD ?? '', protocolVersion: 4, reconnectPeriod: 1_000 });
  client.on('connect', () => {
    client.subscribe(topic, { qos: 1 }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) {
        console.log(`mqtt: subscribe to ${topic} refused`);
        return;
      }
      if (!subscribed) console.log(`mqtt: subscribed to ${topic} as ${user}`);
      subscribed = true;
    });
  });
  client.on('error', (err) => console.log(`mqtt: ${err.message}`));
  client.on('message', (t, payload) => console.log(`mqtt ${t}: ${summary(payload.toString('utf8'))}`));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
