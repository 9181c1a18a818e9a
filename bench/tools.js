// 1,000 calls of a trivial tool through the warm pool versus a fresh Node process per call, same
// run, 2 calls in flight on both sides: throughput, p50/p95 latency and the ratios. The same for
// runtime.type: bun: the warm Bun pool (target: p50 within 1.5x of the Node pool's) and a Bun process
// per call, the Go engine's design (bun_pool_p50_ratio is the Bun pool's p50 over the Node pool's). Then the pool's
// start-up (median of BENCH_STARTS, until its first process has loaded the entrypoint) without
// runtime.permissions, with a sandbox narrowed at the project root (--allow-read=.: the project but
// .compozy/) and with the widest one (--allow-read --allow-write: every path but .compozy/ and /proc's
// process folders, thousands of Node flags), and their ratios to the first.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveBunBinary } from '../dist/tools/bun.js';
import { ToolRuntime } from '../dist/tools/runtime.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const project = join(import.meta.dirname, 'projects', 'one-task');
const entrypoint = join(project, 'entrypoint.js');
const run = promisify(execFile);

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(label, call) {
  const latencies = [];
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < CALLS) {
      const i = next++;
      const t0 = performance.now();
      const result = await call(i);
      latencies.push(performance.now() - t0);
      if (result.greeting !== `Hello, n${i}!`) throw new Error(`${label}: wrong result ${JSON.stringify(result)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label}: ${CALLS} calls in ${seconds.toFixed(2)} s`);
  return { throughput: CALLS / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
}

const greet = { id: 'greet' };
async function warmPool(label, type) {
  const runtime = new ToolRuntime({ projectDir: project, entrypoint, poolSize: CONCURRENCY, type, watchIntervalMs: 0 });
  for (let i = 0; i < 50; i++) await runtime.run(greet, { name: 'warm' });
  const figures = await measure(label, (i) => runtime.run(greet, { name: `n${i}` }));
  await runtime.close();
  return figures;
}
async function perCall(label, command, flags) {
  return measure(label, async (i) => {
    const { stdout } = await run(command, [...flags, join(import.meta.dirname, 'tool-once.js'), entrypoint, 'greet', JSON.stringify({ name: `n${i}` })]);
    return JSON.parse(stdout);
  });
}
const bun = resolveBunBinary().path;
const pool = await warmPool('warm pool', 'node');
const bunPool = await warmPool('warm Bun pool', 'bun');
const spawned = await perCall('process per call', process.execPath, []);
const bunSpawned = await perCall('Bun process per call', bun, ['--no-env-file']);
const STARTS = Number(process.env.BENCH_STARTS ?? 7);
async function startMs(permissions) {
  const times = [];
  for (let i = 0; i < STARTS; i++) {
    const t0 = performance.now();
    const started = new ToolRuntime({ projectDir: project, entrypoint, poolSize: 1, permissions, watchIntervalMs: 0 });
    await started.tools();
    times.push(performance.now() - t0);
    await started.close();
  }
  return percentile(times, 50);
}
const openStart = await startMs([]);
const projectStart = await startMs(['--allow-read=.']);
const sandboxStart = await startMs(['--allow-read', '--allow-write']);
const round2 = (x) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    calls: CALLS,
    concurrency: CONCURRENCY,
    pool_throughput_per_s: round2(pool.throughput),
    spawn_throughput_per_s: round2(spawned.throughput),
    throughput_ratio: round2(pool.throughput / spawned.throughput),
    pool_p50_ms: round2(pool.p50),
    pool_p95_ms: round2(pool.p95),
    spawn_p50_ms: round2(spawned.p50),
    spawn_p95_ms: round2(spawned.p95),
    bun_pool_throughput_per_s: round2(bunPool.throughput),
    bun_pool_p50_ms: round2(bunPool.p50),
    bun_pool_p95_ms: round2(bunPool.p95),
    bun_pool_p50_ratio: round2(bunPool.p50 / pool.p50),
    bun_spawn_throughput_per_s: round2(bunSpawned.throughput),
    bun_spawn_p50_ms: round2(bunSpawned.p50),
    bun_spawn_p95_ms: round2(bunSpawned.p95),
    bun_throughput_ratio: round2(bunPool.throughput / bunSpawned.throughput),
    start_ms: round2(openStart),
    project_sandbox_start_ms: round2(projectStart),
    project_sandbox_start_ratio: round2(projectStart / openStart),
    widest_sandbox_start_ms: round2(sandboxStart),
    widest_sandbox_start_ratio: round2(sandboxStart / openStart),
  }),
);
