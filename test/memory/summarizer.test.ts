import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { projectMemories } from '../../src/config/memory-resource.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import type { ProjectConfig } from '../../src/config/types.js';
import type { ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { CompozyError } from '../../src/errors.js';
import { SqliteKv } from '../../src/kv/sqlite/sqlite-kv.js';
import { modelDiagnostics } from '../../src/llm/models.js';
import type { ReplayRequest } from '../../src/llm/replay.js';
import { modelSummarizers, summaryTranscript } from '../../src/memory/flush/model-summarizer.js';
import { createMemoryManager, type MemoryManager, type MemoryMessage, type MemoryWarning } from '../../src/memory/service.js';
import { writeFiles } from '../helpers/files.js';
import { startRecordingModel, type RecordingModel } from '../helpers/recording-model.js';
import { parseMemory } from './resource-helper.js';

const COMPOZY_YAML = `name: summaries
models:
  - provider: openai-compatible
    model: local-model
    api_url: "{{ .env.LLM_URL }}"
    api_key: sk-test
autoload:
  enabled: true
  include: [memory/*.yaml]
`;

/** A hybrid_summary memory whose flushing names `summaryModel`; the thresholds are out of reach, so only an explicit flush (or the last test's) runs. */
function chatMemory(summaryModel: string, maxTokens = 100_000): string {
  return `resource: memory
id: chat
key: "chat:{{ .workflow.input.user }}"
type: token_based
max_tokens: ${maxTokens}
flushing:
  type: hybrid_summary
  summary_tokens: 120
  summarize_oldest_percent: 0.5
  summary_model: ${summaryModel}
persistence: { type: redis, ttl: 24h, circuit_breaker: { enabled: true, max_failures: 1, reset_timeout: 1h } }
`;
}

function load(files: Record<string, string>): { dir: string; project: ProjectConfig | undefined; diagnostics: ConfigDiagnostic[] } {
  const dir = writeFiles(files);
  const { project, diagnostics } = loadProjectConfig(dir);
  return { dir, project, diagnostics: sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]) };
}

const at = (d: ConfigDiagnostic) => `${d.file.split('/').slice(-2).join('/')}:${d.line}:${d.col} ${d.key} ${d.message}`;

describe('flushing.summary_model (config)', () => {
  it('a declared model id or a provider:model ref is accepted and kept on the resource', () => {
    for (const ref of ['local-model', 'openai-compatible:local-model', 'openai:gpt-4o-mini']) {
      const { project, diagnostics } = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory(ref) });
      expect(diagnostics).toEqual([]);
      expect(projectMemories(project as ProjectConfig)[0]?.flushing).toMatchObject({ type: 'hybrid_summary', summaryTokens: 120, summaryModel: ref });
    }
  });

  it('an undeclared model or an unknown provider is an error at the field, file:line:col', () => {
    const undeclared = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory('gpt-nope') });
    expect(undeclared.diagnostics.map(at)).toEqual(['memory/chat.yaml:10:3 flushing.summary_model Model "gpt-nope" is not declared in the project.']);
    expect(undeclared.diagnostics[0]?.hint).toContain('declared: openai-compatible:local-model');
    const provider = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory('opnai:gpt-4o-mini') });
    expect(provider.diagnostics.map(at)).toEqual(['memory/chat.yaml:10:3 flushing.summary_model Model "opnai:gpt-4o-mini": provider "opnai" does not exist.']);
  });

  it('a model that cannot be called here (replay without fixtures) is a config validate diagnostic naming the memory', () => {
    const { project, diagnostics } = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory('replay:summaries') });
    expect(diagnostics).toEqual([]);
    const found = modelDiagnostics(project as ProjectConfig, {});
    expect(found.map(at)).toEqual([expect.stringMatching(/^memory\/chat\.yaml:10:3 flushing\.summary_model The flushing\.summary_model of memory chat cannot call its model here: Model replay:summaries answers from its fixtures/)]);
  });

  it('is refused with another flushing type, or when it is not a model name', () => {
    const fifo = parseMemory('resource: memory\nid: m\ntype: message_count_based\nmax_messages: 10\nflushing: { type: simple_fifo, summary_model: openai:gpt-4o-mini }\npersistence: { type: in_memory }\n');
    expect(fifo.diagnostics.map((d) => `${d.line}:${d.col} ${d.key} ${d.message}`)).toEqual([
      '5:32 flushing.summary_model flushing.summary_model has no effect with flushing.type simple_fifo: only hybrid_summary summarizes.',
    ]);
    const inline = parseMemory('resource: memory\nid: m\ntype: message_count_based\nmax_messages: 10\nflushing: { type: hybrid_summary, summary_tokens: 50, summary_model: { provider: openai } }\npersistence: { type: in_memory }\n');
    expect(inline.diagnostics.map((d) => `${d.key} ${d.message}`)).toEqual(['flushing.summary_model flushing.summary_model names a model: provider:model, or the id of a model declared under models:.']);
  });
});

const CONVERSATION: MemoryMessage[] = [
  { role: 'user', content: 'My name is Ada Lovelace and I live in London.' },
  { role: 'assistant', content: 'Nice to meet you, Ada.' },
  { role: 'user', content: 'We decided the launch is on 12 March, budget 40k.' },
  { role: 'assistant', content: 'Noted: launch 12 March, budget 40k.' },
  { role: 'user', content: 'What is the weather like?' },
  { role: 'assistant', content: 'Sunny.' },
];

describe('hybrid_summary with a summary_model (flush)', () => {
  let model: RecordingModel;
  const env: NodeJS.ProcessEnv = {};
  const open: Array<{ manager: MemoryManager; kv: SqliteKv }> = [];

  beforeAll(async () => {
    model = await startRecordingModel((_, n) => `Ada Lovelace (London). Launch decided for 12 March, budget 40k. [${n}]`);
  });

  async function closeAll(): Promise<void> {
    for (const { manager, kv } of open.splice(0)) {
      await manager.close();
      await kv.close();
    }
  }

  afterAll(async () => {
    await closeAll();
    await model.close();
  });

  beforeEach(async () => {
    await closeAll();
    env.LLM_URL = model.url;
    model.requests.splice(0);
  });

  async function setup(ref: string, options: { files?: Record<string, string>; script?: (request: ReplayRequest) => string; maxTokens?: number; onWarning?: (w: MemoryWarning) => void } = {}): Promise<MemoryManager> {
    const { dir, project, diagnostics } = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory(ref, options.maxTokens), ...options.files });
    expect(diagnostics).toEqual([]);
    const config = project as ProjectConfig;
    const kv = SqliteKv.open(':memory:');
    const manager = await createMemoryManager({
      kv, project: config.name, resources: projectMemories(config), flushDebounceMs: 10, flushMaxWaitMs: 50,
      modelSummarizer: modelSummarizers({ projectDir: dir, models: config.models, env, maxRetries: 0, ...(options.script ? { script: { answer: options.script } } : {}) }),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    open.push({ manager, kv });
    return manager;
  }

  it('sends the model the oldest summarize_oldest_percent messages with a summary prompt and summary_tokens as max tokens; the conversation then starts with its summary', async () => {
    const manager = await setup('local-model');
    const chat = manager.instance('chat', 'chat:ada');
    await chat.append(CONVERSATION);
    const result = await chat.flush({ force: true });
    expect(result).toMatchObject({ success: true, summary_generated: true, message_count: 4 });

    expect(model.requests).toHaveLength(1);
    const request = model.requests[0] as Record<string, unknown> & { messages: Array<{ role: string; content: string }> };
    expect(request.model).toBe('local-model');
    expect(request.max_tokens).toBe(120);
    expect(request.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(request.messages[0]?.content).toMatch(/Keep every fact, name, number, date, preference, decision/);
    expect(request.messages[0]?.content).toContain('at most 120 tokens');
    // The oldest half (3 of 6), and nothing newer.
    expect(request.messages[1]?.content).toBe(summaryTranscript(CONVERSATION.slice(0, 3)));
    expect(request.messages[1]?.content).not.toContain('Noted: launch');

    const stored = (await chat.read()).messages;
    expect(stored).toEqual([
      { role: 'system', content: 'Summary of 3 earlier messages:\nAda Lovelace (London). Launch decided for 12 March, budget 40k. [1]' },
      ...CONVERSATION.slice(3),
    ]);
    expect((await chat.metadata()).message_count).toBe(4);
  });

  it('a replay summary_model answers from its fixtures, matched by when: {memory: <id>}, templated over .history', async () => {
    const manager = await setup('replay:summaries', {
      files: { 'replay/summaries.yaml': 'answers:\n  - when: { memory: chat }\n    output: "{{ len .history }} messages; first: {{ (index .history 0).content }}"\n' },
    });
    const chat = manager.instance('chat', 'chat:ada');
    await chat.append(CONVERSATION);
    await chat.flush({ force: true });
    expect((await chat.read()).messages[0]).toEqual({ role: 'system', content: `Summary of 3 earlier messages:\n3 messages; first: ${CONVERSATION[0]?.content}` });
    expect(model.requests).toHaveLength(0);
  });

  it('a scripted model (compozy test, compozy/testing) is asked instead of the named model', async () => {
    const asked: ReplayRequest[] = [];
    const manager = await setup('local-model', { script: (request) => (asked.push(request), 'scripted summary') });
    const chat = manager.instance('chat', 'chat:ada');
    await chat.append(CONVERSATION);
    await chat.flush({ force: true });
    expect(asked.map((r) => r.input)).toEqual([{ memory: 'chat', messages: CONVERSATION.slice(0, 3) }]);
    expect(model.requests).toHaveLength(0);
    expect((await chat.read()).messages[0]?.content).toBe('Summary of 3 earlier messages:\nscripted summary');
  });

  it('a failing model fails the flush with MEMORY_FLUSH_FAILED and leaves the conversation, its counters and the flush flag as they were; the next flush succeeds', async () => {
    const manager = await setup('local-model');
    const chat = manager.instance('chat', 'chat:ada');
    await chat.append(CONVERSATION);
    const before = await chat.metadata();
    // Nothing listens there: the provider call fails (no retries in this test).
    const down = await startRecordingModel();
    await down.close();
    env.LLM_URL = down.url;

    const error = await chat.flush({ force: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CompozyError);
    expect(error).toMatchObject({ code: 'MEMORY_FLUSH_FAILED', details: { memory_ref: 'chat', key: 'chat:ada', strategy: 'hybrid_summary', cause_code: 'LLM_PROVIDER_ERROR', provider: 'openai-compatible', model: 'local-model' } });
    expect((error as Error).message).toMatch(/^Memory "chat" key "chat:ada": the summary of the oldest 3 messages failed, so nothing was flushed: openai-compatible:local-model failed/);

    expect((await chat.read()).messages).toEqual(CONVERSATION);
    const after = await chat.metadata();
    expect({ ...after, ttl_ms: 0 }).toEqual({ ...before, ttl_ms: 0 });
    expect(after.flush_pending).toBe(false);
    expect(after.last_flush).toBeNull();

    // The model is a model failure, not a store outage: the circuit breaker (max_failures: 1) stays closed,
    // the flush lock was released, and the next flush with the model back summarizes.
    env.LLM_URL = model.url;
    expect(await chat.flush({ force: true })).toMatchObject({ success: true, summary_generated: true });
    expect((await chat.read()).messages[0]?.content).toMatch(/^Summary of 3 earlier messages:\nAda Lovelace/);
  });

  it('an empty answer is a failure too, never an empty summary in place of the messages', async () => {
    const manager = await setup('local-model', { script: () => '  ' });
    const chat = manager.instance('chat', 'chat:ada');
    await chat.append(CONVERSATION);
    await expect(chat.flush({ force: true })).rejects.toMatchObject({ code: 'MEMORY_FLUSH_FAILED', details: { cause_code: 'LLM_OUTPUT_INVALID' } });
    expect((await chat.read()).messages).toEqual(CONVERSATION);
  });

  it('the flush check after an append reports the failure as a flush_failed warning and keeps every message', async () => {
    const warnings: MemoryWarning[] = [];
    const failed = new Promise<void>((resolve) => {
      const manager = setup('local-model', {
        maxTokens: 60,
        script: () => {
          throw new CompozyError('LLM_RATE_LIMITED', 'local-model is rate limiting (429)');
        },
        onWarning: (w) => {
          warnings.push(w);
          if (w.kind === 'flush_failed') resolve();
        },
      });
      void manager.then((m) => m.instance('chat', 'chat:ada').append(CONVERSATION));
    });
    await failed;
    expect(warnings).toEqual([{ kind: 'flush_failed', ref: 'chat', key: 'chat:ada', error: expect.objectContaining({ code: 'MEMORY_FLUSH_FAILED', details: expect.objectContaining({ cause_code: 'LLM_RATE_LIMITED' }) }) }]);
    const chat = (open[0] as { manager: MemoryManager }).manager.instance('chat', 'chat:ada');
    expect((await chat.read()).messages).toEqual(CONVERSATION);
    expect((await chat.metadata()).flush_pending).toBe(false);
  });

  it('a memory manager given no modelSummarizer refuses a resource with a summary_model instead of summarizing by rule', async () => {
    const { project } = load({ 'compozy.yaml': COMPOZY_YAML, 'memory/chat.yaml': chatMemory('local-model') });
    const kv = SqliteKv.open(':memory:');
    try {
      await expect(createMemoryManager({ kv, project: 'summaries', resources: projectMemories(project as ProjectConfig) })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        details: { memory_ref: 'chat', field: 'flushing.summary_model' },
      });
    } finally {
      await kv.close();
    }
  });
});
