// Watch mode's reload against its anchor, restarting serve, on one running Temporal, same run,
// interleaved. reload_ms: from writing a changed workflow to `compozy serve --watch` reporting the
// reload (the new version then answers: checked on GET /workflows/hello). restart_ms: what a watcher
// that restarts the process would cost: SIGINT serve, start it again, until /readyz and the new
// definition answer. refuse_ms: from writing an invalid workflow to its diagnostics. ratio =
// reload_ms / restart_ms (below 1: the in-process reload is the faster).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const workflow = (word) => `id: hello\ndescription: ${word}\ntools:\n  - id: stamp\ntasks:\n  - id: greet\n    type: aggregate\n    outputs: { greeting: "${word}" }\n    on_success:\n      next: stamp\n  - id: stamp\n    tool: stamp\noutputs:\n  greeting: "{{ .tasks.greet.output.greeting }}"\n`;

function project() {
  const dir = join(mkdtempSync(join(tmpdir(), 'compozy-bench-reload-')), 'minimal');
  cpSync(join(repo, 'test', 'fixtures', 'minimal'), dir, { recursive: true });
  writeFileSync(join(dir, 'hello.yaml'), workflow('w0'));
  writeFileSync(join(dir, 'entrypoint.ts'), "export default { stamp: async () => ({ ok: true }) };\n");
  writeFileSync(join(dir, 'compozy.yaml'), `${readFileSync(join(dir, 'compozy.yaml'), 'utf8')}workflows:\n  - source: ./hello.yaml\n`);
  return dir;
}

function exited(child) {
  return new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', done)));
}

async function startTemporal(temporalBin, version) {
  const stateDir = mkdtempSync(join(tmpdir(), 'compozy-bench-temporal-'));
  const port = await freePort();
  const child = spawn(temporalBin, devServerArgs({ port, namespace: 'default', stateDir, cliVersion: version }), { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  while (!(await probeTemporal(address, 'default', 1000)).ok) {
    if (child.exitCode !== null) throw new Error(`temporal exited with ${child.exitCode}`);
    await sleep(20);
  }
  return {
    address,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** `compozy serve --json` with every event it printed, and a wait for the next one of a kind. */
function serve(dir, address, port, watch) {
  const child = spawn(process.execPath, [bin, 'serve', dir, '--json', '--port', String(port), '--temporal-address', address, ...(watch ? ['--watch'] : [])], {
    env: { ...process.env, CI: '1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const events = [];
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    const lines = (buffer + chunk).split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) events.push(JSON.parse(line));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    async next(kinds, after) {
      for (;;) {
        const found = events.slice(after).find((event) => kinds.includes(event.event));
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
        await sleep(2);
      }
    },
    count: () => events.length,
    async stop() {
      child.kill('SIGINT');
      await exited(child);
    },
  };
}

/** Until the API of `server` answers with the workflow whose description is `word` (and, first, /readyz). */
async function answers(server, word) {
  const { url, child } = server;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode} (it needs Node >= 22.13: run the bench with the Node compozy runs on)`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) {
      const body = await fetch(`${url}/api/v0/workflows/hello`).then((r) => r.json(), () => undefined);
      if (body?.data?.description === word) return;
    }
    await sleep(2);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const temporalBin = await resolveTemporalBinary({ install: true, onProgress: (e) => console.error(e.message) });
const temporal = await startTemporal(temporalBin.path, temporalBin.version);
const reloads = [];
const restarts = [];
const refusals = [];
const watched = project();
const restarted = project();
let watching;
let plain;
try {
  watching = serve(watched, temporal.address, await freePort(), true);
  await answers(watching, 'w0');
  plain = serve(restarted, temporal.address, await freePort(), false);
  await answers(plain, 'w0');
  for (let i = 1; i <= RUNS; i++) {
    let mark = watching.count();
    let started = performance.now();
    writeFileSync(join(watched, 'hello.yaml'), workflow(`w${i}`));
    const event = await watching.next(['reload', 'reload-failed'], mark);
    if (event.event !== 'reload') throw new Error(`reload failed: ${event.message}`);
    await answers(watching, `w${i}`);
    reloads.push(performance.now() - started);

    mark = watching.count();
    started = performance.now();
    writeFileSync(join(watched, 'hello.yaml'), workflow(`bad${i}`).replace('type: aggregate', 'type: agregate'));
    await watching.next(['reload-failed'], mark);
    refusals.push(performance.now() - started);
    // Back to a valid version before the next run (its reload is not measured).
    mark = watching.count();
    writeFileSync(join(watched, 'hello.yaml'), workflow(`w${i}b`));
    await watching.next(['reload'], mark);

    const port = Number(new URL(plain.url).port);
    started = performance.now();
    writeFileSync(join(restarted, 'hello.yaml'), workflow(`w${i}`));
    await plain.stop();
    plain = serve(restarted, temporal.address, port, false);
    await answers(plain, `w${i}`);
    restarts.push(performance.now() - started);
    console.log(`run ${i}/${RUNS}: reload ${reloads.at(-1).toFixed(0)} ms, restart ${restarts.at(-1).toFixed(0)} ms, refuse ${refusals.at(-1).toFixed(0)} ms`);
  }
} finally {
  await watching?.stop();
  await plain?.stop();
  await temporal.stop();
  rmSync(join(watched, '..'), { recursive: true, force: true });
  rmSync(join(restarted, '..'), { recursive: true, force: true });
}
const reloadMs = median(reloads);
const restartMs = median(restarts);
console.log(
  JSON.stringify({
    reload_ms: Math.round(reloadMs),
    restart_ms: Math.round(restartMs),
    ratio: Number((reloadMs / restartMs).toFixed(2)),
    refuse_ms: Math.round(median(refusals)),
    runs: RUNS,
    statistic: 'median',
    reload_samples_ms: reloads.map(Math.round),
    restart_samples_ms: restarts.map(Math.round),
    refuse_samples_ms: refusals.map(Math.round),
  }),
);
