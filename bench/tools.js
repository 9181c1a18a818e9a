// 1,000 calls of a trivial tool through the warm pool versus a fresh Node process per call, same
// run, 2 calls in flight on both sides: throughput, p50/p95 latency and the ratios.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

const runtime = new ToolRuntime({ projectDir: project, entrypoint, poolSize: CONCURRENCY });
const greet = { id: 'greet' };
for (let i = 0; i < 50; i++) await runtime.run(greet, { name: 'warm' });
const pool = await measure('warm pool', (i) => runtime.run(greet, { name: `n${i}` }));
await runtime.close();
const spawned = await measure('process per call', async (i) => {
  const { stdout } = await run(process.execPath, [join(import.meta.dirname, 'tool-once.js'), entrypoint, 'greet', JSON.stringify({ name: `n${i}` })]);
  return JSON.parse(stdout);
});
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
  }),
);
