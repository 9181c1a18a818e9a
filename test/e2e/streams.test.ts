import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/platform/ports.js';
import { CliProcess } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { DATABASE_URL, REDIS_URL, withServices } from '../helpers/services.js';
import { openSse, type SseEvent } from '../helpers/sse.js';
import { startTemporal, type TestTemporal } from '../helpers/temporal.js';

/**
 * Streams across processes: the API (`--no-worker`) serves the SSE stream while a separate
 * `compozy worker` runs the execution, an agent task with a tool call on an OpenAI-compatible model in
 * this test process, then a wait task; the worker is restarted while the execution waits, and the
 * stream keeps delivering through the new worker to the end. In standalone the two processes share
 * the project's SQLite KV and store; in distributed, Redis and PostgreSQL.
 */

let temporal: TestTemporal;
let model: Server;
let modelUrl: string;
const procs: CliProcess[] = [];
let counter = 0;

function completion(message: Record<string, unknown>, finish: string) {
  return { id: 'c', object: 'chat.completion', created: 1, model: 'local-model', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } };
}

beforeAll(async () => {
  temporal = await startTemporal(inject('temporalBin'));
  // First call of a conversation: call the echo tool; once a tool result is in the messages: answer.
  model = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const messages = (JSON.parse(body) as { messages: Array<{ role: string }> }).messages;
      const answered = messages.some((m) => m.role === 'tool');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answered ? completion({ content: 'The echo said hi.' }, 'stop') : completion({ content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'echo', arguments: '{"text":"hi"}' } }] }, 'tool_calls')));
    });
  });
  await new Promise<void>((resolve) => model.listen(0, '127.0.0.1', resolve));
  modelUrl = `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`;
}, 60_000);

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await new Promise((resolve) => model?.close(resolve));
  await temporal?.stop();
});

function project(): { dir: string; name: string } {
  const name = `streams-${process.pid}-${++counter}`;
  const dir = writeFiles({
    'compozy.yaml': `name: ${name}
models:
  - provider: openai-compatible
    model: local-model
    api_url: "{{ .env.LLM_URL }}"
    api_key: sk-test
    default: true
workflows:
  - source: ./workflows/chat.yaml
runtime:
  type: node
  entrypoint: ./entrypoint.ts
`,
    'entrypoint.ts': 'export default { echo: async (input: Record<string, unknown>) => input };\n',
    'workflows/chat.yaml': `id: chat
tools:
  - id: echo
    input:
      type: object
      properties:
        text: { type: string }
agents:
  - id: talker
    instructions: You talk.
    tools: [echo]
    actions:
      - id: say
        prompt: Say something.
tasks:
  - id: ask
    agent: talker
    action: say
    on_success:
      next: hold
  - id: hold
    type: wait
    wait_for: go
    condition: "true"
    on_success:
      next: after
  - id: after
    tool: echo
    with:
      text: done
`,
  });
  return { dir, name };
}

const taskId = (e: SseEvent) => (e.data.task as { task_id?: string } | undefined)?.task_id;
const status = (e: SseEvent) => (e.data.execution as { status?: string } | undefined)?.status;

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as { data: Record<string, unknown> };
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json.data;
}

async function scenario(mode: 'standalone' | 'distributed', env: NodeJS.ProcessEnv): Promise<void> {
  const { dir, name } = project();
  const common = { ...env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: name, LLM_URL: modelUrl };
  const startWorker = async () => {
    const worker = new CliProcess(['worker', dir, '--mode', mode], common);
    procs.push(worker);
    await worker.waitForOutput('worker polling task queue', 60_000);
    return worker;
  };
  const first = await startWorker();
  const port = await freePort();
  const api = new CliProcess([mode === 'standalone' ? 'serve' : 'start', dir, '--no-worker', '--mode', mode, '--port', String(port)], common);
  procs.push(api);
  await api.waitForOutput('api listening', 60_000);
  const base = `http://127.0.0.1:${port}/api/v0`;

  const list = await openSse(`${base}/events/stream?workflow=chat&heartbeat_ms=200`);
  const { exec_id: execId } = await post(`${base}/workflows/chat/executions`, { input: {} });
  const stream = await openSse(`${base}/executions/workflows/${String(execId)}/stream`);
  expect(stream.status).toBe(200);
  await stream.waitFor((e) => status(e) === 'PAUSED', 'the execution waiting on hold', 60_000);

  expect(await first.stop()).toBe(0);
  await startWorker();
  await post(`${base}/executions/workflows/${String(execId)}/signals`, { signal_name: 'go', payload: {} });
  await stream.ended;
  expect(stream.endedByServer()).toBe(true);

  const events = stream.events;
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
  const agentSteps = events.filter((e) => e.event.startsWith('agent.'));
  expect(agentSteps.map((e) => [e.event, e.data.step, e.data.tool_id ?? null])).toEqual([
    ['agent.model_call', 1, null],
    ['agent.tool_call', 1, 'echo'],
    ['agent.tool_result', 1, 'echo'],
    ['agent.model_call', 2, null],
  ]);
  expect(agentSteps[0]?.data).toMatchObject({ exec_id: execId, workflow_id: 'chat', task_id: 'ask', agent_id: 'talker', finish_reason: 'tool-calls', usage: { input_tokens: 12, output_tokens: 3 } });
  expect(agentSteps[1]?.data).toMatchObject({ tool_call_id: 'call_1', input: { text: 'hi' } });
  expect(agentSteps[2]?.data).toMatchObject({ tool_call_id: 'call_1', output: { text: 'hi' }, error: null });
  expect(agentSteps[3]?.data).toMatchObject({ text: 'The echo said hi.', finish_reason: 'stop' });
  const askStarted = events.findIndex((e) => e.event === 'task.started' && taskId(e) === 'ask');
  const askDone = events.findIndex((e) => e.event === 'task.succeeded' && taskId(e) === 'ask');
  expect(askStarted).toBeGreaterThan(0);
  expect(events.indexOf(agentSteps[0] as SseEvent)).toBeGreaterThan(askStarted);
  expect(events.indexOf(agentSteps[3] as SseEvent)).toBeLessThan(askDone);
  expect(events[askDone]?.data).toMatchObject({ task: { output: { response: 'The echo said hi.' }, usage: { input_tokens: 24, output_tokens: 6 } } });
  expect(events.some((e) => e.event === 'task.succeeded' && taskId(e) === 'after')).toBe(true);
  expect(events.at(-1)).toMatchObject({ event: 'execution.finished', data: { execution: { status: 'SUCCESS' } } });

  const late = await openSse(`${base}/executions/workflows/${String(execId)}/stream`);
  await late.ended;
  expect(late.events).toEqual(events);

  const statuses = events.filter((e) => e.event.startsWith('execution.')).map((e) => `${e.event} ${status(e)}`);
  await list.waitFor((e) => e.event === 'execution.finished' && e.data.exec_id === execId, 'the list stream seeing the end');
  expect(list.events.filter((e) => e.data.exec_id === execId).map((e) => `${e.event} ${status(e)}`)).toEqual(statuses);
  expect(list.events.every((e) => e.id === undefined)).toBe(true);
  expect(list.comments.length).toBeGreaterThan(0);
  list.abort();
}

describe('SSE across processes: the API streams what a separate worker runs, through a worker restart', () => {
  it('standalone (the project\'s SQLite KV and store shared by compozy serve --no-worker and compozy worker)', async () => {
    await scenario('standalone', {});
  }, 180_000);
});

await withServices([['Redis', REDIS_URL, 6379], ['PostgreSQL', DATABASE_URL, 5432]], () =>
  describe('SSE across processes on Redis and PostgreSQL', () => {
    it('distributed (compozy start --no-worker and compozy worker)', async () => {
      await scenario('distributed', { REDIS_URL, DATABASE_URL });
    }, 180_000);
  }),
);
