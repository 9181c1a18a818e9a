// GET /api/v0/executions/workflows/:id with API keys and rate limits on (auth on a Bearer key checked
// against the SQLite store, a budget counted on the SQLite KV) against the same route with both off,
// in one run: server processes loaded one at a time by this one, in rounds that rotate which goes
// first; the costs reported are the medians of the rounds' pairs, with their range, beside the same
// figures for a second server with both off (the noise floor of this machine at the time).
// Last line: one JSON object.
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { load as loadPhase, startServer as spawnServer, sqliteBackends, summary } from './http-load.js';

const PHASE_MS = Number(process.env.BENCH_MS ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
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

/** The median of numbers, and their range: how far the rounds spread under this machine's other load. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  const round = (value) => Number(value.toFixed(4));
  return { median: round(median), min: round(sorted[0]), max: round(sorted.at(-1)) };
}

/** Per round, the cost of `side` against `base` (phases of the same round): in throughput and in server CPU per request. */
function pairedCosts(side, base) {
  const costs = side.map((phase, i) => ({
    throughput: 1 - phase.count / phase.seconds / (base[i].count / base[i].seconds),
    cpu: 1 - base[i].cpuUs / base[i].count / (phase.cpuUs / phase.count),
  }));
  return { throughput: spread(costs.map((c) => c.throughput)), cpu: spread(costs.map((c) => c.cpu)) };
}

async function main() {
  // `control` is a second server with both off: its "cost" against `off` is what noise alone shows.
  const servers = { off: await startServer(false), on: await startServer(true), control: await startServer(false) };
  const sides = Object.keys(servers);
  const loadBefore = loadavg()[0];
  try {
    for (const side of sides) await load(servers[side]);
    const phases = { off: [], on: [], control: [] };
    // Each round rotates which server goes first, so load that rises or falls during the run weighs
    // on every side alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(round + i) % sides.length];
        phases[side].push(await load(servers[side]));
      }
    }
    const plain = summary(phases.off);
    const secured = summary(phases.on);
    const cost = 1 - secured.rps / plain.rps;
    const cpuCost = 1 - plain.server_cpu_us_per_request / secured.server_cpu_us_per_request;
    // The medians of the rounds' pairs are less moved by other processes than the totals are.
    const paired = pairedCosts(phases.on, phases.off);
    const noise = pairedCosts(phases.control, phases.off);
    const loadAverage = [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))];
    const percent = (value) => `${(value * 100).toFixed(1)} %`;
    const range = ({ median, min, max }) => `median ${percent(median)} of ${ROUNDS} paired rounds (${percent(min)} to ${percent(max)})`;
    console.log(`machine load average (1 min) ${loadAverage[0]} at the start, ${loadAverage[1]} at the end, on ${availableParallelism()} cores`);
    console.log(`both off:  ${plain.rps} req/s, p50 ${plain.p50_ms} ms, p99 ${plain.p99_ms} ms, ${plain.server_cpu_us_per_request} µs server CPU per request`);
    console.log(`auth + rate limit on: ${secured.rps} req/s, p50 ${secured.p50_ms} ms, p99 ${secured.p99_ms} ms, ${secured.server_cpu_us_per_request} µs server CPU per request`);
    // The server's CPU time per request decides its throughput once it has a core to itself; requests/s
    // also move with this machine's other load and the load generator's own limit.
    console.log(`throughput cost: ${range(paired.throughput)}, ${percent(cost)} overall`);
    console.log(`server CPU cost: ${range(paired.cpu)}, ${percent(cpuCost)} overall (target ≤ 10 % for both medians)`);
    console.log(`noise floor (a second server with both off against the first): throughput ${range(noise.throughput)}; CPU ${range(noise.cpu)}`);
    console.log(JSON.stringify({
      route: 'GET /api/v0/executions/workflows/:id', concurrency: CONCURRENCY, phase_ms: PHASE_MS, rounds: ROUNDS, load_average: loadAverage, off: plain, on: secured,
      throughput_cost: Number(cost.toFixed(4)), cpu_cost: Number(cpuCost.toFixed(4)), paired_throughput_cost: paired.throughput, paired_cpu_cost: paired.cpu,
      noise_throughput_cost: noise.throughput, noise_cpu_cost: noise.cpu,
      target_met: paired.throughput.median <= 0.1 && paired.cpu.median <= 0.1,
    }));
  } finally {
    for (const side of sides) servers[side].child.stdin.end();
    await Promise.all(sides.map((side) => once(servers[side].child, 'exit')));
  }
}

const role = process.argv[2];
if (role === 'server-on' || role === 'server-off') await server(role === 'server-on');
else await main();
