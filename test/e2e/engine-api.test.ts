import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { CliProcess, copyFixture } from '../helpers/cli.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

interface Envelope {
  status: number;
  message?: string;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; details: Record<string, unknown> };
}

class Serve extends CliProcess {
  constructor(
    readonly project: string,
    readonly port: number,
    temporalAddress: string,
  ) {
    super(['serve', project, '--port', String(port), '--temporal-address', temporalAddress]);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitReady(path = '/readyz', timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) break;
      const ok = await fetch(`${this.base}${path}`).then((r) => r.ok, () => false);
      if (ok) return;
      await sleep(50);
    }
    throw new Error(`serve not ready at ${path}:\n${this.output}`);
  }

  async request(method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; headers: Headers; body: Envelope }> {
    const response = await fetch(`${this.base}/api/v0${path}`, {
      method,
      ...(body !== undefined || raw !== undefined ? { headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) } : {}),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Envelope };
  }
}

let temporal: TestTemporal;
const serves: Serve[] = [];

async function startServe(project: string, address = temporal.address, readyPath = '/readyz'): Promise<Serve> {
  const serve = new Serve(project, await freePort(), address);
  serves.push(serve);
  await serve.waitReady(readyPath);
  return serve;
}

async function finalState(serve: Serve, execId: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last: Envelope | undefined;
  while (Date.now() < deadline) {
    last = (await serve.request('GET', `/executions/workflows/${execId}`)).body;
    if (['SUCCESS', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(String(last.data?.status))) return last.data as Record<string, unknown>;
    await sleep(100);
  }
  throw new Error(`execution ${execId} did not finish: ${JSON.stringify(last)}`);
}

async function statusIs(serve: Serve, execId: string, status: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await serve.request('GET', `/executions/workflows/${execId}`)).body.data?.status === status) return;
    await sleep(50);
  }
  throw new Error(`execution ${execId} never reached ${status}`);
}

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
}, 60_000);

afterEach(async () => {
  await Promise.all(serves.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await temporal?.stop();
});

describe('execution API', () => {
  it('starts an execution (202 + Location), reports its state with tasks, and lists workflows and executions', async () => {
    const serve = await startServe(copyFixture('engine-api'));
    const started = await serve.request('POST', '/workflows/nap/executions', { input: { n: 7 } });
    expect(started.status).toBe(202);
    const execId = String(started.body.data?.exec_id);
    expect(started.body).toEqual({ status: 202, message: 'workflow triggered successfully', data: { exec_id: execId, exec_url: `/api/v0/executions/workflows/${execId}`, workflow_id: 'nap' } });
    expect(started.headers.get('location')).toBe(`/api/v0/executions/workflows/${execId}`);

    const state = await finalState(serve, execId);
    expect(state).toMatchObject({ workflow_exec_id: execId, workflow_id: 'nap', status: 'SUCCESS', input: { n: 7 }, output: { n: 7 }, error: null });
    const tasks = state.tasks as Record<string, Record<string, unknown>>;
    expect(Object.keys(tasks)).toEqual(['first', 'second']);
    expect(tasks.first).toMatchObject({ task_id: 'first', component: 'tool', tool_id: 'nap', status: 'SUCCESS', execution_type: 'basic', output: { napped: 300, n: 7 }, workflow_exec_id: execId });

    const workflows = await serve.request('GET', '/workflows');
    expect((workflows.body.data?.workflows as { id: string }[]).map((w) => w.id)).toEqual(['nap', 'approval', 'approval_quick', 'on_event']);
    const nap = await serve.request('GET', '/workflows/nap');
    expect(nap.body.data).toMatchObject({ id: 'nap', input: { required: ['n'] }, tasks: [{ id: 'first', type: 'basic' }, { id: 'second', type: 'basic' }] });
    const list = await serve.request('GET', '/executions/workflows?workflow_id=nap&limit=10');
    expect((list.body.data?.executions as { workflow_exec_id: string }[]).map((e) => e.workflow_exec_id)).toContain(execId);

    const spec = (await (await fetch(`${serve.base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, object> };
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v0/workflows/{workflow_id}/executions', '/api/v0/executions/workflows/{exec_id}/signals']));
  });

  it('answers bad requests in the envelope: 404, 400 with every schema error, malformed JSON, 413, unknown and malformed exec ids', async () => {
    const serve = await startServe(copyFixture('engine-api'));
    const unknown = await serve.request('POST', '/workflows/nope/executions', { input: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 404, error: { code: 'WORKFLOW_NOT_FOUND' } });

    const invalid = await serve.request('POST', '/workflows/nap/executions', { input: { n: 'x', extra: 1 } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [{ path: '/n', message: 'must be integer' }] } });
    const missing = await serve.request('POST', '/workflows/nap/executions', { input: {} });
    expect(missing.body.error?.details.errors).toEqual([expect.objectContaining({ path: '/', message: "must have required property 'n'" })]);

    const malformed = await serve.request('POST', '/workflows/nap/executions', undefined, '{"input": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ status: 400, error: { code: 'BAD_REQUEST' } });

    // Declares a 2 MiB body but sends little: the server answers from the length alone, so the
    // client never races the server closing a connection it is still writing to.
    const huge = await new Promise<{ status: number; body: Envelope }>((resolve, reject) => {
      const req = httpRequest(`${serve.base}/api/v0/workflows/nap/executions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Envelope }));
      });
      req.on('error', reject);
      req.write('{"input": {"n": 1, "pad": "');
    });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ status: 413, error: { code: 'PAYLOAD_TOO_LARGE' } });

    const notAnObject = await serve.request('POST', '/workflows/nap/executions', { input: [1] });
    expect(notAnObject.body).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: '"input" must be a JSON object.' } });

    const noExec = await serve.request('GET', `/executions/workflows/${ksuid()}`);
    expect(noExec.status).toBe(404);
    expect(noExec.body.error?.code).toBe('EXECUTION_NOT_FOUND');
    const badId = await serve.request('GET', '/executions/workflows/not-an-id');
    expect(badId.status).toBe(400);
    expect(badId.body.error?.code).toBe('INVALID_EXEC_ID');
    const signalUnknown = await serve.request('POST', `/executions/workflows/${ksuid()}/signals`, { signal_name: 'x' });
    expect(signalUnknown.status).toBe(404);

    const list = await serve.request('GET', '/executions/workflows');
    expect(list.body.data?.executions).toEqual([]);
  });

  it('a wait task continues on a signal sent through the API; its timeout goes to on_timeout', async () => {
    const serve = await startServe(copyFixture('engine-api'));
    const { body } = await serve.request('POST', '/workflows/approval/executions', {});
    const execId = String(body.data?.exec_id);
    await statusIs(serve, execId, 'PAUSED');
    const noName = await serve.request('POST', `/executions/workflows/${execId}/signals`, { payload: {} });
    expect(noName.body).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID' } });
    const sent = await serve.request('POST', `/executions/workflows/${execId}/signals`, { signal_name: 'approved', payload: { ok: true, by: 'ana' } });
    expect(sent.body).toMatchObject({ status: 200, message: 'Signal sent successfully' });
    const state = await finalState(serve, execId);
    expect(state.status).toBe('SUCCESS');
    expect((state.tasks as Record<string, { output: unknown }>).approved?.output).toEqual({ by: 'ana' });
    const late = await serve.request('POST', `/executions/workflows/${execId}/signals`, { signal_name: 'approved', payload: {} });
    expect(late.body).toMatchObject({ status: 409, error: { code: 'EXECUTION_NOT_RUNNING' } });

    const quick = await serve.request('POST', '/workflows/approval_quick/executions', {});
    const timedOut = await finalState(serve, String(quick.body.data?.exec_id));
    const tasks = timedOut.tasks as Record<string, { status: string; error: unknown; output: unknown }>;
    expect(tasks.approve).toMatchObject({ status: 'FAILED', error: { code: 'WAIT_TIMEOUT', message: 'wait task timed out after 1s' } });
    expect(tasks.expired?.output).toEqual({ expired: true });
    expect(timedOut.status).toBe('FAILED');
  });

  it('POST /events starts the workflow whose signal trigger has that name, through the KV broker', async () => {
    const serve = await startServe(copyFixture('engine-api'));
    const accepted = await serve.request('POST', '/events', { name: 'order-ready', payload: { order: 5 } });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 202, message: 'event received', data: { event_id: expect.stringMatching(/^[0-9A-Za-z]{27}$/) } });
    const eventId = String(accepted.body.data?.event_id);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await serve.request('GET', `/executions/workflows/${eventId}`)).status === 404) await sleep(50);
    const state = await finalState(serve, eventId);
    expect(state).toMatchObject({ workflow_id: 'on_event', status: 'SUCCESS', input: { order: 5 } });

    expect(await serve.request('POST', '/events', { name: 'nobody', payload: {} })).toMatchObject({ status: 404, body: { error: { code: 'TRIGGER_NOT_FOUND' } } });
    expect(await serve.request('POST', '/events', { name: 'order-ready', payload: { order: 'x' } })).toMatchObject({ status: 400, body: { error: { code: 'INPUT_INVALID' } } });
    expect(await serve.request('POST', '/events', { payload: {} })).toMatchObject({ status: 400 });
  });

  it('answers 503 WORKER_UNAVAILABLE when no worker polls the task queue', async () => {
    const closed = await freePort();
    const serve = await startServe(copyFixture('engine-api'), `127.0.0.1:${closed}`, '/healthz');
    const response = await serve.request('POST', '/workflows/nap/executions', { input: { n: 1 } });
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'WORKER_UNAVAILABLE' });
    expect(response.body.error?.message).toContain('task queue "compozy"');
  });
});

describe('durability', () => {
  it('20 executions survive a SIGKILLed worker process: all finish SUCCESS after a restart, with no task state written twice', async () => {
    const project = copyFixture('engine-api');
    const first = await startServe(project);
    const execIds: string[] = [];
    for (let n = 0; n < 20; n++) {
      const { status, body } = await first.request('POST', '/workflows/nap/executions', { input: { n } });
      expect(status).toBe(202);
      execIds.push(String(body.data?.exec_id));
    }
    await sleep(700);
    first.child.kill('SIGKILL');
    await first.exited;
    const store = SqliteStore.open(join(project, '.compozy', 'compozy.db'));
    try {
      const before = await Promise.all(execIds.map((id) => store.getWorkflowExecution(id)));
      expect(before.filter((e) => e?.status === 'SUCCESS').length).toBeLessThan(20);

      const second = await startServe(project);
      const states = await Promise.all(execIds.map((id) => finalState(second, id, 60_000)));
      expect(states.map((s) => s.status)).toEqual(execIds.map(() => 'SUCCESS'));
      expect(states.map((s) => (s.output as { n: number }).n)).toEqual(execIds.map((_, n) => n));
      for (const id of execIds) {
        const tasks = await store.listTaskStates(id);
        expect(tasks.map((t) => t.taskId)).toEqual(['first', 'second']);
      }
    } finally {
      await store.close();
    }
  }, 90_000);
});
