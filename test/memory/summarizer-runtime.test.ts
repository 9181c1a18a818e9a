import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';
import { writeFiles } from '../helpers/files.js';

// A memory that summarizes with a model, in a running platform (EngineRuntime with the test
// environment's scripted model): memory tasks append, flush (hybrid_summary) and read.
const MEMORY = `resource: memory
id: chat
key: "chat:{{ .workflow.input.user }}"
type: token_based
max_tokens: 100000
flushing: { type: hybrid_summary, summary_tokens: 80, summarize_oldest_percent: 0.5, summary_model: openai:gpt-4o-mini }
persistence: { type: redis, ttl: 24h }
`;

const task = (id: string, operation: string, extra: string) => `  - id: ${id}
    type: memory
    operation: ${operation}
    memory_ref: chat
    key_template: "chat:{{ .workflow.input.user }}"
${extra}`;

const CONVERSATION = [
  { role: 'user', content: 'I am Grace Hopper.' },
  { role: 'assistant', content: 'Hello Grace.' },
  { role: 'user', content: 'We chose COBOL for the payroll project.' },
  { role: 'assistant', content: 'COBOL it is.' },
];

const FOLD = `id: fold
tasks:
${task('remember', 'append', `    payload: ${JSON.stringify(CONVERSATION)}\n    on_success: { next: squash }`)}
${task('squash', 'flush', '    flush_config: { force: true }\n    on_success: { next: recall }')}
${task('recall', 'read', '')}
outputs:
  messages: "{{ .tasks.recall.output.messages }}"
`;

const READ = `id: recall
tasks:
${task('recall', 'read', '')}
outputs:
  messages: "{{ .tasks.recall.output.messages }}"
`;

let env: TestEnvironment;
const asked: Array<Record<string, unknown>> = [];
let failing = false;

beforeAll(async () => {
  const dir = writeFiles({
    'compozy.yaml': 'name: summaries-runtime\nworkflows:\n  - source: ./fold.yaml\n  - source: ./recall.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
    'memory/chat.yaml': MEMORY,
    'fold.yaml': FOLD,
    'recall.yaml': READ,
  });
  env = await createTestEnvironment({
    project: dir,
    temporal: { bin: inject('temporalBin') },
    models: {
      answers: ({ agent, input }) => {
        asked.push({ agent, ...input });
        if (failing) throw new Error('the scripted model is down');
        return 'Grace Hopper introduced herself.';
      },
    },
  });
}, 90_000);

afterAll(async () => {
  await env?.teardown();
});

describe('hybrid_summary with a summary_model in a running platform', () => {
  it('a flush task has the scripted model (not openai) summarize the oldest messages; the next read starts with the summary', async () => {
    const run = await env.run('fold', { user: 'g1' });
    expect(run.task('squash')).toMatchObject({ status: 'SUCCESS', output: { success: true, summary_generated: true, message_count: 3 } });
    expect(asked).toEqual([{ agent: undefined, memory: 'chat', messages: CONVERSATION.slice(0, 2) }]);
    expect(run.output).toMatchObject({
      messages: [{ role: 'system', content: 'Summary of 2 earlier messages:\nGrace Hopper introduced herself.' }, ...CONVERSATION.slice(2)],
    });
  });

  it('a failing summary model fails the flush task with MEMORY_FLUSH_FAILED; the conversation is unchanged', async () => {
    failing = true;
    const run = await env.run('fold', { user: 'g2' });
    const state = run.task('squash');
    expect(state.status).toBe('FAILED');
    expect(state.error).toMatchObject({ code: 'MEMORY_FLUSH_FAILED', details: { task_id: 'squash', memory_ref: 'chat', key: 'chat:g2' } });
    expect(state.error?.message).toContain('the scripted model is down');
    const read = await env.run('recall', { user: 'g2' });
    expect(read.output).toMatchObject({ messages: CONVERSATION });
  });
});
