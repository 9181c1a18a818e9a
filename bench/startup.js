// Time from spawning `compozy dev` to its `ready` event, against `temporal server start-dev` alone
// to SERVING (gRPC answers and the namespace exists), same machine, same run, interleaved.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveTemporalBinary } from '../dist/temporal/binary.js';
import { devServerArgs } from '../dist/temporal/dev-server.js';
import { freePort } from '../dist/platform/ports.js';
import { probeTemporal } from '../dist/temporal/readiness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const repo = resolve(import.meta.dirname, '..');
const bin = join(repo, 'bin', 'compozy.js');

function freshProject() {
  const dir = join(mkdtempSync(join(tmpdir(), 'compozy-bench-')), 'minimal');
  cpSync(join(repo, 'test', 'fixtures', 'minimal'), dir, { recursive: true });
  return dir;
}

function exited(child) {
  return new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', done)));
}

async function timeCompozy(temporalBin) {
  const project = freshProject();
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'dev', project, '--json', '--port', '0'], {
    env: { ...process.env, COMPOZY_TEMPORAL_BIN: temporalBin, CI: '1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const readyMs = await new Promise((done, fail) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      const lines = (buffer + chunk).split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (JSON.parse(line).event === 'ready') done(performance.now() - started);
    });
    child.once('exit', (code) => fail(new Error(`compozy dev exited with ${code} before ready`)));
  });
  child.kill('SIGINT');
  await exited(child);
  rmSync(join(project, '..'), { recursive: true, force: true });
  return readyMs;
}

async function timeTemporal(temporalBin, version) {
  const stateDir = mkdtempSync(join(tmpdir(), 'compozy-bench-temporal-'));
  const port = await freePort();
  const started = performance.now();
  const child = spawn(temporalBin, devServerArgs({ port, namespace: 'default', stateDir, cliVersion: version }), { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  let readyMs;
  while (readyMs === undefined) {
    if (child.exitCode !== null) throw new Error(`temporal exited with ${child.exitCode}`);
    if ((await probeTemporal(address, 'default', 1000)).ok) readyMs = performance.now() - started;
    else await sleep(20);
  }
  child.kill('SIGTERM');
  await exited(child);
  rmSync(stateDir, { recursive: true, force: true });
  return readyMs;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const temporal = await resolveTemporalBinary({ install: true, onProgress: (e) => console.error(e.message) });
const compozyRuns = [];
const temporalRuns = [];
for (let i = 0; i < RUNS; i++) {
  temporalRuns.push(await timeTemporal(temporal.path, temporal.version));
  compozyRuns.push(await timeCompozy(temporal.path));
  console.log(`run ${i + 1}/${RUNS}: temporal ${temporalRuns.at(-1).toFixed(0)} ms, compozy dev ${compozyRuns.at(-1).toFixed(0)} ms`);
}
const compozyMs = median(compozyRuns);
const temporalMs = median(temporalRuns);
console.log(
  JSON.stringify({
    compozy_ready_ms: Math.round(compozyMs),
    temporal_ready_ms: Math.round(temporalMs),
    ratio: Number((compozyMs / temporalMs).toFixed(2)),
    runs: RUNS,
    statistic: 'median',
    compozy_samples_ms: compozyRuns.map(Math.round),
    temporal_samples_ms: temporalRuns.map(Math.round),
  }),
);
