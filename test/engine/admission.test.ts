import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';
import { EngineClient } from '../../src/engine/client.js';
import type { EventBus } from '../../src/engine/events.js';
import { buildApp } from '../../src/server/app.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TOOLS_YAML, writeProject } from './harness.js';

const project = writeProject({ 'workflows/hello.yaml': `id: hello\n${TOOLS_YAML}tasks:\n  - id: a\n    tool: echo\n` });
const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

/** The API over a real store, with Temporal replaced by a start that takes `startMs` and records the ids. */
function api(maxActiveExecutions: number, startMs = 0) {
  const store = SqliteStore.open(':memory:');
  const started: string[] = [];
  const client = {
    workflow: {
      async start(_type: string, options: { workflowId: string }) {
        await sleep(startMs);
        started.push(options.workflowId);
      },
    },
  } as unknown as Client;
  const engine = new EngineClient({ client, store, project, taskQueue: 'q', workerAvailable: async () => true, maxActiveExecutions });
  const events = { publish: async () => ksuid() } as unknown as EventBus;
  const app = buildApp({
    health: async () => ({ mode: 'standalone', project: 'p', status: 'up', components: [{ name: 'store', backend: 'sqlite', state: 'up' }] }),
    notReadyReason: () => undefined,
    engine: { client: engine, store, events },
  });
  opened.push(app, store);
  const post = (url = '/api/v0/workflows/hello/executions', payload: unknown = { input: {} }) => app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
  return { app, store, started, post };
}

describe('admission limit', () => {
  it('answers 429 OVERLOADED with Retry-After once pending + running executions reach the limit, and admits again when one ends', async () => {
    const { store, post } = api(2);
    const first = await post();
    const second = await post();
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    await store.updateWorkflowExecution(first.json().data.exec_id, { status: 'RUNNING' });

    const refused = await post();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json().error).toMatchObject({ code: 'OVERLOADED', details: { active: 2, pending: 1, running: 1, limit: 2, retry_after_s: 2 } });
    expect((await post('/api/v0/events', { name: 'go' })).statusCode).toBe(429);
    expect((await store.listWorkflowExecutions()).items).toHaveLength(2);

    await store.updateWorkflowExecution(first.json().data.exec_id, { status: 'SUCCESS' });
    expect((await post()).statusCode).toBe(202);
  });

  it('a burst of concurrent requests cannot overshoot it', async () => {
    const { store, started, post } = api(5, 30);
    const answers = await Promise.all(Array.from({ length: 40 }, () => post()));
    expect(answers.filter((a) => a.statusCode === 202)).toHaveLength(5);
    expect(answers.filter((a) => a.statusCode === 429)).toHaveLength(35);
    expect(started).toHaveLength(5);
    expect((await store.listWorkflowExecutions()).items).toHaveLength(5);
  });

  it('0 means no limit', async () => {
    const { post } = api(0);
    const answers = await Promise.all(Array.from({ length: 30 }, () => post()));
    expect(answers.every((a) => a.statusCode === 202)).toBe(true);
  });

  it('health and /metrics show the queue: pending, running, paused, the limit, admitted and refused', async () => {
    const { app, store, post } = api(3);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post()).json().data.exec_id as string);
    await store.updateWorkflowExecution(ids[0] as string, { status: 'RUNNING' });
    await store.updateWorkflowExecution(ids[1] as string, { status: 'PAUSED' });
    expect((await post()).statusCode).toBe(202);
    await post();
    await post();

    const health = await app.inject({ method: 'GET', url: '/api/v0/health' });
    expect(health.json().data.queue).toEqual({ pending: 2, running: 1, paused: 1, limit: 3, admitted: 4, rejected: 2 });

    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = metrics.body.split('\n');
    expect(lines).toContain('# TYPE compozy_executions gauge');
    expect(lines).toContain('compozy_executions{status="pending"} 2');
    expect(lines).toContain('compozy_executions{status="running"} 1');
    expect(lines).toContain('compozy_executions{status="paused"} 1');
    expect(lines).toContain('compozy_admission_limit 3');
    expect(lines).toContain('# TYPE compozy_executions_rejected_total counter');
    expect(lines).toContain('compozy_executions_rejected_total 2');
    expect(lines).toContain('compozy_executions_admitted_total 4');
    expect(lines).toContain('compozy_component_up{component="store",backend="sqlite",state="up"} 1');
  });
});

describe('limits.max_active_executions', () => {
  const doc = (limits: Record<string, unknown>) => ({ document: { name: 'p', limits } });

  it('defaults to 1000, comes from the file or LIMITS_MAX_ACTIVE_EXECUTIONS, and 0 turns it off', () => {
    expect(loadSettings({ document: { name: 'p' } }, {}, {}).maxActiveExecutions).toEqual({ value: 1000, source: 'default', origin: 'default' });
    expect(loadSettings(doc({ max_active_executions: 50 }), {}, {}).maxActiveExecutions).toEqual({ value: 50, source: 'file', origin: 'limits.max_active_executions' });
    expect(loadSettings(doc({ max_active_executions: 50 }), {}, { LIMITS_MAX_ACTIVE_EXECUTIONS: '0' }).maxActiveExecutions).toEqual({ value: 0, source: 'env', origin: 'LIMITS_MAX_ACTIVE_EXECUTIONS' });
  });

  it('refuses what is not a whole number ≥ 0, naming where it came from', () => {
    expect(() => loadSettings(doc({ max_active_executions: -3 }), {}, {})).toThrow(/limits\.max_active_executions in compozy\.yaml must be a whole number/);
    expect(() => loadSettings(doc({ max_active_executions: 'lots' }), {}, {})).toThrow(/must be a whole number/);
    expect(() => loadSettings({ document: { name: 'p' } }, {}, { LIMITS_MAX_ACTIVE_EXECUTIONS: '2.5' })).toThrow(/LIMITS_MAX_ACTIVE_EXECUTIONS must be a whole number/);
  });
});
