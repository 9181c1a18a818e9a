import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { evaluateRef, parseRef } from '../../src/config/refs.js';
import type { AgentConfig, BasicTaskConfig, ModelConfig } from '../../src/config/types.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { resourceIndex } from '../../src/engine/definition.js';
import { basicTask } from '../../src/engine/tasks/basic.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { resolveModel } from '../../src/llm/models.js';
import { REPO } from '../helpers/cli.js';
import { startRecordingModel, type RecordingModel } from '../helpers/recording-model.js';

const FIXTURE = join(REPO, 'test', 'fixtures', 'compat', 'models-refs');

function problems(dir: string): string[] {
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]).map((d) => `${d.file.split('/').pop()}:${d.line}:${d.col} ${d.key} ${d.message}`);
}

/** A copy of the fixture with workflow.yaml replaced. */
function withWorkflow(text: string, compozy?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'models-refs-'));
  cpSync(FIXTURE, dir, { recursive: true });
  writeFileSync(join(dir, 'workflow.yaml'), text);
  if (compozy !== undefined) writeFileSync(join(dir, 'compozy.yaml'), compozy);
  return dir;
}

const label = (m: string | ModelConfig | undefined) => (typeof m === 'object' ? `${m.provider}:${m.model}` : m);

describe('gjson references (reference §1.1)', () => {
  const doc = { models: [{ provider: 'openai', model: 'a' }, { provider: 'groq', model: 'b', params: { n: 1 } }, { provider: 'groq', model: 'c' }] };
  const at = (text: string) => {
    const ref = parseRef(text);
    if (!ref) throw new Error(`not parsed: ${text}`);
    return evaluateRef(ref, doc).map((m) => ({ value: m.value, path: m.path.join('.') }));
  };

  it('reads keys, indexes, first-match and all-match queries, and paths after a query', () => {
    expect(at('global::models.#(provider=="groq")')).toEqual([{ value: doc.models[1], path: 'models.1' }]);
    expect(at('global::models.#(provider="groq")')).toEqual([{ value: doc.models[1], path: 'models.1' }]);
    expect(at('global::models.#(provider=="groq")#').map((m) => m.path)).toEqual(['models.1', 'models.2']);
    expect(at('global::models.#(provider!="groq")#').map((m) => m.path)).toEqual(['models.0']);
    expect(at('global::models.2')).toEqual([{ value: doc.models[2], path: 'models.2' }]);
    expect(at('global::models.#(provider=="groq").model')).toEqual([{ value: 'b', path: 'models.1.model' }]);
    expect(at('global::models.#(params.n==1).model')).toEqual([{ value: 'b', path: 'models.1.model' }]);
    expect(at('global::models.#(provider=="anthropic")')).toEqual([]);
    expect(parseRef('tool(local::tools.#(id=="x"))')).toMatchObject({ kind: 'tool', scope: 'local' });
  });

  it('refuses what is not a reference', () => {
    expect(parseRef('models.#(provider=="groq")')).toBeUndefined();
    expect(parseRef('global::models.#(provider==groq)')).toBeUndefined();
    expect(parseRef('global::models.*')).toBeUndefined();
    expect(parseRef('global::models.#(provider=="groq"')).toBeUndefined();
  });
});

describe('model resolution', () => {
  it('an agent config $ref by provider, a model $ref by index, a task model_config by $ref and inline each load as the model they name', () => {
    expect(problems(FIXTURE)).toEqual([]);
    const project = loadProjectConfig(FIXTURE).project;
    const workflow = project?.workflows[0];
    const agents = Object.fromEntries((workflow?.agents ?? []).map((a: AgentConfig) => [a.id, label(a.model)]));
    expect(agents).toEqual({ by_provider: 'groq:groq-model', by_index: 'openai-compatible:third-model', no_model: undefined });
    const tasks = Object.fromEntries((workflow?.tasks ?? []).map((t) => [t.id, { agent: (t as BasicTaskConfig).agent, model: label((t as BasicTaskConfig).model) }]));
    expect(tasks).toEqual({
      provider_ref: { agent: 'by_provider', model: undefined },
      index_ref: { agent: 'by_index', model: undefined },
      project_default: { agent: 'no_model', model: undefined },
      task_model_ref: { agent: undefined, model: 'openai-compatible:third-model' },
      task_model_inline: { agent: undefined, model: 'openai-compatible:inline-model' },
    });
    // The referenced model is the declared one (its params, its place in compozy.yaml), not a copy.
    expect(workflow?.agents[0]?.model).toBe(project?.models[1]);
    // A compiled task carries a plain model (no YAML file) to the worker.
    const inline = workflow?.tasks.find((t) => t.id === 'task_model_inline') as BasicTaskConfig;
    expect(JSON.parse(JSON.stringify(basicTask.compile(inline as never)))).toEqual({ prompt: 'task model_config inline', model: { provider: 'openai-compatible', model: 'inline-model', apiUrl: '{{ .env.LLM_URL }}', params: { temperature: 0.25 } } });
  });

  it('a reference that matches nothing, names another collection or several models, and model with model_config, are errors at their key', () => {
    const dir = withWorkflow(`id: models
agents:
  - id: nothing
    config:
      $ref: global::models.#(provider=="anthropic")
    actions: [{ id: go, prompt: hi }]
  - id: several
    config:
      $ref: global::models.#(provider=="groq")#
    actions: [{ id: go, prompt: hi }]
  - id: wrong
    config:
      $ref: global::schemas.#(id=="x")
    actions: [{ id: go, prompt: hi }]
tasks:
  - id: both
    prompt: hi
    model: groq:groq-model
    model_config:
      $ref: global::models.0
`);
    expect(problems(dir)).toEqual([
      `workflow.yaml:5:7 agents[0].config.$ref $ref "global::models.#(provider==\\"anthropic\\")" matches nothing in ${join(dir, 'compozy.yaml')}.`,
      'workflow.yaml:9:7 agents[1].config.$ref $ref "global::models.#(provider==\\"groq\\")#" must reach one model (provider, model, …), not a list (#(…)# takes every match).',
      'workflow.yaml:13:7 agents[2].config.$ref $ref "global::schemas.#(id==\\"x\\")" names schemas; here it may name models.',
      'workflow.yaml:19:5 tasks[0].model_config The task has both model: and model_config:, two ways of naming its model.',
    ]);
  });

  it('an agent with no model uses the default: true model; with none marked default it is an error (the Go engine has no first-model fallback)', () => {
    const project = loadProjectConfig(FIXTURE).project as NonNullable<ReturnType<typeof loadProjectConfig>['project']>;
    expect(resolveModel(undefined, project.models, { LLM_URL: 'http://x/v1' })).toMatchObject({ provider: 'openai', model: 'default-model' });
    const undefaulted = project.models.map((m) => ({ ...m, isDefault: false }));
    expect(() => resolveModel(undefined, undefaulted, {})).toThrow(expect.objectContaining({ code: 'LLM_MODEL_NOT_FOUND' }));
  });
});

describe('model resolution over the wire', () => {
  let fake: RecordingModel;
  beforeAll(async () => {
    fake = await startRecordingModel();
  });
  afterAll(() => fake.close());

  it('each way of naming a model calls that model, with its params', async () => {
    const project = loadProjectConfig(FIXTURE).project as NonNullable<ReturnType<typeof loadProjectConfig>['project']>;
    const agents = new LlmAgents({ projectDir: FIXTURE, models: project.models, resources: resourceIndex(project), env: { LLM_URL: fake.url }, tools: { call: async () => ({}) } });
    const defs = Object.fromEntries(project.workflows[0]!.tasks.map((t) => [t.id, basicTask.compile(t as never) as { agent?: string; action?: string; prompt?: string; model?: never }]));
    for (const id of ['provider_ref', 'index_ref', 'project_default', 'task_model_ref', 'task_model_inline']) {
      const def = defs[id]!;
      await agents.run({ input: {}, context: {}, ...(def.agent ? { agentId: def.agent } : {}), ...(def.action ? { actionId: def.action } : {}), ...(def.prompt ? { prompt: def.prompt } : {}), ...(def.model ? { model: def.model } : {}) });
    }
    expect(fake.requests.map((r) => [r.model, r.temperature])).toEqual([
      ['groq-model', undefined],
      ['third-model', 0.5],
      ['default-model', undefined],
      ['third-model', 0.5],
      ['inline-model', 0.25],
    ]);
  });
});
