// The load generator the HTTP benchmarks share: CONCURRENCY requests in flight over keep-alive for
// PHASE_MS, the server's CPU time read before and after, and the summary of several phases.
import http from 'node:http';

/**
 * Requests per second and latency percentiles over `phaseMs` with `concurrency` requests in flight.
 * `next()` gives each request `{method, path, headers, body?}`; any status but `expect` fails the phase.
 */
export async function load(target, { phaseMs, concurrency, expect, next }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  let failures = 0;
  const send = () =>
    new Promise((resolve, reject) => {
      const { method, path, headers, body } = next();
      const started = performance.now();
      const request = http.request({ host: '127.0.0.1', port: target.port, method, path, headers, agent }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode !== expect) failures++;
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      request.on('error', reject);
      request.end(body);
    });
  const cpuBefore = await target.cpuUs();
  const started = performance.now();
  const deadline = started + phaseMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) await send();
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = (await target.cpuUs()) - cpuBefore;
  agent.destroy();
  if (failures > 0) throw new Error(`${failures} requests did not answer ${expect}`);
  return { count: latencies.length, seconds, latencies, cpuUs };
}

export function summary(phases) {
  const latencies = phases.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const at = (p) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(3));
  const count = phases.reduce((n, p) => n + p.count, 0);
  const seconds = phases.reduce((n, p) => n + p.seconds, 0);
  const cpuUs = phases.reduce((n, p) => n + p.cpuUs, 0);
  return { rps: Math.round(count / seconds), p50_ms: at(0.5), p99_ms: at(0.99), requests: count, server_cpu_us_per_request: Number((cpuUs / count).toFixed(1)) };
}

/** Runs this script as a server child (`role` argument) that prints one JSON line, then answers each stdin line with its CPU time (µs). */
export async function startServer(script, role) {
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const child = spawn(process.execPath, [script, role], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const cpuUs = async () => {
    child.stdin.write('cpu\n');
    return JSON.parse((await lines.next()).value).cpuUs;
  };
  return { child, cpuUs, ...JSON.parse(first.value) };
}

/** The server child's side of startServer: its CPU time per stdin line; end of stdin runs `close` and exits. */
export async function serveCpuProbe(close) {
  const { createInterface } = await import('node:readline');
  createInterface({ input: process.stdin }).on('line', () => {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuUs: user + system })}\n`);
  });
  process.stdin.on('end', async () => {
    await close();
    process.exit(0);
  });
}

/**
 * A benchmark server's backends: a SQLite store and KV in a fresh temp folder, and what closes the
 * app, both and the folder once the parent ends stdin (serveCpuProbe).
 */
export async function sqliteBackends(prefix) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { SqliteStore } = await import('../dist/store/sqlite/sqlite-store.js');
  const { SqliteKv } = await import('../dist/kv/sqlite/sqlite-kv.js');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = SqliteStore.open(join(dir, 'compozy.db'));
  const kv = SqliteKv.open(join(dir, 'kv.db'));
  /** Listens on a loopback port, prints it with `info` as the first stdout line, then serves the CPU probe. */
  const serve = async (app, info = {}) => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write(`${JSON.stringify({ port: app.server.address().port, ...info })}\n`);
    await serveCpuProbe(async () => {
      await app.close();
      await kv.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });
  };
  return { store, kv, serve };
}
