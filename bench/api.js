// GET /api/v0/executions/workflows/:id with API keys and rate limits on (auth on a Bearer key checked
// against the SQLite store, a budget counted on the SQLite KV) against the same route with both off,
// in one run: two server processes, loaded one at a time by this one, in alternating rounds.
// Last line: one JSON object.
import { once } from 'node:events';
import { join } from 'node:path';
import { load as loadPhase, startServer as spawnServer, sqliteBackends, summary } from './http-load.js';

const PHASE_MS = Number(process.env.BENCH_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PROJECT = join(import.meta.dirname, 'projects', 'one-task');

/** The server side, in its own process: an execution with a few task states, and the API over it. */
async function server(secured) {
  const { buildApp } = await import('../dist/server/app.js');
  const { loadSettings } = await import('../dist/config/settings.js');
  const { loadValidProject } = await import('../dist/config/valid-project.js');
  const { compileProject } = await import('../dist/engine/project.js');
  const { EngineClient } = await import('../dist/engine/client.js');
  const { createKey } = await import('../dist/server/auth/keys.js');
  const { ksuid } = await import('../dist/store/ksuid.js');
  const { store, kv, serve } = await sqliteBackends('compozy-bench-api-');
  const execId = ksuid();
  await store.createWorkflowExecution({ workflowExecId: execId, workflowId: 'one-task', input: { n: 1 } });
  for (let i = 0; i < 5; i++) {
    await store.upsertTaskState({ taskExecId: ksuid(), taskId: `t${i}`, workflowExecId: execId, workflowId: 'one-task', component: 'task', status: 'SUCCESS', executionType: 'basic', input: { i }, output: { value: i } });
  }
  await store.updateWorkflowExecution(execId, { status: 'SUCCESS', output: { n: 1 } });
  const document = secured ? { auth: { enabled: true }, server: { rate_limit: { requests: 1_000_000_000, period: '1h' } } } : { auth: { enabled: false } };
  const settings = loadSettings({ document }, {}, {});
  const key = secured ? (await createKey(store.apiKeys, { name: 'bench', scope: 'read', expiresAt: null })).key : undefined;
  const client = { workflow: { async start() {} } };
  const engine = new EngineClient({ client, store, project: compileProject(loadValidProject(PROJECT), 20), taskQueue: 'bench', workerAvailable: async () => true });
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'bench', status: 'up', components: [] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events: { publish: async () => ksuid() } },
    security: { host: '127.0.0.1', settings, keys: store.apiKeys, kv },
  });
  await serve(app, { execId, key });
}

const startServer = (secured) => spawnServer(import.meta.filename, secured ? 'server-on' : 'server-off');

/** GET the execution over PHASE_MS with CONCURRENCY requests in flight. */
function load(target) {
  const request = { method: 'GET', path: `/api/v0/executions/workflows/${target.execId}`, headers: target.key ? { authorization: `Bearer ${target.key}` } : {} };
  return loadPhase(target, { phaseMs: PHASE_MS, concurrency: CONCURRENCY, expect: 200, next: () => request });
}

async function main() {
  const off = await startServer(false);
  const on = await startServer(true);
  try {
    await load(off);
    await load(on);
    const phases = { off: [], on: [] };
    for (let round = 0; round < ROUNDS; round++) {
      phases.off.push(await load(off));
      phases.on.push(await load(on));
    }
    const plain = summary(phases.off);
    const secured = summary(phases.on);
    const cost = 1 - secured.rps / plain.rps;
    // Each round's pair ran back to back: the median of their ratios is less moved by load from other processes.
    const ratios = phases.on.map((on, i) => on.count / on.seconds / (phases.off[i].count / phases.off[i].seconds)).sort((a, b) => a - b);
    const pairedCost = 1 - ratios[Math.floor(ratios.length / 2)];
    console.log(`both off:  ${plain.rps} req/s, p50 ${plain.p50_ms} ms, p99 ${plain.p99_ms} ms`);
    console.log(`auth + rate limit on: ${secured.rps} req/s, p50 ${secured.p50_ms} ms, p99 ${secured.p99_ms} ms`);
    // The server's CPU time per request decides its throughput once it has a core to itself; the
    // requests/s above also move with this machine's other load and the load generator's own limit.
    const cpuCost = 1 - plain.server_cpu_us_per_request / secured.server_cpu_us_per_request;
    console.log(`server CPU per request: ${plain.server_cpu_us_per_request} µs off, ${secured.server_cpu_us_per_request} µs on: ${(cpuCost * 100).toFixed(1)} % fewer requests per CPU second`);
    console.log(`throughput cost ${(cost * 100).toFixed(1)} % overall, ${(pairedCost * 100).toFixed(1)} % median of ${ROUNDS} paired rounds (target ≤ 10 %)`);
    console.log(JSON.stringify({ route: 'GET /api/v0/executions/workflows/:id', concurrency: CONCURRENCY, phase_ms: PHASE_MS, rounds: ROUNDS, off: plain, on: secured, throughput_cost: Number(cost.toFixed(4)), paired_median_cost: Number(pairedCost.toFixed(4)), cpu_cost: Number(cpuCost.toFixed(4)), target_met: cpuCost <= 0.1 }));
  } finally {
    off.child.stdin.end();
    on.child.stdin.end();
    await Promise.all([once(off.child, 'exit'), once(on.child, 'exit')]);
  }
}

const role = process.argv[2];
if (role === 'server-on' || role === 'server-off') await server(role === 'server-on');
else await main();
