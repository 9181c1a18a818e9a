import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from 'compozy/testing';
import { writeFiles } from '../helpers/files.js';

const MEMORY = 'resource: memory\nid: notes\nkey: "notes:{{ .workflow.input.user }}"\ntype: message_count_based\nmax_messages: 50\npersistence: { type: redis, ttl: 24h }\n';

const CHAT = `id: chat
tasks:
  - id: remember
    type: memory
    operation: append
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
    payload:
      - role: user
        content: "{{ .workflow.input.text }}"
      - role: assistant
        content: "noted"
    on_success: { next: recall }
  - id: recall
    type: memory
    operation: read
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
    on_success: { next: summary }
  - id: summary
    type: memory
    operation: stats
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
outputs:
  messages: "{{ .tasks.recall.output.messages }}"
  first: "{{ (index .tasks.recall.output.messages 0).content }}"
  count: "{{ .tasks.summary.output.message_count }}"
`;

const BAD = `id: bad
tasks:
  - id: bad_role
    type: memory
    operation: append
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
    payload:
      role: robot
      content: "hi"
`;

const BAD_TEMPLATE = `id: badtpl
tasks:
  - id: broken
    type: memory
    operation: append
    memory_ref: notes
    key_template: "user:{{ index .workflow.input.tags 5 }}"
    payload: { content: "hi" }
`;

const CLEAR = `id: wipe
tasks:
  - id: wipe
    type: memory
    operation: clear
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
    clear_config: { confirm: true }
    on_success: { next: after }
  - id: after
    type: memory
    operation: read
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
`;

const TALK = `id: talk
agents:
  - id: buddy
    memory:
      - id: notes
        key: "user:{{ .workflow.input.user }}"
    actions:
      - id: chat
        prompt: "{{ .input.text }}"
tasks:
  - id: say
    agent: buddy
    action: chat
    with: { text: "{{ .workflow.input.text }}" }
    on_success: { next: recall }
  - id: recall
    type: memory
    operation: read
    memory_ref: notes
    key_template: "user:{{ .workflow.input.user }}"
`;

let env: TestEnvironment;

beforeAll(async () => {
  const dir = writeFiles({
    'compozy.yaml': 'name: memtasks\nmodels:\n  - provider: replay\n    model: offline\n    default: true\nworkflows:\n  - source: ./workflows/chat.yaml\n  - source: ./workflows/bad.yaml\n  - source: ./workflows/badtpl.yaml\n  - source: ./workflows/wipe.yaml\n  - source: ./workflows/talk.yaml\nautoload:\n  enabled: true\n  include: [memory/*.yaml]\n',
    'memory/notes.yaml': MEMORY,
    'workflows/chat.yaml': CHAT,
    'workflows/bad.yaml': BAD,
    'workflows/badtpl.yaml': BAD_TEMPLATE,
    'workflows/wipe.yaml': CLEAR,
    'workflows/talk.yaml': TALK,
  });
  env = await createTestEnvironment({ project: dir, temporal: { bin: inject('temporalBin') }, models: { answers: ({ input }) => `you said ${String(input.text)}` } });
}, 90_000);

afterAll(async () => {
  await env?.teardown();
});

describe('memory tasks on the runtime memory', () => {
  it('append, read and stats, with .tasks.x.output.messages downstream', async () => {
    const run = await env.run('chat', { user: 'u1', text: 'my name is Ada' });
    expect(run.task('remember')).toMatchObject({ status: 'SUCCESS', output: { success: true, appended: 2, total_count: 2, key: 'user:u1' } });
    expect(run.task('recall').output).toMatchObject({ count: 2, key: 'user:u1', messages: [{ role: 'user', content: 'my name is Ada' }, { role: 'assistant', content: 'noted' }] });
    expect(run.output).toMatchObject({ messages: [{ role: 'user', content: 'my name is Ada' }, { role: 'assistant', content: 'noted' }], first: 'my name is Ada', count: 2 });
    const again = await env.run('chat', { user: 'u1', text: 'second' });
    expect(again.task('summary').output).toMatchObject({ message_count: 4 });
  });

  it('a bad role fails the task naming it and the field, and writes nothing', async () => {
    const run = await env.run('bad', { user: 'u2' });
    const state = run.task('bad_role');
    expect(state.status).toBe('FAILED');
    expect(state.error).toMatchObject({ code: 'INPUT_INVALID', details: { task_id: 'bad_role' } });
    expect(state.error?.message).toContain('bad_role');
    expect(state.error?.message).toContain('role');
    const read = await env.run('wipe', { user: 'u2' });
    expect(read.task('wipe').output).toMatchObject({ messages_cleared: 0 });
  });

  it('a failing key template fails the task naming key_template', async () => {
    const run = await env.run("badtpl", { tags: ["a"] });
    const state = run.task('broken');
    expect(state.status).toBe('FAILED');
    expect(state.error?.message).toContain('broken');
    expect(state.error?.message).toContain('key_template');
  });

  it('clear with confirm removes the conversation', async () => {
    await env.run('chat', { user: 'u4', text: 'hello' });
    const run = await env.run('wipe', { user: 'u4' });
    expect(run.task('wipe').output).toMatchObject({ success: true, messages_cleared: 2 });
    expect(run.task('after').output).toMatchObject({ count: 0, messages: [] });
  });

  it('an agent with read-write memory (scripted model) remembers its turns where memory tasks read them', async () => {
    await env.run('talk', { user: 'u5', text: 'one' });
    const run = await env.run('talk', { user: 'u5', text: 'two' });
    expect(run.task('recall').output).toMatchObject({
      count: 4,
      messages: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'you said one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'you said two' },
      ],
    });
  });
});
