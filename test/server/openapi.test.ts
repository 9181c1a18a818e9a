import { Validator } from '@seriousme/openapi-schema-validator';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../src/engine/client.js';
import type { EventBus } from '../../src/engine/events.js';
import type { HealthReport } from '../../src/health.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { buildApp } from '../../src/server/app.js';
import { executionDto, executionWithTasksDto, workflowDto } from '../../src/server/routes/dto.js';
import { requestSchemaCompiler, responseSerializerCompiler } from '../../src/server/routes/schemas.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { createMemoryManager } from '../../src/memory/service.js';
import { ksuid } from '../../src/store/ksuid.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ExecutionStreamLog } from '../../src/engine/stream-log.js';
import { StreamHub } from '../../src/server/streams/hub.js';
import { Schedules } from '../../src/triggers/schedules.js';
import { TOOLS_YAML, writeProject } from '../engine/harness.js';

interface Operation {
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

interface Spec {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

const project = writeProject({
  'workflows/hello.yaml': `id: hello\nversion: "2"\nconfig:\n  input:\n    type: object\n    properties:\n      n: { type: integer }\n${TOOLS_YAML}tasks:\n  - id: a\n    tool: echo\noutputs:\n  n: "{{ .workflow.input.n }}"\n`,
});
const report: HealthReport = { mode: 'standalone', project: 'p', status: 'up', components: [{ name: 'store', backend: 'sqlite', state: 'up', path: '/tmp/x.db', detail: 'fine' }] };
const store = SqliteStore.open(':memory:');
const client = { workflow: { async start() {} } } as unknown as Client;
const engine = new EngineClient({ client, store, project, taskQueue: 'q', workerAvailable: async () => true, maxActiveExecutions: 0 });
const events = { publish: async () => ksuid() } as unknown as EventBus;
const kv = SqliteKv.open(':memory:');
/** Every route the app registers, as Fastify announces them. */
const routes: RouteOptions[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const config = loadValidProject(project.dir);
  const schedules = new Schedules({ client, kv, project: config, taskQueue: 'q', log: () => undefined });
  app = buildApp({ health: async () => report, notReadyReason: () => undefined, engine: { client: engine, store, events }, streams: new StreamHub(new ExecutionStreamLog(kv)), project: config, identity: { pid: 42 }, schedules });
  // The route plugins load at ready(), after this hook is in place, so it sees each of their routes.
  app.addHook('onRoute', (route) => void routes.push(route));
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await store.close();
  await kv.close();
});

async function spec(): Promise<Spec> {
  const answer = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(answer.statusCode).toBe(200);
  return answer.json<Spec>();
}

/** Fastify's route tree (`├── /api/v0/ (…)`, children indented 4 characters a level) as full paths and methods. */
function printedRoutes(): { path: string; method: string }[] {
  const parents: string[] = [];
  const found: { path: string; method: string }[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (depth === 0 ? '' : (parents[depth - 1] ?? '')) + (match[2] ?? '');
    parents[depth] = path;
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) found.push({ path, method });
  }
  return found;
}

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate((await spec()) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has every registered route, with the path parameter names the route uses', async () => {
    const { paths } = await spec();
    const documented = routes.filter((r) => r.schema?.hide !== true);
    const methods = documented.flatMap((r) => [r.method].flat().filter((m) => m !== 'HEAD').map((method) => ({ method, url: r.url })));
    expect(methods.map((m) => `${m.method} ${m.url}`)).toEqual(
      expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /api/v0/health', 'GET /metrics', 'GET /api/v0/workflows/:workflow_id', 'POST /api/v0/executions/workflows/:exec_id/resume', 'POST /api/v0/events',
        'POST /api/v0/workflows/:workflow_id/executions/sync', 'GET /api/v0/workflows/:workflow_id/executions', 'POST /api/v0/agents/:agent_id/executions', 'POST /api/v0/agents/:agent_id/executions/sync',
        'POST /api/v0/tasks/:task_id/executions/sync', 'POST /api/v0/tools/:tool_id/executions', 'GET /api/v0/executions/agents/:exec_id', 'GET /api/v0/executions/tasks/:exec_id', 'GET /api/v0/executions/tools/:exec_id',
        'GET /api/v0/project', 'GET /api/v0/agents/:agent_id', 'GET /api/v0/tools', 'GET /api/v0/tasks/:task_id', 'GET /api/v0/models', 'GET /api/v0/memories/:memory_id', 'GET /api/v0/schemas',
        'GET /api/v0/schedules', 'GET /api/v0/schedules/:workflow_id', 'PATCH /api/v0/schedules/:workflow_id', 'DELETE /api/v0/schedules/:workflow_id', 'POST /api/v0/schedules/:workflow_id/trigger']),
    );
    for (const { method, url } of methods) {
      const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const operation = paths[path]?.[method.toLowerCase()];
      expect(operation, `${method} ${url}`).toBeDefined();
      const routeParams = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      const specParams = (operation?.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(specParams.sort(), `${method} ${url}`).toEqual(routeParams.sort());
      expect(Object.keys(operation?.responses ?? {}).length, `${method} ${url} declares its responses`).toBeGreaterThan(0);
    }
    // The router's own table agrees, so no route escaped the hook (one added outside a plugin would).
    const printed = printedRoutes();
    expect(printed.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['POST /api/v0/events', 'GET /api/v0/executions/workflows/:exec_id', 'POST /api/v0/executions/workflows/:exec_id/signals', 'GET /healthz']));
    for (const { path, method } of printed) {
      if (path === '/openapi.json' || path === '/docs' || path.startsWith('/docs/') || method === 'HEAD') continue;
      expect(paths[path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]?.[method.toLowerCase()], `${method} ${path} from printRoutes`).toBeDefined();
    }
    // Nothing in the document that the server does not serve.
    const served = new Set(methods.map((m) => `${m.method.toLowerCase()} ${m.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    for (const [path, operations] of Object.entries(paths)) for (const method of Object.keys(operations)) expect(served, `${method} ${path}`).toContain(`${method} ${path}`);
  });

  it('declares the SSE streams as text/event-stream with their Last-Event-ID header', async () => {
    const { paths } = await spec();
    for (const path of ['/api/v0/executions/workflows/{exec_id}/stream', '/api/v0/executions/agents/{exec_id}/stream', '/api/v0/executions/tasks/{exec_id}/stream', '/api/v0/executions/tools/{exec_id}/stream']) {
      const operation = paths[path]?.get;
      expect(operation?.responses['200']).toMatchObject({ content: { 'text/event-stream': {} } });
      expect(operation?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['header:last-event-id', 'query:last_event_id', 'query:heartbeat_ms', 'query:events', 'path:exec_id']));
    }
    expect(paths['/api/v0/events/stream']?.get?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['workflow', 'status']));
  });

  it('declares bodies and query parameters', async () => {
    const { paths } = await spec();
    expect(paths['/api/v0/workflows/{workflow_id}/executions']?.post?.requestBody).toMatchObject({ content: { 'application/json': { schema: { properties: { input: { type: 'object' }, task_id: { type: 'string' } } } } } });
    expect(paths['/api/v0/executions/workflows']?.get?.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort()).toEqual(['cursor', 'limit', 'status', 'workflow_id']);
    expect(paths['/api/v0/executions/workflows/{exec_id}/signals']?.post?.responses).toHaveProperty('409');
    expect(paths['/api/v0/schedules/{workflow_id}']?.patch?.requestBody).toMatchObject({ content: { 'application/json': { schema: { properties: { enabled: { type: 'boolean' }, cron: { type: 'string' } } } } } });
  });
});

describe('request schemas', () => {
  it("every route's request and response schemas compile (the server compiles each on its route's first use, so a broken one would otherwise wait for it)", async () => {
    // The memory routes too, which the app above leaves out.
    const kv = SqliteKv.open(':memory:');
    const memory = await createMemoryManager({ kv, project: 'p', resources: [] });
    const withMemory = buildApp({ health: async () => report, notReadyReason: () => undefined, memory });
    const memoryRoutes: RouteOptions[] = [];
    withMemory.addHook('onRoute', (route) => void memoryRoutes.push(route));
    await withMemory.ready();
    await withMemory.close();
    await memory.close();
    await kv.close();
    const compile = requestSchemaCompiler();
    const checked: string[] = [];
    for (const route of [...routes, ...memoryRoutes]) {
      for (const part of ['body', 'querystring', 'params', 'headers'] as const) {
        const schema = route.schema?.[part];
        if (schema === undefined) continue;
        expect(() => compile(schema as object, part), `${String(route.method)} ${route.url} ${part}`).not.toThrow();
        checked.push(`${String(route.method)} ${route.url} ${part}`);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(['POST /api/v0/workflows/:workflow_id/executions body', 'GET /api/v0/executions/workflows querystring', 'GET /api/v0/memory/:memory_ref/read params']));

    // Response serializers are compiled on a route's first answer with a status, too.
    const serializer = responseSerializerCompiler();
    const serialized: string[] = [];
    for (const route of [...routes, ...memoryRoutes]) {
      for (const [httpStatus, schema] of Object.entries((route.schema?.response ?? {}) as Record<string, object>)) {
        const where = `${String(route.method)} ${route.url} ${httpStatus}`;
        expect(() => serializer({ schema, method: String(route.method), url: route.url, httpStatus }), where).not.toThrow();
        serialized.push(where);
      }
    }
    expect(serialized).toEqual(expect.arrayContaining(['GET /api/v0/health 200', 'GET /readyz 503', 'GET /api/v0/memory/:memory_ref/read 200']));
  });
});

describe('request validation answers 400 INPUT_INVALID in the envelope, naming the field', () => {
  const post = (url: string, payload: Record<string, unknown>) => app.inject({ method: 'POST', url, payload });

  it('a body field of the wrong type, never coerced', async () => {
    const notObject = await post('/api/v0/workflows/hello/executions', { input: [1] });
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json()).toEqual({ status: 400, error: { code: 'INPUT_INVALID', message: '"input" must be a JSON object.', details: { errors: [{ path: 'input', message: '"input" must be a JSON object.' }] } } });
    const number = await post('/api/v0/workflows/hello/executions', { input: {}, task_id: 5 });
    expect(number.json().error).toMatchObject({ code: 'INPUT_INVALID', message: '"task_id" must be a string.' });
  });

  it('an unknown body field is refused by name, not dropped', async () => {
    const answer = await post('/api/v0/workflows/hello/executions', { inputs: { n: 1 } });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [{ path: 'inputs', message: 'The body has "inputs", which is not a field here.' }] } });
  });

  it('a missing required field, and no body at all where one is required', async () => {
    const execId = (await post('/api/v0/workflows/hello/executions', { input: { n: 1 } })).json().data.exec_id as string;
    const noName = await post(`/api/v0/executions/workflows/${execId}/signals`, { payload: {} });
    expect(noName.json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: 'The body needs "signal_name".', details: { errors: [{ path: 'signal_name' }] } } });
    const noBody = await app.inject({ method: 'POST', url: '/api/v0/events' });
    expect(noBody.json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: 'The body needs "name".' } });
    // Every field of a start is optional, so a start needs no body.
    expect((await app.inject({ method: 'POST', url: '/api/v0/workflows/hello/executions' })).statusCode).toBe(202);
  });

  it('query parameters: coerced from text to their type, refused out of range, out of their enum, or unknown', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v0/executions/workflows?limit=2' })).json().data.page.limit).toBe(2);
    for (const [search, path] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['status=DONE', 'status'],
      ['workflow=hello', 'workflow'],
    ] as const) {
      const answer = await app.inject({ method: 'GET', url: `/api/v0/executions/workflows?${search}` });
      expect(answer.statusCode, search).toBe(400);
      expect(answer.json().error, search).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [expect.objectContaining({ path })] } });
    }
    expect((await app.inject({ method: 'GET', url: '/api/v0/executions/workflows?status=DONE' })).json().error.message).toBe('"status" must be one of PENDING, RUNNING, SUCCESS, FAILED, TIMED_OUT, CANCELED, WAITING, PAUSED.');
  });
});

describe('response schemas leave every field of the answers', () => {
  it('workflows, executions with their task states, the list, health and readiness answer exactly what their DTOs hold', async () => {
    const started = await app.inject({ method: 'POST', url: '/api/v0/workflows/hello/executions', payload: { input: { n: 3 } } });
    expect(started.statusCode).toBe(202);
    const execId = started.json().data.exec_id as string;
    await store.upsertTaskState({ taskExecId: ksuid(), taskId: 'a', workflowExecId: execId, workflowId: 'hello', component: 'tool', status: 'SUCCESS', executionType: 'basic', toolId: 'echo', input: { n: 3 }, output: { n: 3, nested: { deep: [1, null, 'x'] } }, usage: null });
    await store.updateWorkflowExecution(execId, { status: 'FAILED', output: { n: 3 }, error: { code: 'TOOL_FAILED', message: 'no', details: { at: 'a' } } });
    const execution = await store.getWorkflowExecution(execId);
    if (!execution) throw new Error('execution missing');

    const state = await app.inject({ method: 'GET', url: `/api/v0/executions/workflows/${execId}` });
    expect(state.json()).toEqual({ status: 200, message: 'workflow execution', data: roundTrip(executionWithTasksDto(execution)) });
    const list = await app.inject({ method: 'GET', url: '/api/v0/executions/workflows?workflow_id=hello' });
    expect(list.json().data.executions).toContainEqual(roundTrip(executionDto(execution)));
    expect(list.json().data.page).toEqual({ limit: 50, next_cursor: null });
    const workflow = await app.inject({ method: 'GET', url: '/api/v0/workflows/hello' });
    expect(workflow.json().data).toEqual(roundTrip(workflowDto(engine.workflow('hello'))));
    const health = await app.inject({ method: 'GET', url: '/api/v0/health' });
    expect(health.json()).toEqual({ status: 200, message: 'platform is up', data: roundTrip({ ...report, queue: await engine.queue() }) });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', pid: 42 });
  });
});

describe('Swagger UI at /docs', () => {
  it('serves its page and its scripts from the installed package', async () => {
    let answer = await app.inject({ method: 'GET', url: '/docs' });
    if (answer.statusCode >= 300 && answer.statusCode < 400) answer = await app.inject({ method: 'GET', url: new URL(String(answer.headers.location), 'http://x/docs/').pathname });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toContain('text/html');
    const scripts = [...answer.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      const script = await app.inject({ method: 'GET', url: new URL(src, 'http://x/docs/').pathname });
      expect(script.statusCode, src).toBe(200);
      expect(script.headers['content-type'], src).toContain('javascript');
      expect(script.body.length, src).toBeGreaterThan(100);
    }
    // The page reads the generated document.
    const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(initializer.body).toContain('json');
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).json()).toEqual(await spec());
  });
});
