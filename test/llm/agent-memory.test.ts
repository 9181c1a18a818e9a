import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectMemories } from '../../src/config/memory-resource.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { resourceIndex } from '../../src/engine/definition.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { ReplayFixtures, type ReplayRequest } from '../../src/llm/replay.js';
import { createMemoryManager, type MemoryManager } from '../../src/memory/service.js';
import { writeFiles } from '../helpers/files.js';
import { startRecordingModel, type RecordingModel } from '../helpers/recording-model.js';

let model: RecordingModel;

beforeAll(async () => {
  model = await startRecordingModel();
});

afterAll(async () => {
  await model.close();
});

beforeEach(() => {
  model.requests.splice(0);
});

const PROJECT = {
  'compozy.yaml': `name: agent-memory
models:
  - provider: openai-compatible
    model: local-model
    api_url: "{{ .env.LLM_URL }}"
    api_key: sk-test
    default: true
workflows:
  - source: ./workflow.yaml
autoload:
  enabled: true
  include: [memory/*.yaml]
`,
  'memory/notes.yaml': 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n',
  'workflow.yaml': `id: wf
agents:
  - id: writer
    instructions: "You remember."
    memory:
      - id: notes
        key: "user:{{ .workflow.input.user }}"
        mode: read-write
    actions:
      - id: chat
        prompt: "{{ .input.text }}"
      - id: facts
        prompt: "{{ .input.text }}"
        output:
          type: object
          properties:
            name: { type: string }
          required: [name]
  - id: reader
    memory:
      - id: notes
        key: "user:{{ .workflow.input.user }}"
        mode: read-only
    actions:
      - id: chat
        prompt: "{{ .input.text }}"
tasks:
  - id: t
    agent: writer
    action: chat
`,
};

async function setup(script?: (request: ReplayRequest) => string): Promise<{ agents: LlmAgents; manager: MemoryManager; close: () => Promise<void> }> {
  const dir = writeFiles(PROJECT);
  const project = loadValidProject(dir);
  const kv = SqliteKv.open(':memory:');
  const manager = await createMemoryManager({ kv, project: project.name, resources: projectMemories(project) });
  const agents = new LlmAgents({
    projectDir: dir,
    models: project.models,
    resources: resourceIndex(project),
    env: { LLM_URL: model.url },
    maxRetries: 0,
    memory: manager,
    tools: { call: async () => ({}) },
    ...(script ? { script: { answer: script } } : {}),
  });
  return {
    agents,
    manager,
    close: async () => {
      await manager.close();
      await kv.close();
    },
  };
}

const run = (agents: LlmAgents, agentId: string, text: string, actionId = 'chat', user = 'u1') =>
  agents.run({ agentId, actionId, input: { text }, context: { workflow: { input: { user } } } });

describe('agent memory', () => {
  it('a read-write agent run twice: the second model call is sent the first run’s turns (scripted model)', async () => {
    const sent: ReplayRequest[] = [];
    const { agents, manager, close } = await setup((request) => {
      sent.push(request);
      return request.actionId === 'facts' ? '{"name":"Ada"}' : `reply ${sent.length}`;
    });
    try {
      expect((await run(agents, 'writer', 'my name is Ada')).output).toEqual({ response: 'reply 1' });
      expect(sent[0]?.history).toEqual([]);
      await run(agents, 'writer', 'what is my name?');
      expect(sent[1]?.history).toEqual([
        { role: 'user', content: 'my name is Ada' },
        { role: 'assistant', content: 'reply 1' },
      ]);
      expect(sent[1]?.prompt).toBe('what is my name?');
      // Structured output: the JSON answer is remembered as the assistant's text.
      expect((await run(agents, 'writer', 'facts please', 'facts')).output).toEqual({ name: 'Ada' });
      expect((await manager.instance('notes', 'user:u1').read()).messages.slice(-2)).toEqual([
        { role: 'user', content: 'facts please' },
        { role: 'assistant', content: '{"name":"Ada"}' },
      ]);
      // Another key is another conversation.
      await run(agents, 'writer', 'hello', 'chat', 'u2');
      expect(sent.at(-1)?.history).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a read-only agent is sent the history and writes nothing', async () => {
    const sent: ReplayRequest[] = [];
    const { agents, manager, close } = await setup((request) => {
      sent.push(request);
      return 'ok';
    });
    try {
      await run(agents, 'writer', 'remember this');
      await run(agents, 'reader', 'what do you know?');
      expect(sent[1]?.history).toEqual([
        { role: 'user', content: 'remember this' },
        { role: 'assistant', content: 'ok' },
      ]);
      expect(await manager.instance('notes', 'user:u1').count()).toBe(2);
    } finally {
      await close();
    }
  });

  it('over a real OpenAI-compatible server the prior turns go as messages before the prompt', async () => {
    const { agents, close } = await setup();
    try {
      await run(agents, 'writer', 'first question');
      await run(agents, 'writer', 'second question');
      expect(model.requests[1]?.messages).toEqual([
        { role: 'system', content: 'You remember.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'answer 1' },
        { role: 'user', content: 'second question' },
      ]);
    } finally {
      await close();
    }
  });

  it('a remembered system message (a summary, a memory task’s note) reaches a provider in its place among the turns', async () => {
    const { agents, manager, close } = await setup();
    try {
      await manager.instance('notes', 'user:u1').append([
        { role: 'system', content: 'Summary of 2 earlier messages: the user is Ada.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ]);
      await run(agents, 'writer', 'who am I?');
      expect(model.requests[0]?.messages).toEqual([
        { role: 'system', content: 'You remember.' },
        { role: 'system', content: 'Summary of 2 earlier messages: the user is Ada.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'who am I?' },
      ]);
    } finally {
      await close();
    }
  });

  it('a replay answer is rendered with .history, the remembered turns sent before the prompt', () => {
    const fixtures = new ReplayFixtures('replay/m.yaml', [{ agent: 'writer', output: { response: '{{ len .history }} earlier; first: {{ (index .history 0).content }}' } }]);
    const history = [
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'hello Ada' },
    ];
    expect(JSON.parse(fixtures.answer({ agentId: 'writer', input: {}, vars: {}, history }))).toEqual({ response: '2 earlier; first: my name is Ada' });
  });

  it('an agent with memory and no memory service fails with MEMORY_UNAVAILABLE instead of forgetting', async () => {
    const dir = writeFiles(PROJECT);
    const project = loadValidProject(dir);
    const agents = new LlmAgents({ projectDir: dir, models: project.models, resources: resourceIndex(project), env: {}, tools: { call: async () => ({}) }, script: { answer: () => 'x' } });
    await expect(run(agents, 'writer', 'hi')).rejects.toMatchObject({ code: 'MEMORY_UNAVAILABLE' });
  });
});
