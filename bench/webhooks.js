// Webhook ingest: verified POST /api/v0/hooks/:slug (HMAC-SHA256 over the raw body, CEL filter,
// input templates, the delivery key SET NX on the KV, then the normal start) to 202, against its
// anchor, POST /api/v0/workflows/:id/executions (the same start with the same input) on the same
// server, in alternating rounds. SQLite store and KV on disk; Temporal's start is a no-op, so what
// is measured is compozy's ingest path. Last line: one JSON object.
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { load, startServer, sqliteBackends, summary } from './http-load.js';

const PHASE_MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PROJECT = join(import.meta.dirname, 'projects', 'webhook');
const SECRET = 'bench-webhook-secret';

async function server() {
  const { buildApp } = await import('../dist/server/app.js');
  const { loadValidProject } = await import('../dist/config/valid-project.js');
  const { compileProject } = await import('../dist/engine/project.js');
  const { EngineClient } = await import('../dist/engine/client.js');
  const { ksuid } = await import('../dist/store/ksuid.js');
  const { store, kv, serve } = await sqliteBackends('compozy-bench-webhooks-');
  const config = loadValidProject(PROJECT);
  const client = { workflow: { async start() {} } };
  const engine = new EngineClient({ client, store, project: compileProject(config, 20), taskQueue: 'bench', workerAvailable: async () => true });
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'webhook', status: 'up', components: [] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events: { publish: async () => ksuid() } },
    project: config,
    webhooks: { kv, env: { BENCH_WEBHOOK_SECRET: SECRET } },
  });
  await serve(app);
}

async function main() {
  const target = await startServer(import.meta.filename, 'server');
  const delivery = JSON.stringify({ type: 'order.created', data: { id: 'ord_1', amount: 42 } });
  const signature = createHmac('sha256', SECRET).update(delivery).digest('hex');
  const start = JSON.stringify({ input: { order_id: 'ord_1', amount: 42 } });
  let n = 0;
  const phase = (kind) =>
    load(target, {
      phaseMs: PHASE_MS,
      concurrency: CONCURRENCY,
      expect: 202,
      next: () =>
        kind === 'webhook'
          ? { method: 'POST', path: '/api/v0/hooks/orders', headers: { 'content-type': 'application/json', 'x-signature': signature, 'x-idempotency-key': `delivery-${n++}` }, body: delivery }
          : { method: 'POST', path: '/api/v0/workflows/orders/executions', headers: { 'content-type': 'application/json' }, body: start },
    });
  try {
    await phase('start');
    await phase('webhook');
    const phases = { start: [], webhook: [] };
    for (let round = 0; round < ROUNDS; round++) {
      phases.start.push(await phase('start'));
      phases.webhook.push(await phase('webhook'));
    }
    const anchor = summary(phases.start);
    const webhook = summary(phases.webhook);
    const ratios = phases.webhook.map((w, i) => w.count / w.seconds / (phases.start[i].count / phases.start[i].seconds)).sort((a, b) => a - b);
    const pairedRatio = ratios[Math.floor(ratios.length / 2)];
    console.log(`start (anchor):      ${anchor.rps} req/s, p50 ${anchor.p50_ms} ms, p99 ${anchor.p99_ms} ms, ${anchor.server_cpu_us_per_request} µs server CPU/request`);
    console.log(`verified webhook:    ${webhook.rps} req/s, p50 ${webhook.p50_ms} ms, p99 ${webhook.p99_ms} ms, ${webhook.server_cpu_us_per_request} µs server CPU/request`);
    console.log(`webhook/start throughput ${pairedRatio.toFixed(3)} (median of ${ROUNDS} paired rounds)`);
    console.log(JSON.stringify({ route: 'POST /api/v0/hooks/:slug (hmac)', anchor_route: 'POST /api/v0/workflows/:id/executions', concurrency: CONCURRENCY, phase_ms: PHASE_MS, rounds: ROUNDS, anchor, webhook, paired_median_ratio: Number(pairedRatio.toFixed(4)), cpu_ratio: Number((anchor.server_cpu_us_per_request / webhook.server_cpu_us_per_request).toFixed(4)) }));
  } finally {
    target.child.stdin.end();
    await once(target.child, 'exit');
  }
}

if (process.argv[2] === 'server') await server();
else await main();
