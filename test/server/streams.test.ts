import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EventBus } from '../../src/engine/events.js';
import type { EngineProject } from '../../src/engine/project.js';
import { RecordingStore } from '../../src/engine/recording-store.js';
import { ExecutionStreamLog } from '../../src/engine/stream-log.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { loadSettings } from '../../src/config/settings.js';
import { buildApp } from '../../src/server/app.js';
import { createKey } from '../../src/server/auth/keys.js';
import { StreamHub } from '../../src/server/streams/hub.js';
import { ksuid } from '../../src/store/ksuid.js';
import { startHarness, TOOLS_YAML, writeProject, type Harness } from '../engine/harness.js';
import { openSse, type SseEvent } from '../helpers/sse.js';

/**
 * The SSE routes over a real engine (the interpreter on a Temporal test server, a SQLite store whose
 * writes go to the stream log on a SQLite KV file), served on a real port and read with fetch and
 * eventsource-parser as a client would.
 */

let h: Harness;
let kv: SqliteKv;
let app: FastifyInstance;
let base: string;
let project: EngineProject;

const WORKFLOWS = {
  'workflows/gated.yaml': `id: gated
${TOOLS_YAML}tasks:
  - id: first_gate
    type: wait
    wait_for: go
    condition: "true"
    on_success:
      next: work
  - id: work
    type: basic
    tool: echo
    with:
      n: 1
    on_success:
      next: second_gate
  - id: second_gate
    type: wait
    wait_for: more
    condition: "true"
    on_success:
      next: done
  - id: done
    type: basic
    tool: echo
    with:
      n: 2
`,
  'workflows/broken.yaml': `id: broken
${TOOLS_YAML}tasks:
  - id: boom
    type: basic
    tool: fail
    with:
      message: it broke
`,
};

beforeAll(async () => {
  kv = SqliteKv.open(join(mkdtempSync(join(tmpdir(), 'streams-')), 'kv.db'));
  const log = new ExecutionStreamLog(kv);
  h = await startHarness(inject('temporalBin'), 'streams-test', [], { wrapStore: (store) => new RecordingStore(store, log) });
  project = writeProject(WORKFLOWS);
  const engine = h.engine(project);
  app = buildApp({ health: async () => ({ mode: 'standalone', project: 'streams', status: 'up', components: [] }), notReadyReason: () => undefined, engine: { client: engine, store: h.store, events: new EventBus(kv.broker, project) }, streams: new StreamHub(log) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v0`;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await h?.close();
  await kv?.close();
});

const summary = (events: SseEvent[]) => events.map((e) => `${e.id} ${e.event} ${String((e.data.task as { task_id?: string } | undefined)?.task_id ?? (e.data.execution as { status?: string } | undefined)?.status ?? '')}`);

describe('GET /executions/workflows/:exec_id/stream', () => {
  it('a stream opened before the first task, one opened mid-run and one opened after the end all get every event in order; Last-Event-ID resumes', async () => {
    const engine = h.engine(project);
    const { execId } = await engine.start('gated', {});
    const url = `${base}/executions/workflows/${execId}/stream`;
    const early = await openSse(url);
    expect(early.status).toBe(200);
    expect(early.contentType).toMatch(/^text\/event-stream/);
    await early.waitFor((e) => e.event === 'execution.status' && (e.data.execution as { status: string }).status === 'PAUSED', 'the first gate waiting');
    const dropped = await openSse(url);
    await dropped.waitFor((e) => e.id === 2, 'two events');
    dropped.abort();
    await dropped.ended;

    await engine.signal(execId, 'go', {});
    const secondGate = (e: SseEvent) => e.event === 'execution.status' && (e.data.execution as { status: string }).status === 'PAUSED' && e.id !== early.events.find((f) => f.event === 'execution.status' && (f.data.execution as { status: string }).status === 'PAUSED')?.id;
    await early.waitFor(secondGate, 'the second gate waiting');
    const midRun = await openSse(url);
    await midRun.waitFor(secondGate, 'the backlog up to the second gate');
    const resumed = await openSse(url, { 'last-event-id': String(dropped.events.at(-1)?.id) });
    const resumedByQuery = await openSse(`${url}?last_event_id=3`);
    await resumed.waitFor(secondGate, 'the resumed backlog');

    await engine.signal(execId, 'more', {});
    await Promise.all([early.ended, midRun.ended, resumed.ended, resumedByQuery.ended]);
    for (const client of [early, midRun, resumed, resumedByQuery]) expect(client.endedByServer()).toBe(true);

    const all = early.events;
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)).toMatchObject({ event: 'execution.finished', data: { exec_id: execId, workflow_id: 'gated', execution: { status: 'SUCCESS', workflow_exec_id: execId } } });
    const names = summary(all);
    expect(names[0]).toBe('1 execution.status PENDING');
    for (const task of ['work', 'done']) {
      const started = names.findIndex((n) => n.endsWith(`task.started ${task}`));
      const succeeded = names.findIndex((n) => n.endsWith(`task.succeeded ${task}`));
      expect(started).toBeGreaterThan(0);
      expect(succeeded).toBeGreaterThan(started);
    }
    expect(names.filter((n) => n.includes('execution.finished'))).toHaveLength(1);
    const work = all.find((e) => e.event === 'task.succeeded' && (e.data.task as { task_id: string }).task_id === 'work');
    expect(work?.data).toMatchObject({ exec_id: execId, task: { status: 'SUCCESS', output: { n: 1 }, workflow_exec_id: execId, task_exec_id: expect.any(String) } });

    expect(midRun.events).toEqual(all);
    expect([...dropped.events, ...resumed.events]).toEqual(all);
    expect(resumedByQuery.events).toEqual(all.slice(3));

    const late = await openSse(url);
    await late.ended;
    expect(late.endedByServer()).toBe(true);
    expect(late.events).toEqual(all);
    const lateTail = await openSse(url, { 'last-event-id': String(all.length - 1) });
    await lateTail.ended;
    expect(lateTail.events).toEqual(all.slice(-1));
  }, 60_000);

  it('a failing task is task.failed with its error, and the stream ends with execution.finished FAILED', async () => {
    const { execId } = await h.engine(project).start('broken', {});
    const stream = await openSse(`${base}/executions/workflows/${execId}/stream`);
    await stream.ended;
    const failed = stream.events.filter((e) => e.event === 'task.failed');
    expect(failed.at(-1)?.data).toMatchObject({ task: { task_id: 'boom', status: 'FAILED', error: { message: expect.stringContaining('it broke') } } });
    expect(stream.events.at(-1)).toMatchObject({ event: 'execution.finished', data: { execution: { status: 'FAILED' } } });
  }, 60_000);

  it('sends heartbeat comments while nothing happens, and events= sends only the events named', async () => {
    const engine = h.engine(project);
    const { execId } = await engine.start('gated', {});
    const stream = await openSse(`${base}/executions/workflows/${execId}/stream?heartbeat_ms=100&events=task.succeeded,execution.finished`);
    const deadline = Date.now() + 20_000;
    while (stream.comments.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.comments.slice(0, 2)).toEqual(['ping', 'ping']);
    await engine.signal(execId, 'go', {});
    await engine.signal(execId, 'more', {});
    await stream.ended;
    expect(stream.events.map((e) => e.event)).toEqual(['task.succeeded', 'task.succeeded', 'task.succeeded', 'task.succeeded', 'execution.finished']);
    expect(stream.events.map((e) => e.id)).toEqual([...stream.events.map((e) => e.id)].sort((a, b) => Number(a) - Number(b)));
  }, 60_000);

  it('refuses an unknown execution, a malformed id, a Last-Event-ID that is not an id and an unknown event name', async () => {
    const unknown = await fetch(`${base}/executions/workflows/${ksuid()}/stream`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('EXECUTION_NOT_FOUND');
    expect((await fetch(`${base}/executions/workflows/nope/stream`)).status).toBe(400);
    const { execId } = await h.engine(project).start('broken', {});
    const badId = await fetch(`${base}/executions/workflows/${execId}/stream`, { headers: { 'last-event-id': 'abc' } });
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as { error: { message: string } }).error.message).toContain('Last-Event-ID "abc" is not an event id');
    const badEvent = await fetch(`${base}/executions/workflows/${execId}/stream?events=task.started,task.exploded`);
    expect(badEvent.status).toBe(400);
    expect(((await badEvent.json()) as { error: { message: string } }).error.message).toContain('"task.exploded"');
    expect((await fetch(`${base}/executions/workflows/${execId}/stream?heartbeat_ms=5`)).status).toBe(400);
  }, 60_000);

  it('with API keys on, a stream needs a key with the read scope, as every read does', async () => {
    const { execId } = await h.engine(project).start('broken', {});
    await h.finish(execId);
    const keys = h.store.apiKeys;
    if (!keys) throw new Error('the harness store keeps API keys');
    const { key } = await createKey(keys, { name: 'stream-reader', scope: 'read', expiresAt: null });
    const secured = buildApp({
      health: async () => ({ mode: 'standalone', project: 'streams', status: 'up', components: [] }),
      notReadyReason: () => undefined,
      engine: { client: h.engine(project), store: h.store, events: new EventBus(kv.broker, project) },
      streams: new StreamHub(new ExecutionStreamLog(kv)),
      security: { host: '127.0.0.1', settings: loadSettings({ document: { auth: { enabled: true } } }, {}, {}), keys, kv },
    });
    await secured.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${(secured.server.address() as AddressInfo).port}/api/v0/executions/workflows/${execId}/stream`;
      const refused = await fetch(url);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      const stream = await openSse(url, { authorization: `Bearer ${key}` });
      expect(stream.status).toBe(200);
      await stream.ended;
      expect(stream.events.at(-1)).toMatchObject({ event: 'execution.finished', data: { execution: { status: 'FAILED' } } });
    } finally {
      await secured.close();
    }
  }, 60_000);

  it('an ended execution whose log has expired replays its stored task states, then its end, numbered from 1', async () => {
    const { execId } = await h.engine(project).start('broken', {});
    const stored = await h.finish(execId);
    expect(await kv.del(`stream:exec:${execId}`)).toBe(1);
    const stream = await openSse(`${base}/executions/workflows/${execId}/stream`);
    await stream.ended;
    expect(stream.events.map((e) => `${e.id} ${e.event}`)).toEqual([...stored.taskStates.map((state, i) => `${i + 1} ${state.status === 'FAILED' ? 'task.failed' : 'task.status'}`), `${stored.taskStates.length + 1} execution.finished`]);
    expect(stream.events[0]?.data).toMatchObject({ task: { task_id: 'boom', status: 'FAILED' } });
  }, 60_000);

  it('a record whose notification never came (another writer, a lost message) is read from the log when the next one arrives, in order', async () => {
    const engine = h.engine(project);
    const { execId } = await engine.start('gated', {});
    const url = `${base}/executions/workflows/${execId}/stream`;
    const stream = await openSse(url);
    await stream.waitFor((e) => e.event === 'execution.status' && (e.data.execution as { status: string }).status === 'PAUSED', 'the gate waiting');
    const before = stream.events.length;
    const silent = await h.store.upsertTaskState({ taskExecId: ksuid(), taskId: 'silent', workflowExecId: execId, workflowId: 'gated', component: 'task', status: 'RUNNING', executionType: 'basic', input: {} });
    // Appended as the log's next record without its pub/sub notice, as a notice lost on the way would leave it.
    await kv.rpush(`stream:exec:${execId}`, JSON.stringify({ kind: 'task', at: silent.updatedAt, state: { ...silent, status: 'SUCCESS' } }));
    await h.store.upsertTaskState({ taskExecId: ksuid(), taskId: 'loud', workflowExecId: execId, workflowId: 'gated', component: 'task', status: 'SUCCESS', executionType: 'basic', input: {} });
    await stream.waitFor((e) => taskIdOf(e) === 'loud', 'the notified record');
    expect(stream.events.slice(before).map((e) => `${e.id} ${e.event} ${taskIdOf(e)}`)).toEqual([`${before + 1} task.started silent`, `${before + 2} task.succeeded silent`, `${before + 3} task.succeeded loud`]);
    stream.abort();
    await engine.cancel(execId);
    await h.finish(execId);
  }, 60_000);

  it('a client that stops reading is sent nothing while it is behind, and once it reads again gets every event from the log, in order', async () => {
    const engine = h.engine(project);
    const { execId } = await engine.start('gated', {});
    const url = `${base}/executions/workflows/${execId}/stream`;
    let read: () => void = () => undefined;
    const stalled = await openSse(url, {}, { readAfter: new Promise<void>((resolve) => (read = resolve)) });
    const big = 'x'.repeat(256 * 1024);
    // 25 MiB: more than the loopback socket buffers of both ends and the server's high-water mark together.
    const written = 100;
    for (let n = 0; n < written; n++) {
      await h.store.upsertTaskState({ taskExecId: ksuid(), taskId: `bulk${n}`, workflowExecId: execId, workflowId: 'gated', component: 'task', status: 'SUCCESS', executionType: 'basic', input: {}, output: { big } });
      // The writer and the server share this process: let the server deliver, as it would from a worker's process.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(stalled.events).toEqual([]);
    read();
    const resumed = await openSse(url, { 'last-event-id': '1' });
    for (const client of [stalled, resumed]) await client.waitFor((e) => taskIdOf(e) === `bulk${written - 1}`, 'the last bulk state', 60_000);

    const bulk = (client: typeof stalled) => client.events.filter((e) => taskIdOf(e)?.startsWith('bulk')).map((e) => taskIdOf(e));
    expect(bulk(stalled)).toEqual(Array.from({ length: written }, (_, n) => `bulk${n}`));
    expect(bulk(resumed)).toEqual(bulk(stalled));
    expect(stalled.events.map((e) => e.id)).toEqual(stalled.events.map((_, i) => i + 1));
    expect(resumed.events).toEqual(stalled.events.slice(1));
    // Canceled rather than run on: its default output would hold every bulk state.
    await engine.cancel(execId);
    await Promise.all([stalled.ended, resumed.ended]);
    expect(stalled.events.at(-1)).toMatchObject({ event: 'execution.finished', data: { execution: { status: 'CANCELED' } } });
  }, 120_000);
});

const taskIdOf = (e: SseEvent) => (e.data.task as { task_id?: string } | undefined)?.task_id;
