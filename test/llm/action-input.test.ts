import { describe, expect, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import { resourceIndex } from '../../src/engine/definition.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { writeFiles } from '../helpers/files.js';

function agents(answered: string[]): LlmAgents {
  const dir = writeFiles({
    'compozy.yaml': 'name: action-input\nworkflows:\n  - source: ./wf.yaml\n',
    'wf.yaml': `id: wf
agents:
  - id: guide
    model: openai:gpt-4o
    actions:
      - id: plan
        prompt: "Plan a day in {{ .input.city }}"
        input:
          type: object
          properties:
            city: { type: string }
          required: [city]
tasks:
  - id: t
    agent: guide
    action: plan
`,
  });
  const project = loadValidProject(dir);
  return new LlmAgents({
    projectDir: dir,
    models: project.models,
    resources: resourceIndex(project),
    env: {},
    tools: { call: () => Promise.resolve({}) },
    script: { answer: (request) => (answered.push(request.prompt), 'ok') },
  });
}

describe("an action's input schema (reference §2.4: with is checked against the task's, then the agent's input schema)", () => {
  it('is checked before the model is called: a task input that breaks it is INPUT_INVALID naming the agent and action', async () => {
    const answered: string[] = [];
    const error = await agents(answered)
      .run({ agentId: 'guide', actionId: 'plan', input: { town: 'Lisbon' }, context: {} })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'INPUT_INVALID' });
    expect((error as Error).message).toMatch(/^Input of agent "guide" action "plan" does not match the action's input schema: .*city/);
    expect(answered).toEqual([]);
  });

  it('an input that matches reaches the model', async () => {
    const answered: string[] = [];
    await expect(agents(answered).run({ agentId: 'guide', actionId: 'plan', input: { city: 'Lisbon' }, context: {} })).resolves.toMatchObject({ output: { response: 'ok' } });
    expect(answered).toEqual(['Plan a day in Lisbon']);
  });
});
