// SSE execution streams: latency from a task-state write (RecordingStore: the store row, the log append
// and its pub/sub notice, as a worker makes it) to the event parsed at a client of the stream route,
// served by a server process of its own, on the SQLite KV and on Redis; then how many concurrent
// streams that one process holds with events still under 50 ms p99 (levels up to BENCH_STREAMS, 1,000
// by default; each level writes one task state per stream, BENCH_ROUNDS times). Anchor, same run, same
// backend: the KV's own cross-process pub/sub delay (bench/kv-subscriber.js), which every event also
// crosses. Last line: one JSON object.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser } from 'eventsource-parser';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SINGLE_WRITES = Number(process.env.BENCH_WRITES ?? 300);
const MAX_STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_P99_MS = 50;
const LEVELS = [100, 250, 500, 1000, 2000].filter((n) => n <= MAX_STREAMS);

async function openKv(kind, location, prefix) {
  if (kind === 'sqlite') return (await import('../dist/kv/sqlite/sqlite-kv.js')).SqliteKv.open(location);
  return (await import('../dist/kv/redis/redis-kv.js')).RedisKv.connect({ url: location, prefix });
}

/** The server side, in its own process: the API's stream routes over the given KV and a SQLite store. */
async function server(kind, location, prefix, storePath) {
  const { buildApp } = await import('../dist/server/app.js');
  const { EngineClient } = await import('../dist/engine/client.js');
  const { compileProject } = await import('../dist/engine/project.js');
  const { loadValidProject } = await import('../dist/config/valid-project.js');
  const { ExecutionStreamLog } = await import('../dist/engine/stream-log.js');
  const { StreamHub } = await import('../dist/server/streams/hub.js');
  const { SqliteStore } = await import('../dist/store/sqlite/sqlite-store.js');
  const kv = await openKv(kind, location, prefix);
  const store = SqliteStore.open(storePath);
  const project = compileProject(loadValidProject(join(import.meta.dirname, 'projects', 'one-task')), 20);
  const engine = new EngineClient({ client: { workflow: { async start() {} } }, store, project, taskQueue: 'bench', workerAvailable: async () => true });
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'bench', status: 'up', components: [] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events: { publish: async () => '' } },
    streams: new StreamHub(new ExecutionStreamLog(kv)),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
  createInterface({ input: process.stdin }).on('close', async () => {
    await app.close();
    await kv.close();
    await store.close();
    process.exit(0);
  });
}

function percentile(sorted, p) {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(3));
}

function stats(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), n: sorted.length };
}

/** One SSE client: each event's arrival time by id, and who waits for which id. */
async function openStream(url) {
  const controller = new AbortController();
  const arrived = new Map();
  const waiters = new Map();
  const parser = createParser({
    onEvent: (message) => {
      const id = Number(message.id);
      const at = performance.now();
      arrived.set(id, at);
      waiters.get(id)?.(at);
      waiters.delete(id);
    },
  });
  const response = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  const decoder = new TextDecoder();
  (async () => {
    try {
      for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  return {
    /** Resolves with the arrival time of event `id` (at once when it already came). */
    arrival: (id) => (arrived.has(id) ? Promise.resolve(arrived.get(id)) : new Promise((resolve) => waiters.set(id, resolve))),
    close: () => controller.abort(),
  };
}

/** The KV's own cross-process pub/sub delay, as bench/kv.js measures it. */
async function pubsubAnchor(kind, location, prefix, kv, count = 300) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'kv-subscriber.js'), kind, location, prefix, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  while (!output.includes('ready')) await sleep(5);
  for (let n = 0; n < count; n++) {
    await kv.publish('bench', { sentAt: process.hrtime.bigint().toString() });
    await sleep(2);
  }
  await new Promise((resolve) => child.on('close', resolve));
  return stats(JSON.parse(output.slice(output.indexOf('\n') + 1)));
}

async function measure(kind) {
  const { RecordingStore } = await import('../dist/engine/recording-store.js');
  const { ExecutionStreamLog } = await import('../dist/engine/stream-log.js');
  const { SqliteStore } = await import('../dist/store/sqlite/sqlite-store.js');
  const { ksuid } = await import('../dist/store/ksuid.js');
  const dir = mkdtempSync(join(tmpdir(), 'compozy-bench-stream-'));
  const prefix = `bench-stream-${process.pid}-${kind}:`;
  const location = kind === 'sqlite' ? join(dir, 'kv.db') : REDIS_URL;
  const storePath = join(dir, 'compozy.db');
  const kv = await openKv(kind, location, prefix);
  const inner = SqliteStore.open(storePath);
  const store = new RecordingStore(inner, new ExecutionStreamLog(kv));
  const child = spawn(process.execPath, [import.meta.filename, 'server', kind, location, prefix, storePath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { port } = JSON.parse((await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()).value);
  const base = `http://127.0.0.1:${port}/api/v0/executions/workflows`;
  const executions = [];
  const streams = [];
  const addStream = async () => {
    const execId = ksuid();
    await store.createWorkflowExecution({ workflowExecId: execId, workflowId: 'one-task', input: {} });
    const stream = await openStream(`${base}/${execId}/stream`);
    await stream.arrival(1);
    executions.push({ execId, next: 2, taskExecId: ksuid() });
    streams.push(stream);
  };
  /** One task state of execution i; the delay from the write's start to the event at its client. */
  const write = async (i) => {
    const execution = executions[i];
    const id = execution.next++;
    const started = performance.now();
    const arrival = streams[i].arrival(id);
    await store.upsertTaskState({ taskExecId: execution.taskExecId, taskId: 'one', workflowExecId: execution.execId, workflowId: 'one-task', component: 'task', status: id % 2 === 0 ? 'RUNNING' : 'SUCCESS', executionType: 'basic', input: { id }, output: null });
    return (await arrival) - started;
  };
  try {
    const anchor = await pubsubAnchor(kind, location, prefix, kv);
    await addStream();
    const single = [];
    for (let n = 0; n < SINGLE_WRITES; n++) {
      single.push(await write(0));
      await sleep(2);
    }
    const levels = [];
    for (const level of LEVELS) {
      while (streams.length < level) await addStream();
      const latencies = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < level; i++) latencies.push(await write(i));
      }
      levels.push({ streams: level, ...stats(latencies) });
      console.log(`${kind.padEnd(6)} ${String(level).padStart(5)} streams: p50 ${stats(latencies).p50} ms, p99 ${stats(latencies).p99} ms over ${latencies.length} events`);
    }
    return { anchor, single: stats(single), levels };
  } finally {
    for (const stream of streams) stream.close();
    child.stdin.end();
    await new Promise((resolve) => child.on('close', resolve));
    await kv.close();
    await inner.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'server') {
  const [kind, location, prefix, storePath] = process.argv.slice(3);
  await server(kind, location, prefix, storePath);
} else {
  const figures = {};
  for (const kind of ['sqlite', 'redis']) {
    const { anchor, single, levels } = await measure(kind);
    console.log(`${kind.padEnd(6)} write → SSE event: p50 ${single.p50} ms, p99 ${single.p99} ms; KV pub/sub alone: p50 ${anchor.p50} ms, p99 ${anchor.p99} ms`);
    figures[`${kind}_event_p50_ms`] = single.p50;
    figures[`${kind}_event_p99_ms`] = single.p99;
    figures[`${kind}_pubsub_p50_ms`] = anchor.p50;
    figures[`${kind}_pubsub_p99_ms`] = anchor.p99;
    figures[`${kind}_event_over_pubsub_p50`] = Number((single.p50 / anchor.p50).toFixed(2));
    for (const level of levels) figures[`${kind}_${level.streams}_streams_p99_ms`] = level.p99;
    // Held: the largest level such that it and every smaller one stayed under the target.
    const firstOver = levels.findIndex((l) => l.p99 >= TARGET_P99_MS);
    figures[`${kind}_streams_held_under_${TARGET_P99_MS}ms_p99`] = (firstOver === -1 ? levels : levels.slice(0, firstOver)).at(-1)?.streams ?? 0;
  }
  figures.streams_target = 1000;
  console.log(JSON.stringify(figures));
}
