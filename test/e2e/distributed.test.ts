import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess, copyFixture } from '../helpers/cli.js';
import { DATABASE_URL, REDIS_URL, withServices } from '../helpers/services.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

let temporal: TestTemporal;
const procs: CliProcess[] = [];
let queueCounter = 0;

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
}, 60_000);

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await temporal?.stop();
});

/** A copy of the engine-api project under a unique name, with its own task queue, on Redis and PostgreSQL. */
function distributedProject(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = copyFixture('engine-api');
  const name = `dist-${process.pid}-${++queueCounter}`;
  writeFileSync(join(dir, 'compozy.yaml'), readFileSync(join(dir, 'compozy.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${name}`));
  return { dir, env: { TEMPORAL_ADDRESS: temporal.address, REDIS_URL, DATABASE_URL, TEMPORAL_TASK_QUEUE: name } };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: { data?: Record<string, unknown>; error?: { code: string } } }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown>; error?: { code: string } } };
}

async function finished(base: string, execId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { status, body } = await json(`${base}/api/v0/executions/workflows/${execId}`);
    if (status === 200 && ['SUCCESS', 'FAILED', 'CANCELED'].includes(String(body.data?.status))) return body.data as Record<string, unknown>;
    await sleep(100);
  }
  throw new Error(`execution ${execId} did not finish`);
}

await withServices([['Redis', REDIS_URL, 6379], ['PostgreSQL', DATABASE_URL, 5432]], () =>
  describe('distributed mode: compozy start --no-worker + compozy worker on Redis, PostgreSQL and an external Temporal', () => {
    it('executions and events run on the separate worker; the health table shows the backends', async () => {
      const { dir, env } = distributedProject();
      const worker = new CliProcess(['worker', dir], env);
      procs.push(worker);
      await worker.waitForOutput('worker polling task queue');
      const port = await freePort();
      const api = new CliProcess(['start', dir, '--no-worker', '--port', String(port)], env);
      procs.push(api);
      await api.waitForOutput('api listening');
      const base = `http://127.0.0.1:${port}`;

      const health = (await json(`${base}/api/v0/health`)).body.data as unknown as HealthReport;
      expect(health.mode).toBe('distributed');
      expect(health.components.map((c) => [c.name, c.backend, c.state])).toEqual([
        ['temporal', 'external', 'up'],
        ['api', 'fastify', 'up'],
        ['worker', 'compozy worker', 'up'],
        ['kv', 'redis', 'up'],
        ['store', 'postgres', 'up'],
      ]);

      const started = await json(`${base}/api/v0/workflows/nap/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { n: 3 } }) });
      expect(started.status).toBe(202);
      expect(await finished(base, String(started.body.data?.exec_id))).toMatchObject({ status: 'SUCCESS', output: { n: 3 } });

      const event = await json(`${base}/api/v0/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'order-ready', payload: { order: 9 } }) });
      expect(event.status).toBe(202);
      const eventId = String(event.body.data?.event_id);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await json(`${base}/api/v0/executions/workflows/${eventId}`)).status === 404) await sleep(100);
      expect(await finished(base, eventId)).toMatchObject({ workflow_id: 'on_event', status: 'SUCCESS', input: { order: 9 } });

      expect(await worker.stop()).toBe(0);
      expect(worker.output).toContain('received SIGTERM; stopping');
    }, 90_000);

    it('without any worker the API answers 503 WORKER_UNAVAILABLE and reports the worker down', async () => {
      const { dir, env } = distributedProject();
      const port = await freePort();
      const api = new CliProcess(['start', dir, '--no-worker', '--port', String(port)], env);
      procs.push(api);
      await api.waitForOutput('api listening');
      const base = `http://127.0.0.1:${port}`;
      const refused = await json(`${base}/api/v0/workflows/nap/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { n: 1 } }) });
      expect(refused).toMatchObject({ status: 503, body: { error: { code: 'WORKER_UNAVAILABLE' } } });
      const health = (await json(`${base}/api/v0/health`)).body.data as unknown as HealthReport;
      expect(health.components.find((c) => c.name === 'worker')).toMatchObject({ state: 'down' });
    });

    it('start needs a Temporal address', async () => {
      const { dir, env } = distributedProject();
      const api = new CliProcess(['start', dir], { ...env, TEMPORAL_ADDRESS: '' });
      procs.push(api);
      expect(await api.exited).toBe(2);
      expect(api.output).toContain('needs a Temporal address');
    });
  }),
);
