import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../src/config/load.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import type { ConfigDiagnostic } from '../../src/config/yaml-file.js';
import { resourceIndex } from '../../src/engine/definition.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { llmHealth } from '../../src/llm/health.js';
import { REPO, runCli } from '../helpers/cli.js';

const MODELS = join(REPO, 'test', 'fixtures', 'config-models');
const ENV = join(REPO, 'test', 'fixtures', 'config-models-env');
const KEYS = { COMPOZY_TEST_GROQ_KEY: '', OPENROUTER_API_KEY: '' };

function problems(dir: string): ConfigDiagnostic[] {
  const { project, diagnostics } = loadProjectConfig(dir);
  return sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]);
}

describe('model validation', () => {
  it('an unknown provider, a compatible server without api_url, an undeclared model id and no default model are config errors at their position', () => {
    const found = problems(MODELS).map((d) => `${d.file.split('/').pop()}:${d.line}:${d.col} ${d.key} ${d.message} | ${d.hint}`);
    expect(found).toEqual([
      'compozy.yaml:6:5 models[0].provider Provider "opnai" does not exist. | Did you mean "openai"?',
      "compozy.yaml:8:5 models[1] Model openai-compatible:local-model has no api_url. | Add api_url: the base URL of the server's OpenAI-compatible API, e.g. http://localhost:8000/v1.",
      'workflow.yaml:4:5 agents[0].model Model "anthropc:claude-3-5-haiku-latest": provider "anthropc" does not exist. | Did you mean "anthropic"?',
      'workflow.yaml:9:5 agents[1].model Model "llama-3.3" is not declared in the project. | Write it as provider:model, or declare it under models: (declared: opnai:gpt-4o-mini, openai-compatible:local-model, groq:llama-3.3-70b-versatile).',
      'workflow.yaml:13:5 agents[2] The agent no_model has no model and the project has no default model. | Give it model: provider:model, or mark one of the project models default: true.',
      'workflow.yaml:23:5 tasks[1] The task second has no model and the project has no default model. | Give it model: provider:model, or mark one of the project models default: true.',
    ]);
    expect(() => loadValidProject(MODELS)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('config validate exits 2 on them and does not repeat them as environment warnings', async () => {
    const result = await runCli(['config', 'validate', MODELS, '--json'], KEYS);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { diagnostics: ConfigDiagnostic[]; warnings: ConfigDiagnostic[] };
    expect(report.diagnostics).toHaveLength(6);
    expect(report.warnings).toEqual([]);
  });

  it('a model an agent uses whose key is unset is a warning naming the variable, with the fix; set, it is not', async () => {
    const unset = await runCli(['config', 'validate', ENV], KEYS);
    expect(unset.code).toBe(0);
    expect(unset.stdout).toContain('! test/fixtures/config-models-env/workflow.yaml:4:5: agents[0].model: The agent declared cannot call its model here: api_key of model groq:llama-3.3-70b-versatile needs COMPOZY_TEST_GROQ_KEY, which is not set.\n    → Export COMPOZY_TEST_GROQ_KEY or add it to the project\'s .env.');
    expect(unset.stdout).toContain('agents[1].model: The agent by_provider_variable cannot call its model here: Model openrouter:meta-llama/llama-3.3-70b-instruct has no API key: OPENROUTER_API_KEY is not set and the model has no api_key.');
    expect(unset.stdout).toContain('— valid, 2 warnings about this environment');
    const json = JSON.parse((await runCli(['config', 'validate', ENV, '--json'], KEYS)).stdout) as { valid: boolean; warnings: ConfigDiagnostic[] };
    expect(json.valid).toBe(true);
    expect(json.warnings.map((w) => w.key)).toEqual(['agents[0].model', 'agents[1].model']);

    const set = await runCli(['config', 'validate', ENV, '--json'], { COMPOZY_TEST_GROQ_KEY: 'gsk-test', OPENROUTER_API_KEY: 'or-test' });
    expect(JSON.parse(set.stdout)).toMatchObject({ valid: true, warnings: [] });
  });

  it('doctor fails the agents check with the fix; the llm health row is down with the reason', async () => {
    const doctor = await runCli(['doctor', 'agents', '--json', '--project', ENV], KEYS);
    expect(doctor.code).toBe(1);
    const check = (JSON.parse(doctor.stdout) as { checks: Array<Record<string, string>> }).checks[0];
    expect(check).toMatchObject({ name: 'agents', status: 'fail', message: expect.stringContaining('agent declared: api_key of model groq:llama-3.3-70b-versatile needs COMPOZY_TEST_GROQ_KEY') });
    expect(check?.fix).toContain('Export COMPOZY_TEST_GROQ_KEY');
    expect(check?.fix).toContain('Export OPENROUTER_API_KEY');

    const project = loadValidProject(ENV);
    expect(llmHealth(project, {})).toMatchObject({ state: 'down', detail: expect.stringContaining('agent by_provider_variable: Model openrouter:meta-llama/llama-3.3-70b-instruct has no API key') });
    expect(llmHealth(project, { COMPOZY_TEST_GROQ_KEY: 'gsk', OPENROUTER_API_KEY: 'or' })).toMatchObject({ state: 'up' });
  });
});

describe('model errors at run time are typed as permanent', () => {
  const project = loadValidProject(ENV);
  const agents = new LlmAgents({ projectDir: ENV, models: project.models, resources: resourceIndex(project), env: {}, tools: { call: async () => ({}) } });
  const run = (model: string | undefined, agentId = 'templated') => agents.run({ agentId, actionId: 'chat', input: {}, context: {}, ...(model ? { model } : {}) });

  it('an unknown provider is LLM_PROVIDER_UNKNOWN, not a transient LLM_PROVIDER_ERROR', async () => {
    await expect(run('nosuch:model')).rejects.toMatchObject({ code: 'LLM_PROVIDER_UNKNOWN', message: 'Provider "nosuch" is not supported.' });
  });

  it('an unset key fails before any request: CONFIG_INVALID for an api_key reference, LLM_AUTH_FAILED for a provider variable', async () => {
    await expect(run(undefined, 'declared')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('needs COMPOZY_TEST_GROQ_KEY') });
    await expect(run(undefined, 'by_provider_variable')).rejects.toMatchObject({ code: 'LLM_AUTH_FAILED', message: expect.stringContaining('OPENROUTER_API_KEY is not set') });
  });

  it('the replay fallback of a templated ref still answers offline', async () => {
    await expect(run(undefined)).resolves.toMatchObject({ output: { response: 'hello' } });
  });
});
