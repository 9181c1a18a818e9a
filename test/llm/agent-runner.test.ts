import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadValidProject } from '../../src/config/valid-project.js';
import { resourceIndex } from '../../src/engine/definition.js';
import type { AgentStep } from '../../src/engine/executors.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { resolveModel } from '../../src/llm/models.js';
import { languageModel } from '../../src/llm/providers.js';
import { errorCode } from '../helpers/errors.js';
import { writeFiles } from '../helpers/files.js';

interface Scripted {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

const requests: { path: string; body: Record<string, unknown>; auth: string | undefined }[] = [];
const script: Scripted[] = [];
let server: Server;
let url: string;

function completion(content: string | null, extra: Record<string, unknown> = {}): Scripted {
  return {
    body: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'local-model',
      choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: extra.tool_calls ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    request.on('data', (chunk: Buffer) => (data += chunk.toString()));
    request.on('end', () => resolve(data));
  });
}

beforeAll(async () => {
  server = createServer(async (request, response) => {
    const body = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
    requests.push({ path: request.url ?? '', body, auth: request.headers.authorization });
    const next = script.shift() ?? { status: 500, body: { error: { message: 'no scripted response' } } };
    response.writeHead(next.status ?? 200, { 'content-type': 'application/json', ...(next.headers ?? {}) });
    response.end(JSON.stringify(next.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests.splice(0);
  script.splice(0);
});

const toolCalls: { id: string; input: Record<string, unknown> }[] = [];

function agents(options: { retries?: number } = {}): LlmAgents {
  const dir = writeFiles({
    'compozy.yaml': `name: llm-test
models:
  - provider: openai-compatible
    model: local-model
    api_url: "{{ .env.LLM_URL }}"
    api_key: "{{ .env.LLM_KEY }}"
    default: true
workflows:
  - source: ./workflow.yaml
`,
    'workflow.yaml': `id: wf
tools:
  - id: weather_tool
    description: Current weather for a city
    input:
      type: object
      properties:
        city: { type: string }
      required: [city]
agents:
  - id: guide
    instructions: "You guide tourists in {{ .input.city }}."
    tools: [weather_tool]
    actions:
      - id: chat
        prompt: "Say hello to {{ .input.city }}"
      - id: weather
        prompt: "Weather in {{ .input.city }}?"
        output:
          type: object
          properties:
            temperature: { type: number }
          required: [temperature]
tasks:
  - id: t
    agent: guide
    action: chat
`,
  });
  const project = loadValidProject(dir);
  toolCalls.splice(0);
  return new LlmAgents({
    projectDir: dir,
    models: project.models,
    resources: resourceIndex(project),
    env: { LLM_URL: url, LLM_KEY: 'sk-test' },
    maxRetries: 2,
    ...(options.retries !== undefined ? { structuredOutputRetries: options.retries } : {}),
    tools: {
      async call(id, input) {
        toolCalls.push({ id, input });
        return { temperature: 21, city: input.city };
      },
    },
  });
}

const call = (a: LlmAgents, actionId: string) => a.run({ agentId: 'guide', actionId, input: { city: 'Lisbon' }, context: {} });

describe('agents over a real OpenAI-compatible HTTP server', () => {
  it('plain text comes back as {response}, with rendered instructions and prompt, the key, and token usage', async () => {
    script.push(completion('Olá, Lisbon!'));
    const result = await call(agents(), 'chat');
    expect(result).toEqual({ output: { response: 'Olá, Lisbon!' }, usage: { provider: 'openai-compatible', model: 'local-model', input_tokens: 10, output_tokens: 5 } });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.path).toBe('/v1/chat/completions');
    expect(requests[0]?.auth).toBe('Bearer sk-test');
    expect(requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'You guide tourists in Lisbon.' },
      { role: 'user', content: 'Say hello to Lisbon' },
    ]);
  });

  it('an output schema asks for JSON and returns the validated object', async () => {
    script.push(completion('Here you go:\n```json\n{"temperature": 19.5}\n```'));
    const result = await call(agents(), 'weather');
    expect(result.output).toEqual({ temperature: 19.5 });
    const system = (requests[0]?.body.messages as { role: string; content: string }[])[0]?.content ?? '';
    expect(system).toContain('Respond with a single JSON object that matches this JSON Schema');
    expect(system).toContain('"required":["temperature"]');
  });

  it('invalid JSON is retried, and after the last attempt it is a typed error', async () => {
    script.push(completion('not json'), completion('{"temperature": 20}'));
    expect((await call(agents(), 'weather')).output).toEqual({ temperature: 20 });
    expect(requests).toHaveLength(2);

    requests.splice(0);
    script.push(completion('nope'), completion('{"temperature": "warm"}'));
    const failure = call(agents({ retries: 1 }), 'weather');
    expect(await errorCode(failure)).toBe('LLM_OUTPUT_INVALID');
    expect(requests).toHaveLength(2);
    script.push(completion('nope'), completion('{"temperature": "warm"}'));
    await expect(call(agents({ retries: 1 }), 'weather')).rejects.toThrow(/2 attempts: the answer does not match the output schema: \/temperature must be number/);
  });

  it('runs a tool call round trip through the project tool', async () => {
    script.push(
      completion(null, { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather_tool', arguments: '{"city":"Lisbon"}' } }] }),
      completion('It is 21 degrees in Lisbon.'),
    );
    const result = await call(agents(), 'chat');
    expect(result.output).toEqual({ response: 'It is 21 degrees in Lisbon.' });
    expect(toolCalls).toEqual([{ id: 'weather_tool', input: { city: 'Lisbon' } }]);
    expect(requests).toHaveLength(2);
    const offered = requests[0]?.body.tools as { function: { name: string; description: string; parameters: unknown } }[];
    expect(offered.map((t) => t.function.name)).toEqual(['weather_tool']);
    expect(offered[0]?.function.description).toBe('Current weather for a city');
    const followUp = requests[1]?.body.messages as { role: string; content: unknown; tool_call_id?: string }[];
    const toolMessage = followUp.find((m) => m.role === 'tool');
    expect(toolMessage?.tool_call_id).toBe('call_1');
    expect(JSON.stringify(toolMessage?.content)).toContain('21');
    expect(result.usage).toMatchObject({ input_tokens: 20, output_tokens: 10 });
  });

  it('tells onStep each step as it ends: the model call with its usage, the tool call, the tool result, the next model call', async () => {
    script.push(
      completion(null, { tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'weather_tool', arguments: '{"city":"Lisbon"}' } }] }),
      completion('It is 21 degrees in Lisbon.'),
    );
    const steps: AgentStep[] = [];
    await agents().run({ agentId: 'guide', actionId: 'chat', input: { city: 'Lisbon' }, context: {}, onStep: async (step) => void steps.push(step) });
    expect(steps).toEqual([
      { type: 'model_call', step: 1, text: '', finishReason: 'tool-calls', usage: { inputTokens: 10, outputTokens: 5 } },
      { type: 'tool_call', step: 1, toolCallId: 'call_7', toolId: 'weather_tool', input: { city: 'Lisbon' } },
      { type: 'tool_result', step: 1, toolCallId: 'call_7', toolId: 'weather_tool', output: { temperature: 21, city: 'Lisbon' } },
      { type: 'model_call', step: 2, text: 'It is 21 degrees in Lisbon.', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: 5 } },
    ]);
  });

  it('a failing onStep fails the call (a step that cannot be recorded is not dropped)', async () => {
    script.push(completion('fine'));
    await expect(agents().run({ agentId: 'guide', actionId: 'chat', input: { city: 'Lisbon' }, context: {}, onStep: async () => { throw new Error('log is down'); } })).rejects.toThrow(/log is down/);
  });

  it('429 is retried (honouring retry-after) and then succeeds', async () => {
    script.push({ status: 429, headers: { 'retry-after-ms': '20' }, body: { error: { message: 'slow down' } } }, completion('fine'));
    expect((await call(agents(), 'chat')).output).toEqual({ response: 'fine' });
    expect(requests).toHaveLength(2);
  });

  it('a 429 that persists is LLM_RATE_LIMITED with the provider message', async () => {
    for (let i = 0; i < 3; i++) script.push({ status: 429, headers: { 'retry-after-ms': '10' }, body: { error: { message: 'quota exhausted' } } });
    const failure = call(agents(), 'chat');
    await expect(failure).rejects.toMatchObject({ code: 'LLM_RATE_LIMITED' });
    await expect(failure).rejects.toThrow(/quota exhausted/);
    expect(requests).toHaveLength(3);
  });

  it('401 is a clear auth error carrying the provider message, not retried', async () => {
    script.push({ status: 401, body: { error: { message: 'Invalid API key provided' } } });
    const failure = call(agents(), 'chat');
    await expect(failure).rejects.toMatchObject({ code: 'LLM_AUTH_FAILED', message: 'openai-compatible:local-model refused the credentials (401): Invalid API key provided' });
    expect(requests).toHaveLength(1);
  });
});

describe('model refs', () => {
  it('anthropic and groq refs resolve to their providers; unknown providers and models are errors', () => {
    expect(languageModel(resolveModel('anthropic:claude-3-5-haiku-latest', [], {}), {}).provider).toBe('anthropic.messages');
    expect(languageModel(resolveModel('groq:llama-3.3-70b-versatile', [], {}), {}).provider).toBe('groq.chat');
    expect(languageModel(resolveModel('openai:gpt-4o-mini', [], {}), {}).provider).toBe('openai.chat');
    expect(languageModel(resolveModel('ollama:llama3.2', [], {}), {}).provider).toContain('ollama');
    expect(() => languageModel(resolveModel('nosuch:model', [], {}), {})).toThrow(/Provider "nosuch" is not supported/);
    expect(() => resolveModel('undeclared', [], {})).toThrow(/Model "undeclared" is not declared/);
    expect(() => resolveModel(undefined, [], {})).toThrow(/no default model/);
  });

  it('a templated ref picks its model from the environment', () => {
    const ref = '{{ if get .env "GROQ_API_KEY" }}groq:llama-3.3-70b-versatile{{ else }}replay:weather{{ end }}';
    expect(resolveModel(ref, [], { GROQ_API_KEY: 'gsk' })).toMatchObject({ provider: 'groq', model: 'llama-3.3-70b-versatile' });
    expect(resolveModel(ref, [], {})).toMatchObject({ provider: 'replay', model: 'weather' });
  });
});

describe('replay models', () => {
  function replayAgents(fixtures: string) {
    const dir = writeFiles({
      'compozy.yaml': 'name: replay-test\nmodels:\n  - provider: replay\n    model: demo\n    default: true\nworkflows:\n  - source: ./workflow.yaml\n',
      'workflow.yaml': `id: wf
agents:
  - id: guide
    actions:
      - id: weather
        prompt: "Weather in {{ .input.city }}?"
        output:
          type: object
          properties:
            weather: { type: string }
          required: [weather]
      - id: chat
        prompt: "hi"
tasks:
  - id: t
    agent: guide
    action: chat
`,
      'replay/demo.yaml': fixtures,
    });
    const project = loadValidProject(dir);
    return new LlmAgents({ projectDir: dir, models: project.models, resources: resourceIndex(project), env: {}, tools: { call: async () => ({}) } });
  }

  it('answers from the fixtures, matching agent, action and input, with templates over .input', async () => {
    const a = replayAgents(`answers:
  - agent: guide
    action: weather
    when: { city: Porto }
    output: { weather: "Rain in {{ .input.city }}" }
  - agent: guide
    action: weather
    output: { weather: "Sun in {{ .input.city }}" }
  - agent: guide
    action: chat
    text: hello from replay
`);
    expect(await a.run({ agentId: 'guide', actionId: 'weather', input: { city: 'Porto' }, context: {} })).toEqual({
      output: { weather: 'Rain in Porto' },
      usage: { provider: 'replay', model: 'demo', input_tokens: 0, output_tokens: 0 },
    });
    expect((await a.run({ agentId: 'guide', actionId: 'weather', input: { city: 'Faro' }, context: {} })).output).toEqual({ weather: 'Sun in Faro' });
    expect((await a.run({ agentId: 'guide', actionId: 'chat', input: {}, context: {} })).output).toEqual({ response: 'hello from replay' });
    const steps: AgentStep[] = [];
    await a.run({ agentId: 'guide', actionId: 'chat', input: {}, context: {}, onStep: async (step) => void steps.push(step) });
    expect(steps).toEqual([{ type: 'model_call', step: 1, text: 'hello from replay', finishReason: 'stop', usage: { inputTokens: 0, outputTokens: 0 } }]);
  });

  it('a missing answer names what was asked; an answer that breaks the schema is LLM_OUTPUT_INVALID', async () => {
    const a = replayAgents('answers:\n  - agent: guide\n    action: weather\n    output: { weather: 5 }\n');
    await expect(a.run({ agentId: 'guide', actionId: 'chat', input: { x: 1 }, context: {} })).rejects.toMatchObject({
      code: 'LLM_REPLAY_MISSING',
      message: expect.stringContaining('for agent guide, action chat, input {"x":1}'),
    });
    await expect(a.run({ agentId: 'guide', actionId: 'weather', input: { city: 'Faro' }, context: {} })).rejects.toMatchObject({ code: 'LLM_OUTPUT_INVALID' });
  });
});
