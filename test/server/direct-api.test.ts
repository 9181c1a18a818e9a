import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import type { EventBus } from '../../src/engine/events.js';
import type { AgentRequest } from '../../src/engine/executors.js';
import { compileProject } from '../../src/engine/project.js';
import { buildApp } from '../../src/server/app.js';
import { routeNeed } from '../../src/server/auth/policy.js';
import { ksuid } from '../../src/store/ksuid.js';
import { startHarness, type Harness } from '../engine/harness.js';
import { writeFiles } from '../helpers/files.js';

/**
 * Direct and sync executions and the read-only resource routes, injected into the API over a real
 * engine (SQLite store, the interpreter workflow and its activities on a worker of a Temporal test
 * server); only the tool and agent calls are the harness's fakes, so what reaches them is what the
 * routes compiled.
 */

const PROJECT = {
  'compozy.yaml': `name: direct-api
version: "1.2.0"
description: direct executions
workflows:
  - source: ./workflows/greet.yaml
  - source: ./workflows/other.yaml
  - source: ./workflows/clash.yaml
models:
  - provider: openai
    model: gpt-4o
    api_key: sk-very-secret
    default: true
schemas:
  - id: person
    type: object
    properties: { name: { type: string } }
autoload:
  enabled: true
  include:
    - "tasks/*.yaml"
`,
  'tasks/loud.yaml': `resource: task
id: loud
type: basic
tool: echo
with:
  text: "{{ .workflow.input.text }}"
  loud: true
outputs:
  said: "{{ .output.text }}!"
`,
  'workflows/greet.yaml': `id: greet
config:
  input:
    type: object
    properties: { name: { type: string }, ms: { type: integer } }
    required: [name]
tools:
  - id: echo
    description: echoes
    env: { TOKEN: literal-secret }
    config: { api_key: another-secret, region: eu }
  - id: sleep
agents:
  - id: helper
    model: openai:gpt-4o
    instructions: be brief
    actions:
      - id: hello
        prompt: "say hello to {{ .input.name }}"
tasks:
  - id: hello
    agent: helper
    action: hello
    with: { name: "{{ .workflow.input.name }}" }
    on_success: { next: nap }
  - id: nap
    tool: sleep
    with: { ms: "{{ .workflow.input.ms }}" }
    on_success: { next: shout }
  - id: shout
    tool: echo
    with: { text: "{{ .tasks.hello.output.text }}", loud: true }
outputs:
  text: "{{ .tasks.shout.output.text }}"
`,
  'workflows/clash.yaml': `id: "tool:report"
tasks:
  - id: clash
    type: aggregate
    outputs: { a: 1 }
`,
  'workflows/other.yaml': `id: other
tools:
  - id: report
tasks:
  - id: shout
    tool: report
    with: { text: other }
`,
};

const agentCalls: AgentRequest[] = [];
const toolOptions: { tool: string; input: Record<string, unknown>; options: unknown }[] = [];
const events = { publish: async () => ksuid() } as unknown as EventBus;

let harness: Harness;
let app: FastifyInstance;

beforeAll(async () => {
  const config = loadValidProject(writeFiles(PROJECT));
  harness = await startHarness(inject('temporalBin'), 'direct-api');
  harness.agents.set('helper', (request) => {
    agentCalls.push(request);
    if (request.prompt?.includes('fail')) throw new Error('the model refused');
    return { text: request.prompt ?? `hello ${String(request.input.name)}` };
  });
  const fake = harness.tools.call.bind(harness.tools);
  Object.assign(harness.tools, {
    call: async (tool: string, input: Record<string, unknown>, options: unknown) => {
      toolOptions.push({ tool, input, options });
      return fake(tool, input);
    },
  });
  const engine = harness.engine(compileProject(config, 20));
  app = buildApp({ health: async () => ({ mode: 'standalone', project: 'direct-api', status: 'up', components: [] }), notReadyReason: () => undefined, engine: { client: engine, store: harness.store, events }, project: config });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await harness?.close();
});

const post = (url: string, payload: Record<string, unknown> = {}) => app.inject({ method: 'POST', url: `/api/v0${url}`, payload });
const get = (url: string) => app.inject({ method: 'GET', url: `/api/v0${url}` });

async function ended(url: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const data = (await get(url)).json().data as Record<string, unknown>;
    if (['SUCCESS', 'FAILED', 'CANCELED', 'TIMED_OUT'].includes(String(data.status))) return data;
    await sleep(100);
  }
  throw new Error(`${url} did not end`);
}

describe('POST /workflows/:workflow_id/executions/sync', () => {
  it('answers 200 with the final state, the output and the exec id once the workflow ends', async () => {
    const answer = await post('/workflows/greet/executions/sync', { input: { name: 'Ada', ms: 0 } });
    expect(answer.statusCode).toBe(200);
    const body = answer.json();
    expect(body).toMatchObject({ status: 200, message: 'workflow execution completed', data: { output: { text: 'hello Ada' }, workflow: { status: 'SUCCESS', workflow_id: 'greet' } } });
    expect(body.data.workflow.workflow_exec_id).toBe(body.data.exec_id);
    expect(Object.keys(body.data.workflow.tasks).sort()).toEqual(['hello', 'nap', 'shout']);
  });

  it('on timeout answers 408 REQUEST_TIMEOUT with the state so far, and the execution keeps running to its end', async () => {
    const answer = await post('/workflows/greet/executions/sync', { input: { name: 'Bo', ms: 2500 }, timeout: 1 });
    expect(answer.statusCode).toBe(408);
    const body = answer.json();
    expect(body).toMatchObject({ status: 408, message: 'execution timeout', error: { code: 'REQUEST_TIMEOUT' }, data: { workflow: { status: 'RUNNING' } } });
    expect(await ended(`/executions/workflows/${String(body.data.exec_id)}`)).toMatchObject({ status: 'SUCCESS', output: { text: 'hello Bo' } });
  });

  it('refuses a timeout over 300 s, bad input and an unknown workflow before starting anything', async () => {
    expect((await post('/workflows/greet/executions/sync', { input: { name: 'x' }, timeout: 301 })).json().error).toMatchObject({ code: 'INPUT_INVALID', details: { errors: [{ path: 'timeout' }] } });
    expect((await post('/workflows/greet/executions/sync', { input: {} })).json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID' } });
    expect((await post('/workflows/nope/executions/sync', {})).json()).toMatchObject({ status: 404, error: { code: 'WORKFLOW_NOT_FOUND' } });
  });
});

describe('GET /workflows/:workflow_id/executions', () => {
  it('lists only that workflow\'s executions, newest first, paginated with a cursor', async () => {
    const ids: string[] = [];
    for (const name of ['p1', 'p2', 'p3']) ids.push(String((await post('/workflows/greet/executions', { input: { name, ms: 0 } })).json().data.exec_id));
    const other = String((await post('/workflows/other/executions', {})).json().data.exec_id);
    const first = (await get('/workflows/greet/executions?limit=2')).json().data;
    expect(first.page).toMatchObject({ limit: 2 });
    expect(first.page.next_cursor).toEqual(expect.any(String));
    const second = (await get(`/workflows/greet/executions?limit=50&cursor=${encodeURIComponent(first.page.next_cursor)}`)).json().data;
    const listed = [...first.executions, ...second.executions].map((e: { workflow_exec_id: string }) => e.workflow_exec_id);
    expect(listed.slice(0, 3)).toEqual([...ids].reverse());
    expect(listed).not.toContain(other);
    expect([...first.executions, ...second.executions].every((e: { workflow_id: string }) => e.workflow_id === 'greet')).toBe(true);
    expect((await get('/workflows/greet/executions?status=DONE')).statusCode).toBe(400);
    expect((await get('/workflows/nope/executions')).json().error.code).toBe('WORKFLOW_NOT_FOUND');
  });
});

describe('direct agent executions', () => {
  it('async: 202 with exec_id and exec_url (Location); the status route shows the agent\'s output once it ends', async () => {
    const answer = await post('/agents/helper/executions', { action: 'hello', with: { name: 'Cy' } });
    expect(answer.statusCode).toBe(202);
    const { exec_id: execId, exec_url: execUrl } = answer.json().data;
    expect(execUrl).toBe(`/api/v0/executions/agents/${String(execId)}`);
    expect(answer.headers.location).toBe(execUrl);
    const status = await ended(`/executions/agents/${String(execId)}`);
    expect(status).toMatchObject({ exec_id: execId, status: 'SUCCESS', component: 'agent', task_id: 'agent:helper', workflow_id: 'agent:helper', workflow_exec_id: execId, output: { text: 'hello Cy' }, error: null });
    // Executions of earlier tests may still be calling the agent: find this one's call by its input.
    expect(agentCalls.find((call) => call.input.name === 'Cy')).toMatchObject({ agentId: 'helper', actionId: 'hello', input: { name: 'Cy' } });
    // Recorded like any execution: its state is also readable as a workflow execution.
    expect((await get(`/executions/workflows/${String(execId)}`)).json().data).toMatchObject({ workflow_id: 'agent:helper', status: 'SUCCESS' });
    // A workflow's execution is not an agent execution.
    const wf = String((await post('/workflows/other/executions', {})).json().data.exec_id);
    expect((await get(`/executions/agents/${wf}`)).json()).toMatchObject({ status: 404, error: { code: 'EXECUTION_NOT_FOUND' } });
    expect((await get(`/executions/agents/${ksuid()}`)).statusCode).toBe(404);
  });

  it('sync with a prompt: 200 with exec_id, output and state; a failing agent is the agent\'s own error', async () => {
    const answer = await post('/agents/helper/executions/sync', { prompt: 'tell a joke', with: { topic: 'cats' } });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ status: 200, message: 'agent executed', data: { output: { text: 'tell a joke' }, state: { status: 'SUCCESS', component: 'agent' } } });
    const joke = agentCalls.find((call) => call.prompt === 'tell a joke');
    expect(joke).toMatchObject({ agentId: 'helper', input: { topic: 'cats' } });
    expect(joke?.actionId).toBeUndefined();
    const failed = await post('/agents/helper/executions/sync', { prompt: 'please fail' });
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toMatchObject({ status: 500, error: { message: expect.stringContaining('the model refused') }, data: { state: { status: 'FAILED' } } });
  });

  it('refuses neither or both of action and prompt, an unknown action, an unknown agent and unknown fields', async () => {
    expect((await post('/agents/helper/executions', {})).json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: 'Either action or prompt is required.' } });
    expect((await post('/agents/helper/executions', { action: 'hello', prompt: 'x' })).json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID' } });
    expect((await post('/agents/helper/executions', { action: 'nope' })).json()).toMatchObject({ status: 400, error: { code: 'INPUT_INVALID', message: 'Agent helper has no action "nope".' } });
    expect((await post('/agents/nobody/executions/sync', { prompt: 'x' })).json()).toMatchObject({ status: 404, error: { code: 'AGENT_NOT_FOUND' } });
    expect((await post('/agents/helper/executions', { prompt: 'x', input: {} })).json().error.details.errors).toEqual([expect.objectContaining({ path: 'input' })]);
  });
});

describe('direct tool and task executions', () => {
  it('a tool: sync answers its output; async has a status route', async () => {
    const answer = await post('/tools/echo/executions/sync', { with: { text: 'hi' } });
    expect(answer.json()).toMatchObject({ status: 200, data: { output: { text: 'hi' }, state: { component: 'tool', workflow_id: 'tool:echo' } } });
    const started = (await post('/tools/echo/executions', { with: { text: 'later' } })).json().data;
    expect(started.exec_url).toBe(`/api/v0/executions/tools/${String(started.exec_id)}`);
    expect(await ended(`/executions/tools/${String(started.exec_id)}`)).toMatchObject({ status: 'SUCCESS', output: { text: 'later' } });
    expect((await post('/tools/nope/executions', {})).json()).toMatchObject({ status: 404, error: { code: 'TOOL_NOT_FOUND' } });
    // A workflow whose id is the one a direct execution of tool report would be recorded under: refused, and its executions are not tool executions.
    expect((await post('/tools/report/executions', {})).json()).toMatchObject({ status: 400, error: { code: 'CONFIG_INVALID', message: expect.stringContaining('"tool:report"') } });
    const clash = String((await post('/workflows/tool:report/executions', {})).json().data.exec_id);
    expect((await get(`/executions/tools/${clash}`)).statusCode).toBe(404);
    // Without a timeout the call keeps the tool's own; with one, that bounds the call.
    expect(toolOptions.find((o) => o.input.text === 'hi')).toEqual({ tool: 'echo', input: { text: 'hi' }, options: {} });
    await post('/tools/echo/executions/sync', { with: { text: 'bounded' }, timeout: 7 });
    expect(toolOptions.find((o) => o.input.text === 'bounded')).toEqual({ tool: 'echo', input: { text: 'bounded' }, options: { timeoutMs: 7000 } });
  });

  it('a workflow\'s task runs alone, the request\'s with over its own; a task two workflows define needs workflow_id', async () => {
    const answer = await post('/tasks/shout/executions/sync', { with: { text: 'solo' }, workflow_id: 'greet' });
    expect(answer.json()).toMatchObject({ status: 200, data: { output: { text: 'solo', loud: true }, state: { task_id: 'shout', workflow_id: 'task:shout' } } });
    const ambiguous = await post('/tasks/shout/executions', { with: {} });
    expect(ambiguous.json()).toMatchObject({ status: 409, error: { code: 'TASK_AMBIGUOUS', details: { workflows: ['greet', 'other'] } } });
    const started = (await post('/tasks/hello/executions', { with: { name: 'Di' } })).json().data;
    expect(started.exec_url).toBe(`/api/v0/executions/tasks/${String(started.exec_id)}`);
    expect(await ended(`/executions/tasks/${String(started.exec_id)}`)).toMatchObject({ status: 'SUCCESS', task_id: 'hello', component: 'agent', output: { text: 'hello Di' } });
    expect((await post('/tasks/nope/executions', {})).json()).toMatchObject({ status: 404, error: { code: 'TASK_NOT_FOUND' } });
  });

  it('a task resource (resource: task) runs on its own, the request\'s with as the execution\'s input', async () => {
    const answer = await post('/tasks/loud/executions/sync', { with: { text: 'hey' } });
    expect(answer.json()).toMatchObject({ status: 200, data: { output: { said: 'hey!' }, state: { task_id: 'loud', workflow_id: 'task:loud', status: 'SUCCESS' } } });
    expect((await post('/tasks/loud/executions', { with: { text: 'x' }, workflow_id: 'greet' })).json()).toMatchObject({ status: 404, error: { code: 'TASK_NOT_FOUND' } });
  });
});

describe('API key scopes', () => {
  it('the resource and status routes need read, every execution route execute', () => {
    for (const url of ['/api/v0/agents', '/api/v0/models/:model_id', '/api/v0/project', '/api/v0/executions/agents/:exec_id', '/api/v0/workflows/:workflow_id/executions']) expect(routeNeed('GET', url), url).toBe('read');
    for (const url of ['/api/v0/agents/:agent_id/executions', '/api/v0/tools/:tool_id/executions/sync', '/api/v0/tasks/:task_id/executions', '/api/v0/workflows/:workflow_id/executions/sync']) expect(routeNeed('POST', url), url).toBe('execute');
  });
});

describe('read-only resource routes', () => {
  it('project, agents, tools, tasks, models, memories and schemas in the envelope; no secret leaves', async () => {
    expect((await get('/project')).json().data).toEqual({
      name: 'direct-api', version: '1.2.0', description: 'direct executions', runtime: expect.any(Object),
      workflows: ['greet', 'other', 'tool:report'], agents: ['helper'], tools: ['echo', 'sleep', 'report'], models: ['openai:gpt-4o'], memories: [], schemas: ['person'], tasks: ['loud'],
    });
    expect((await get('/agents/helper')).json().data).toMatchObject({ id: 'helper', model: 'openai:gpt-4o', instructions: 'be brief', actions: [{ id: 'hello', prompt: 'say hello to {{ .input.name }}' }] });
    expect((await get('/agents')).json().data.agents).toHaveLength(1);
    const echo = (await get('/tools/echo')).json().data;
    expect(echo).toMatchObject({ id: 'echo', description: 'echoes', env: ['TOKEN'], config: { api_key: '[redacted]', region: 'eu' } });
    expect((await get('/tasks')).json().data.tasks.map((t: { id: string; workflow_id: string | null }) => `${t.workflow_id}/${t.id}`)).toEqual(['null/loud', 'greet/hello', 'greet/nap', 'greet/shout', 'other/shout', 'tool:report/clash']);
    expect((await get('/tasks/loud')).json().data).toMatchObject({ id: 'loud', type: 'basic', tool: 'echo', workflow_id: null, outputs: { said: '{{ .output.text }}!' } });
    expect((await get('/tasks/hello')).json().data).toMatchObject({ id: 'hello', type: 'basic', agent: 'helper', action: 'hello', workflow_id: 'greet' });
    expect((await get('/tasks/shout')).json().error.code).toBe('TASK_AMBIGUOUS');
    expect((await get('/tasks/shout?workflow_id=other')).json().data).toMatchObject({ tool: 'report' });
    const models = (await get('/models')).json().data.models;
    expect(models).toEqual([{ id: 'openai:gpt-4o', provider: 'openai', model: 'gpt-4o', api_url: null, default: true, params: {}, api_key_set: true }]);
    expect((await get('/models/openai:gpt-4o')).json().data.id).toBe('openai:gpt-4o');
    expect((await get('/schemas/person')).json().data).toMatchObject({ id: 'person', schema: { type: 'object' } });
    expect((await get('/memories')).json().data).toEqual({ memories: [] });
    for (const url of ['/models/x:y', '/schemas/nope', '/memories/nope']) expect((await get(url)).json(), url).toMatchObject({ status: 404, error: { code: 'RESOURCE_NOT_FOUND' } });
    expect((await get('/agents/nope')).statusCode).toBe(404);
    const everything = (await Promise.all(['/project', '/agents', '/tools', '/tasks', '/models', '/memories', '/schemas'].map((url) => get(url)))).map((a) => a.body).join('\n');
    expect(everything).not.toContain('secret');
  });
});
