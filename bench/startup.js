// Time from spawning `compozy dev` to its `ready` event, against `temporal server start-dev` alone
// to SERVING (gRPC answers and the namespace exists) and `compozy serve` alone to /readyz against an
// already running Temporal, same machine, same run, interleaved. overlap = compozy dev /
// max(temporal, serve): 1 means dev costs no more than its slower child. run_weather_ms is a cold
// `compozy run weather` (offline, replay model) to exit 0; run_weather_api_ms the same with
// `--port 0`, which also serves the API during the run.
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

/** The first JSON Lines event of a kind on a child's stdout. */
function jsonEvent(child, kind, name) {
  return new Promise((done, fail) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      const lines = (buffer + chunk).split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const event = JSON.parse(line);
        if (event.event === kind) done(event);
      }
    });
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code} before ${kind}`)));
  });
}

async function timeCompozy(temporalBin) {
  const project = freshProject();
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'dev', project, '--json', '--port', '0'], {
    env: { ...process.env, COMPOZY_TEMPORAL_BIN: temporalBin, CI: '1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await jsonEvent(child, 'ready', 'compozy dev');
  const readyMs = performance.now() - started;
  child.kill('SIGINT');
  await exited(child);
  rmSync(join(project, '..'), { recursive: true, force: true });
  return readyMs;
}

/** Starts a Temporal dev server and resolves once it serves; stop() ends it and removes its state. */
async function startTemporal(temporalBin, version) {
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
  return {
    address,
    readyMs,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Temporal alone to ready, then `compozy serve` on it to /readyz (the server and its polling worker). */
async function timeTemporalAndServe(temporalBin, version) {
  const temporal = await startTemporal(temporalBin, version);
  const project = freshProject();
  try {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'serve', project, '--json', '--port', '0', '--temporal-address', temporal.address], {
      env: { ...process.env, CI: '1' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const { url } = await jsonEvent(child, 'listening', 'compozy serve');
    let serveMs;
    while (serveMs === undefined) {
      if (child.exitCode !== null) throw new Error(`compozy serve exited with ${child.exitCode}`);
      const ready = await fetch(`${url}/readyz`).then((response) => response.ok, () => false);
      if (ready) serveMs = performance.now() - started;
      else await sleep(10);
    }
    child.kill('SIGINT');
    await exited(child);
    return { temporalMs: temporal.readyMs, serveMs };
  } finally {
    await temporal.stop();
    rmSync(join(project, '..'), { recursive: true, force: true });
  }
}

/** A cold `compozy run weather` in a fresh copy of the example (replay model, nothing running) to exit 0. */
async function timeRunWeather(temporalBin, extraArgs = []) {
  const project = join(mkdtempSync(join(tmpdir(), 'compozy-bench-')), 'weather');
  cpSync(join(repo, 'examples', 'weather'), project, { recursive: true });
  try {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, 'run', 'weather', project, '--input', '{"city":"Lisbon"}', ...extraArgs], {
      env: { ...process.env, COMPOZY_TEMPORAL_BIN: temporalBin, CI: '1', GROQ_API_KEY: '' },
      stdio: 'ignore',
    });
    const code = await new Promise((done) => child.once('exit', done));
    if (code !== 0) throw new Error(`compozy run weather exited with ${code}`);
    return performance.now() - started;
  } finally {
    rmSync(join(project, '..'), { recursive: true, force: true });
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const temporal = await resolveTemporalBinary({ install: true, onProgress: (e) => console.error(e.message) });
const compozyRuns = [];
const temporalRuns = [];
const serveRuns = [];
const weatherRuns = [];
const weatherApiRuns = [];
for (let i = 0; i < RUNS; i++) {
  const alone = await timeTemporalAndServe(temporal.path, temporal.version);
  temporalRuns.push(alone.temporalMs);
  serveRuns.push(alone.serveMs);
  compozyRuns.push(await timeCompozy(temporal.path));
  weatherRuns.push(await timeRunWeather(temporal.path));
  weatherApiRuns.push(await timeRunWeather(temporal.path, ['--port', '0']));
  console.log(
    `run ${i + 1}/${RUNS}: temporal ${temporalRuns.at(-1).toFixed(0)} ms, serve warm ${serveRuns.at(-1).toFixed(0)} ms, compozy dev ${compozyRuns.at(-1).toFixed(0)} ms, run weather ${weatherRuns.at(-1).toFixed(0)} ms (with the API ${weatherApiRuns.at(-1).toFixed(0)} ms)`,
  );
}
const compozyMs = median(compozyRuns);
const temporalMs = median(temporalRuns);
const serveMs = median(serveRuns);
console.log(
  JSON.stringify({
    compozy_ready_ms: Math.round(compozyMs),
    temporal_ready_ms: Math.round(temporalMs),
    serve_warm_ms: Math.round(serveMs),
    ratio: Number((compozyMs / temporalMs).toFixed(2)),
    overlap: Number((compozyMs / Math.max(temporalMs, serveMs)).toFixed(2)),
    overlap_target: 1.25,
    run_weather_ms: Math.round(median(weatherRuns)),
    run_weather_target_ms: 1500,
    run_weather_api_ms: Math.round(median(weatherApiRuns)),
    runs: RUNS,
    statistic: 'median',
    compozy_samples_ms: compozyRuns.map(Math.round),
    temporal_samples_ms: temporalRuns.map(Math.round),
    serve_warm_samples_ms: serveRuns.map(Math.round),
    run_weather_samples_ms: weatherRuns.map(Math.round),
    run_weather_api_samples_ms: weatherApiRuns.map(Math.round),
  }),
);
