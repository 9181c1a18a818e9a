// 500 executions of a one-task workflow, 32 in flight, through compozy's engine (API-equivalent start:
// input validation, execution row, interpreter workflow, tool in the warm pool, task and workflow state
// written, each also to the execution's stream log on the SQLite KV, as serve does) against the Temporal SDK hello-world (client start + one activity), same dev server, same run.
// Then a collection of n trivial tool tasks at n = 100, 1,000, 10,000: milliseconds per item (flat when
// the engine's bookkeeping is O(n)) and the store rows each task's activities read. Each figure comes
// with the CPU it cost (this process, the Temporal dev server, the tool processes) and the load average
// while it ran: on a shared machine wall-clock figures move with other people's work, CPU much less.
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadValidProject } from '../dist/config/valid-project.js';
import { EngineActivities } from '../dist/engine/activities/engine-activities.js';
import { WORKFLOW_BUNDLE_PATH } from '../dist/engine/bundle-path.js';
import { EngineClient } from '../dist/engine/client.js';
import { compileProject } from '../dist/engine/project.js';
import { freePort } from '../dist/platform/ports.js';
import { LlmAgents } from '../dist/llm/agent-runner.js';
import { toolInvoker } from '../dist/server/engine-deps.js';
import { SqliteStore } from '../dist/store/sqlite/sqlite-store.js';
import { SqliteKv } from '../dist/kv/sqlite/sqlite-kv.js';
import { RecordingStore } from '../dist/engine/recording-store.js';
import { ExecutionStreamLog } from '../dist/engine/stream-log.js';
import { resolveTemporalBinary } from '../dist/temporal/binary.js';
import { devServerArgs } from '../dist/temporal/dev-server.js';
import { waitForTemporal } from '../dist/temporal/readiness.js';

const TOTAL = Number(process.env.BENCH_EXECUTIONS ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Linux's USER_HZ, the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;
const COLLECTION_SIZES = (process.env.BENCH_COLLECTION_SIZES ?? '100,1000,10000').split(',').map(Number);

/** The store with a count of the rows its reads return (an execution row, each task state). */
function countingStore(store) {
  const count = { rows: 0 };
  const rows = {
    getWorkflowExecution: (e) => (e ? 1 + e.taskStates.length : 1),
    readTaskContext: (c) => (c ? 1 + c.tasks.length + c.states.length + c.children.length : 1),
    listTaskStates: (states) => Math.max(1, states.length),
    listWorkflowExecutions: (page) => Math.max(1, page.items.length),
    exists: () => 1,
    countByStatus: () => 1,
  };
  const counted = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key);
      if (typeof value !== 'function') return value;
      const measure = rows[key];
      return measure
        ? async (...args) => {
            const result = await value.apply(target, args);
            count.rows += measure(result);
            return result;
          }
        : value.bind(target);
    },
  });
  return { store: counted, count };
}

Runtime.install({ logger: new DefaultLogger('ERROR') });

/** The benchmark's workflows send no signals and run no memory tasks. */
const signals = { dispatch: async () => Promise.reject(new Error('the benchmark workflows send no signals')) };
const memory = { execute: async () => Promise.reject(new Error('the benchmark workflows run no memory tasks')) };

/** CPU milliseconds a process has used (user + system), from /proc/<pid>/stat (this benchmark runs on Linux). */
function processCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/**
 * CPU used so far by the three parties of a run: this process (client, workers, store), the Temporal
 * dev server, and the tool processes (this process's other children). The machine is shared, so CPU
 * per execution is the steadier figure when wall-clock throughput moves with other people's load.
 */
function cpuNow(temporalPid) {
  const own = process.cpuUsage();
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  return {
    process: (own.user + own.system) / 1000,
    temporal: processCpuMs(temporalPid),
    tools: children.filter((pid) => pid !== temporalPid).reduce((sum, pid) => sum + processCpuMs(pid), 0),
  };
}

function cpuSince(before, temporalPid, per) {
  const after = cpuNow(temporalPid);
  return Object.fromEntries(Object.keys(before).map((k) => [k, (after[k] - before[k]) / per]));
}

const load1m = () => loadavg()[0];

async function measure(label, runOne, temporalPid) {
  const latencies = [];
  let next = 0;
  const cpuBefore = cpuNow(temporalPid);
  const loadBefore = load1m();
  const started = performance.now();
  const lane = async () => {
    while (next < TOTAL) {
      const i = next++;
      const t0 = performance.now();
      await runOne(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSince(cpuBefore, temporalPid, TOTAL);
  const load = (loadBefore + load1m()) / 2;
  console.log(
    `${label}: ${TOTAL} executions in ${seconds.toFixed(2)} s; CPU ms each: this process ${cpu.process.toFixed(2)}, Temporal server ${cpu.temporal.toFixed(2)}, tool processes ${cpu.tools.toFixed(2)}; load average ${load.toFixed(2)}`,
  );
  return { throughput: TOTAL / seconds, latencies, cpuMs: cpu.process, temporalCpuMs: cpu.temporal, toolCpuMs: cpu.tools, load };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const temporalBin = (await resolveTemporalBinary({ install: true })).path;
const stateDir = mkdtempSync(join(tmpdir(), 'compozy-bench-engine-'));
const port = await freePort();
const temporal = spawn(temporalBin, devServerArgs({ port, namespace: 'default', stateDir, cliVersion: 'bench' }), { stdio: 'ignore' });
const address = `127.0.0.1:${port}`;
const workers = [];
try {
  await waitForTemporal(address, 'default', { timeoutMs: 30_000 });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });

  const rawBundle = await bundleWorkflowCode({ workflowsPath: join(import.meta.dirname, 'raw-workflow.js'), logger: new DefaultLogger('ERROR') });
  const native = await NativeConnection.connect({ address });
  const rawWorker = await Worker.create({ connection: native, taskQueue: 'bench-raw', workflowBundle: rawBundle, activities: { greet: async (name) => `Hello, ${name}!` } });

  const projectConfig = loadValidProject(join(import.meta.dirname, 'projects', 'one-task'));
  const project = compileProject(projectConfig, 20);
  // As serve composes it in standalone mode: every state write also goes to the execution's stream log on the KV.
  const kv = SqliteKv.open(join(stateDir, 'kv.db'));
  const store = new RecordingStore(SqliteStore.open(join(stateDir, 'compozy.db')), new ExecutionStreamLog(kv));
  const tools = toolInvoker(projectConfig, project, { defaultTimeoutMs: 60_000, poolSize: 2, log: () => undefined, runsTasks: true });
  const agents = new LlmAgents({ projectDir: projectConfig.dir, models: projectConfig.models, resources: project.resources, tools, env: process.env });
  const activities = new EngineActivities({ store, tools, agents, memory, signals });
  const engineWorker = await Worker.create({ connection: native, taskQueue: 'bench-engine', workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, activities: activities.functions() });
  const engine = new EngineClient({ client, store, project, taskQueue: 'bench-engine', workerAvailable: async () => engineWorker.getState() === 'RUNNING' });
  const collectionConfig = loadValidProject(join(import.meta.dirname, 'projects', 'collection'));
  const collectionProject = compileProject(collectionConfig, 20);
  const counted = countingStore(SqliteStore.open(join(stateDir, 'collection.db')));
  const collectionTools = toolInvoker(collectionConfig, collectionProject, { defaultTimeoutMs: 60_000, poolSize: 2, log: () => undefined, runsTasks: true });
  const collectionActivities = new EngineActivities({ store: counted.store, tools: collectionTools, agents, memory, signals });
  const collectionWorker = await Worker.create({ connection: native, taskQueue: 'bench-collection', workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH }, activities: collectionActivities.functions() });
  const collectionEngine = new EngineClient({ client, store: counted.store, project: collectionProject, taskQueue: 'bench-collection', workerAvailable: async () => true });
  workers.push(rawWorker.run(), engineWorker.run(), collectionWorker.run());

  const raw = (i) => client.workflow.execute('rawHello', { taskQueue: 'bench-raw', workflowId: `raw-${process.pid}-${performance.now()}-${i}`, args: [`n${i}`] });
  const ours = async (i) => {
    const { execId } = await engine.start('hello', { name: `n${i}` });
    const result = await client.workflow.getHandle(execId).result();
    if (result.status !== 'SUCCESS') throw new Error(`execution ${execId} ended ${result.status}`);
  };

  // Warm both paths (bundles loaded, tool pool spawned, SQLite pages cached) before measuring.
  for (let i = 0; i < 20; i++) await Promise.all([raw(i), ours(i)]);

  const rawRuns = [];
  const engineRuns = [];
  for (let round = 0; round < ROUNDS; round++) {
    rawRuns.push(await measure(`raw SDK hello-world, round ${round + 1}`, raw, temporal.pid));
    engineRuns.push(await measure(`compozy engine, round ${round + 1}`, ours, temporal.pid));
  }
  const summary = (runs) => {
    const latencies = runs.flatMap((r) => r.latencies);
    const mean = (key) => runs.reduce((s, r) => s + r[key], 0) / runs.length;
    return { throughput: mean('throughput'), cpuMs: mean('cpuMs'), temporalCpuMs: mean('temporalCpuMs'), toolCpuMs: mean('toolCpuMs'), load: mean('load'), p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
  };
  const r = summary(rawRuns);
  const e = summary(engineRuns);

  const collection = {};
  const collectionOnce = async (n) => {
    const { execId } = await collectionEngine.start('each', { names: Array.from({ length: n }, (_, i) => `n${i}`) });
    const result = await client.workflow.getHandle(execId).result();
    if (result.status !== 'SUCCESS') throw new Error(`collection execution ${execId} ended ${result.status}`);
  };
  await collectionOnce(20);
  for (const n of COLLECTION_SIZES) {
    counted.count.rows = 0;
    const cpuBefore = cpuNow(temporal.pid);
    const loadBefore = load1m();
    const t0 = performance.now();
    await collectionOnce(n);
    const ms = performance.now() - t0;
    const cpu = cpuSince(cpuBefore, temporal.pid, n);
    const load = (loadBefore + load1m()) / 2;
    // n children and the collection itself.
    collection[n] = { msPerItem: ms / n, readsPerTask: counted.count.rows / (n + 1), cpuMsPerItem: cpu.process + cpu.temporal + cpu.tools, load };
    console.log(
      `collection of ${n}: ${(ms / 1000).toFixed(2)} s, ${(ms / n).toFixed(2)} ms/item, ${(counted.count.rows / (n + 1)).toFixed(2)} store rows read per task; CPU ms per item: this process ${cpu.process.toFixed(2)}, Temporal server ${cpu.temporal.toFixed(2)}, tool processes ${cpu.tools.toFixed(2)}; load average ${load.toFixed(2)}`,
    );
  }

  rawWorker.shutdown();
  engineWorker.shutdown();
  collectionWorker.shutdown();
  await Promise.all(workers);
  await tools.close();
  await collectionTools.close();
  await store.close();
  await kv.close();
  await counted.store.close();
  await native.close();
  await connection.close();
  const round2 = (x) => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      executions: TOTAL,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      engine_throughput_per_s: round2(e.throughput),
      raw_throughput_per_s: round2(r.throughput),
      throughput_ratio: round2(e.throughput / r.throughput),
      throughput_ratio_worst_round: round2(Math.min(...engineRuns.map((run, i) => run.throughput / rawRuns[i].throughput))),
      engine_p50_ms: round2(e.p50),
      engine_p95_ms: round2(e.p95),
      raw_p50_ms: round2(r.p50),
      raw_p95_ms: round2(r.p95),
      p50_ratio: round2(e.p50 / r.p50),
      p95_ratio: round2(e.p95 / r.p95),
      engine_client_worker_cpu_ms: round2(e.cpuMs),
      raw_client_worker_cpu_ms: round2(r.cpuMs),
      engine_temporal_cpu_ms: round2(e.temporalCpuMs),
      raw_temporal_cpu_ms: round2(r.temporalCpuMs),
      engine_tool_cpu_ms: round2(e.toolCpuMs),
      cpu_ratio: round2((r.cpuMs + r.temporalCpuMs + r.toolCpuMs) / (e.cpuMs + e.temporalCpuMs + e.toolCpuMs)),
      load_average: round2((r.load + e.load) / 2),
      ...Object.fromEntries(
        COLLECTION_SIZES.flatMap((n) => [
          [`collection_${n}_ms_per_item`, round2(collection[n].msPerItem)],
          [`collection_${n}_cpu_ms_per_item`, round2(collection[n].cpuMsPerItem)],
          [`collection_${n}_store_reads_per_task`, round2(collection[n].readsPerTask)],
          [`collection_${n}_load_average`, round2(collection[n].load)],
        ]),
      ),
    }),
  );
} finally {
  temporal.kill('SIGTERM');
  await new Promise((done) => (temporal.exitCode !== null ? done() : temporal.once('exit', done)));
  rmSync(stateDir, { recursive: true, force: true });
}
