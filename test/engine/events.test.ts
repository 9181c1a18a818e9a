import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineClient } from '../../src/engine/client.js';
import { EVENTS_EXCHANGE, EventBus } from '../../src/engine/events.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { TOOLS_YAML, writeProject } from './harness.js';

const kvs: SqliteKv[] = [];

afterEach(async () => {
  await Promise.all(kvs.splice(0).map((kv) => kv.close()));
});

function setup() {
  const kv = SqliteKv.open(':memory:');
  kvs.push(kv);
  const project = writeProject({ 'workflows/receiver.yaml': `id: receiver\n${TOOLS_YAML}triggers:\n  - type: signal\n    name: order-ready\ntasks:\n  - id: t\n    tool: echo\n` });
  const started: { workflowId: string; input: unknown; execId?: string }[] = [];
  let failures = 0;
  const engine = {
    async start(workflowId: string, input: unknown, options: { execId?: string }) {
      if (failures > 0) {
        failures--;
        throw new Error('Temporal is down');
      }
      started.push({ workflowId, input, ...(options.execId ? { execId: options.execId } : {}) });
      return { execId: options.execId ?? '', workflowId };
    },
  } as unknown as EngineClient;
  return { kv, bus: new EventBus(kv.broker, project), project, engine, started, failNext: (n: number) => (failures = n) };
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && !(await check())) await sleep(10);
}

describe('events through the KV broker', () => {
  it('an event starts its trigger workflow once, with the event id as the execution id, even after a failed start', async () => {
    const { bus, engine, started, failNext } = setup();
    await bus.setup();
    failNext(1);
    const errors: Error[] = [];
    const consumer = await bus.startDispatcher(engine, (error) => errors.push(error));
    const eventId = await bus.publish('order-ready', { order: 1 }, { api: true });
    await until(() => started.length > 0);
    await consumer.cancel();
    expect(started).toEqual([{ workflowId: 'receiver', input: { order: 1 }, execId: eventId }]);
    expect(errors.map((e) => e.message)).toEqual(['Temporal is down']);
  });

  it('an event whose trigger is gone is dead-lettered, not dropped', async () => {
    const { kv, bus, engine, started, project } = setup();
    await bus.setup();
    const queue = `compozy.events.${project.name}`;
    await kv.broker.bind(queue, EVENTS_EXCHANGE, 'ghost');
    const errors: Error[] = [];
    const consumer = await bus.startDispatcher(engine, (error) => errors.push(error));
    await kv.broker.publish(EVENTS_EXCHANGE, 'ghost', { event_id: 'e1', name: 'ghost', payload: {}, source: {} });
    await until(async () => (await kv.broker.stats(`${queue}.dead`)).messages === 1);
    await consumer.cancel();
    expect((await kv.broker.stats(`${queue}.dead`)).messages).toBe(1);
    expect(started).toEqual([]);
    expect(errors[0]?.message).toContain('event "ghost" (e1) has no trigger any more');
  });

  it('publishing refuses a signal no trigger takes', async () => {
    const { bus } = setup();
    await expect(bus.publish('nobody', {}, { api: true })).rejects.toMatchObject({ code: 'TRIGGER_NOT_FOUND' });
  });
});
