import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '../../src/health.js';
import { copyExample, DevProcess, runCli, stopDevProcesses } from '../helpers/cli.js';
import { writeFiles } from '../helpers/files.js';
import { startRecordingModel, type RecordingModel } from '../helpers/recording-model.js';

const env = { COMPOZY_TEMPORAL_BIN: inject('temporalBin'), CI: '1', GROQ_API_KEY: '' };
const started: DevProcess[] = [];
let model: RecordingModel;

beforeAll(async () => {
  model = await startRecordingModel();
});

afterAll(async () => {
  await model?.close();
});

afterEach(() => stopDevProcesses(started));

/** A project whose agent talks to the test's recording model, with memory tasks before and after it. */
function project(modelUrl: string): string {
  return writeFiles({
    'compozy.yaml': `name: memchat
models:
  - provider: openai-compatible
    model: local-model
    api_url: "{{ .env.LLM_URL }}"
    api_key: sk-test
    default: true
workflows:
  - source: ./chat.yaml
autoload:
  enabled: true
  include: [memory/*.yaml]
`,
    '.env': `LLM_URL=${modelUrl}\n`,
    'memory/notes.yaml': 'resource: memory\nid: notes\nkey: "chat:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n',
    'chat.yaml': `id: chat
agents:
  - id: buddy
    instructions: You remember.
    memory:
      - id: notes
        mode: read-write
    actions:
      - id: chat
        prompt: "{{ .input.text }}"
tasks:
  - id: note
    type: memory
    operation: append
    memory_ref: notes
    payload:
      role: system
      content: "Session {{ .workflow.input.session }} started"
    on_success: { next: say }
  - id: say
    agent: buddy
    action: chat
    with: { text: "{{ .workflow.input.text }}" }
    on_success: { next: recall }
  - id: recall
    type: memory
    operation: read
    memory_ref: notes
outputs:
  messages: "{{ .tasks.recall.output.messages }}"
`,
  });
}

async function startDev(dir: string): Promise<string> {
  const dev = new DevProcess([dir, '--port', '0'], env);
  started.push(dev);
  const ready = await dev.waitFor('ready');
  const health = ready.health as HealthReport;
  expect(health.components.find((c) => c.name === 'memory')).toMatchObject({ state: 'up' });
  return ready.apiUrl as string;
}

interface Execution {
  status: string;
  error: unknown;
  output: { messages: Array<{ role: string; content: string }> };
}

async function runChat(api: string, input: Record<string, string>): Promise<Execution> {
  const response = await fetch(`${api}/api/v0/workflows/chat/executions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  expect(response.status).toBe(202);
  const execId = ((await response.json()) as { data: { exec_id: string } }).data.exec_id;
  const deadline = Date.now() + 60_000;
  let state: Execution = { status: 'RUNNING', error: null, output: { messages: [] } };
  while (Date.now() < deadline && !['SUCCESS', 'FAILED', 'CANCELED'].includes(state.status)) {
    await sleep(200);
    state = ((await (await fetch(`${api}/api/v0/executions/workflows/${execId}`)).json()) as { data: Execution }).data;
  }
  expect(state.error).toBeNull();
  expect(state.status).toBe('SUCCESS');
  return state;
}

async function readMemory(api: string, key: string): Promise<{ messages: unknown[]; total_count: number }> {
  const response = await fetch(`${api}/api/v0/memory/notes/read?key=${encodeURIComponent(key)}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { messages: unknown[]; total_count: number } }).data;
}

async function stop(): Promise<void> {
  const dev = started.pop() as DevProcess;
  dev.child.kill('SIGINT');
  expect(await dev.exited).toBe(0);
}

describe('memory through compozy dev', () => {
  it('an agent with read-write memory is sent its earlier turns and the memory tasks’ messages, after a restart too, and the REST API reads what the tasks wrote', async () => {
    model.requests.splice(0);
    const dir = project(model.url);
    let api = await startDev(dir);

    await runChat(api, { user: 'ada', session: 's1', text: 'my name is Ada' });
    expect(model.requests[0]?.messages).toEqual([
      { role: 'system', content: 'You remember.' },
      { role: 'system', content: 'Session s1 started' },
      { role: 'user', content: 'my name is Ada' },
    ]);

    const second = await runChat(api, { user: 'ada', session: 's2', text: 'what is my name?' });
    expect(model.requests[1]?.messages).toEqual([
      { role: 'system', content: 'You remember.' },
      { role: 'system', content: 'Session s1 started' },
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'answer 1' },
      { role: 'system', content: 'Session s2 started' },
      { role: 'user', content: 'what is my name?' },
    ]);
    const afterTwo = [
      { role: 'system', content: 'Session s1 started' },
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'answer 1' },
      { role: 'system', content: 'Session s2 started' },
      { role: 'user', content: 'what is my name?' },
      { role: 'assistant', content: 'answer 2' },
    ];
    expect(second.output.messages).toEqual(afterTwo);
    expect(await readMemory(api, 'chat:ada')).toMatchObject({ messages: afterTwo, total_count: 6 });
    // Another user is another conversation.
    await runChat(api, { user: 'bob', session: 's1', text: 'hello' });
    expect(model.requests[2]?.messages).toEqual([
      { role: 'system', content: 'You remember.' },
      { role: 'system', content: 'Session s1 started' },
      { role: 'user', content: 'hello' },
    ]);

    await stop();
    api = await startDev(dir);
    expect(await readMemory(api, 'chat:ada')).toMatchObject({ messages: afterTwo, total_count: 6 });
    const third = await runChat(api, { user: 'ada', session: 's3', text: 'and now?' });
    expect(model.requests[3]?.messages).toEqual([{ role: 'system', content: 'You remember.' }, ...afterTwo, { role: 'system', content: 'Session s3 started' }, { role: 'user', content: 'and now?' }]);
    expect(third.output.messages).toHaveLength(9);
    expect((await readMemory(api, 'chat:ada')).messages).toEqual(third.output.messages);
  }, 180_000);

  it('the memory example passes its own compozy test cases offline', async () => {
    const result = await runCli(['test', copyExample('memory'), '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ passed: 6, failed: 0 });
  }, 120_000);
});
