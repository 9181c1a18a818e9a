import { Client, Connection } from '@temporalio/client';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { CliProcess, copyFixture } from '../helpers/cli.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

interface Execution {
  status: string;
  output: unknown;
  error: { code?: string; message: string } | null;
  tasks: Record<string, { task_id: string; status: string; output: unknown; error: { code?: string } | null }>;
}

class Serve extends CliProcess {
  constructor(readonly port: number, project: string, temporalAddress: string, env: NodeJS.ProcessEnv = {}) {
    super(['serve', project, '--port', String(port), '--temporal-address', temporalAddress], env);
  }

  async ready(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && this.child.exitCode === null) {
      if (await fetch(`http://127.0.0.1:${this.port}/readyz`).then((r) => r.ok, () => false)) return;
      await sleep(50);
    }
    throw new Error(`serve not ready:\n${this.output}`);
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: { data?: Record<string, unknown>; error?: { code: string } } }> {
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v0${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown> } };
  }

  async start(workflow: string, input: unknown): Promise<string> {
    const { status, body } = await this.api('POST', `/workflows/${workflow}/executions`, { input });
    expect(status).toBe(202);
    return String(body.data?.exec_id);
  }

  async execution(execId: string): Promise<Execution> {
    return (await this.api('GET', `/executions/workflows/${execId}`)).body.data as unknown as Execution;
  }
}

let temporal: TestTemporal;
let connection: Connection;
let client: Client;
const serves: Serve[] = [];

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection });
});

afterEach(async () => {
  await Promise.all(serves.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await connection?.close();
  await temporal?.stop();
});

async function serve(project: string, env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const started = new Serve(await freePort(), project, temporal.address, env);
  serves.push(started);
  await started.ready();
  return started;
}

/** The Temporal run's own status once it is closed: the store alone must never be the only one to say it ended. */
async function temporalClosed(execId: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let status = 'UNKNOWN';
  while (Date.now() < deadline) {
    status = (await client.workflow.getHandle(execId).describe()).status.name;
    if (status !== 'RUNNING') return status;
    await sleep(200);
  }
  throw new Error(`workflow ${execId} is still ${status} in Temporal`);
}

async function final(s: Serve, execId: string, timeoutMs = 60_000): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const execution = await s.execution(execId);
    if (['SUCCESS', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(execution.status)) return execution;
    await sleep(200);
  }
  throw new Error(`execution ${execId} did not finish`);
}

describe('results larger than Temporal carries', () => {
  for (const mib of [3, 9]) {
    it(`a ${mib} MiB tool result: the task and the workflow succeed, in the store and in Temporal, and the output is whole`, async () => {
      const s = await serve(copyFixture('faults-engine'));
      const bytes = mib * 1024 * 1024;
      const execId = await s.start('big', { bytes });
      expect(await temporalClosed(execId)).toBe('COMPLETED');
      const execution = await final(s, execId);
      expect(execution.status).toBe('SUCCESS');
      const produced = execution.tasks.produce?.output as { blob: string; bytes: number };
      expect(produced.blob.length).toBe(bytes);
      expect(execution.tasks.measure?.output).toEqual({ bytes });
    }, 120_000);
  }

  it('collection items over the history limit fail the collection with PAYLOAD_TOO_LARGE and the run ends', async () => {
    const s = await serve(copyFixture('faults-engine'));
    const execId = await s.start('big-items', { count: 400, size: 4096 });
    expect(await temporalClosed(execId)).toBe('FAILED');
    const execution = await final(s, execId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(execution.tasks.each).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(execution.tasks.produce?.status).toBe('SUCCESS');
  }, 120_000);
});

describe('values that must pass between tasks', () => {
  it('a transition with: carrying 2 MiB fails its task with PAYLOAD_TOO_LARGE, keeping the output, and the run ends', async () => {
    const s = await serve(copyFixture('faults-engine'));
    const execId = await s.start('big-with', { bytes: 2 * 1024 * 1024 });
    expect(await temporalClosed(execId)).toBe('FAILED');
    const execution = await final(s, execId);
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(execution.tasks.produce).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect((execution.tasks.produce?.output as { bytes: number }).bytes).toBe(2 * 1024 * 1024);
    expect(execution.tasks.use).toBeUndefined();
  }, 120_000);

  it('a tool failing with a 5 MiB message is retried and fails the run, the message cut in history and whole in the store', async () => {
    const s = await serve(copyFixture('faults-engine'));
    const bytes = 5 * 1024 * 1024;
    const execId = await s.start('loud', { bytes });
    expect(await temporalClosed(execId)).toBe('FAILED');
    const execution = await final(s, execId);
    expect(execution.status).toBe('FAILED');
    const shout = execution.tasks.shout as unknown as { status: string; error: { code: string; message: string } };
    expect(shout.status).toBe('FAILED');
    expect(shout.error.message.length).toBeGreaterThanOrEqual(bytes);
    expect(execution.error?.message.length).toBeLessThan(10_000);
    expect(execution.error?.message).toContain('more characters in the execution store');
  }, 120_000);
});

describe('serve SIGKILLed during a parent task', () => {
  it('after recovery every task has one row, none left RUNNING', async () => {
    const project = copyFixture('faults-engine');
    const first = await serve(project);
    const count = 300;
    const execId = await first.start('fanout', { count });
    const deadline = Date.now() + 60_000;
    let written = 0;
    while (Date.now() < deadline) {
      const execution = await first.execution(execId);
      written = Object.keys(execution.tasks).filter((id) => id.startsWith('item-')).length;
      if (written >= 20 || execution.status === 'SUCCESS') break;
      await sleep(20);
    }
    expect(written).toBeGreaterThanOrEqual(20);
    expect(written).toBeLessThan(count);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await serve(project);
    expect(await temporalClosed(execId, 90_000)).toBe('COMPLETED');
    const execution = await final(second, execId);
    expect(execution.status).toBe('SUCCESS');
    await second.stop();
    // The API shows one state per task id; the store has every row.
    const store = SqliteStore.open(join(project, '.compozy', 'compozy.db'));
    try {
      const rows = await store.listTaskStates(execId);
      const ids = rows.map((r) => r.taskId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(count + 2);
      expect(rows.filter((r) => r.status !== 'SUCCESS').map((r) => `${r.taskId} ${r.status}`)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 180_000);
});

describe('backpressure', () => {
  it('over LIMITS_MAX_ACTIVE_EXECUTIONS serve answers 429 OVERLOADED with Retry-After; health and /metrics show the queue', async () => {
    const s = await serve(copyFixture('faults-engine'), { LIMITS_MAX_ACTIVE_EXECUTIONS: '2' });
    const first = await s.start('fanout', { count: 300 });
    await s.start('fanout', { count: 300 });
    const response = await fetch(`http://127.0.0.1:${s.port}/api/v0/workflows/fanout/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { count: 1 } }) });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('OVERLOADED');

    const health = (await s.api('GET', '/health')).body.data as { queue: Record<string, number> };
    expect(health.queue).toMatchObject({ limit: 2, rejected: 1, admitted: 2 });
    expect(health.queue.pending + health.queue.running).toBe(2);
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toContain('compozy_admission_limit 2');
    expect(metrics).toContain('compozy_executions_rejected_total 1');

    await final(s, first, 120_000);
  }, 180_000);

  it('a limit that is not a whole number is refused at start, naming the variable', async () => {
    const refused = new CliProcess(['serve', copyFixture('faults-engine'), '--port', String(await freePort()), '--temporal-address', temporal.address], { LIMITS_MAX_ACTIVE_EXECUTIONS: 'many' });
    expect(await refused.exited).toBe(2);
    expect(refused.output).toContain('LIMITS_MAX_ACTIVE_EXECUTIONS must be a whole number');
  }, 60_000);
});
