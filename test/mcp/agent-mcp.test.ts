import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { projectMcpServers } from '../../src/config/mcp-servers.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { resourceIndex } from '../../src/engine/definition.js';
import { LlmAgents } from '../../src/llm/agent-runner.js';
import { McpServers } from '../../src/mcp/servers.js';
import { errorCode } from '../helpers/errors.js';
import { writeFiles } from '../helpers/files.js';
import { startRecordingModel, type ModelAnswer, type ModelRequest, type RecordingModel } from '../helpers/recording-model.js';
import { fixtureServerYaml } from '../helpers/mcp.js';

let model: RecordingModel;
let answers: ModelAnswer[] = [];
const opened: McpServers[] = [];

beforeAll(async () => {
  model = await startRecordingModel(() => answers.shift() ?? 'done');
});
afterAll(() => model.close());
afterEach(async () => {
  model.requests.splice(0);
  answers = [];
  await Promise.all(opened.splice(0).map((servers) => servers.close()));
});

/** A project whose agent uses the fixture server (at `level`), its agents over the recording model, and its servers started. */
async function agentsWith(level: 'project' | 'workflow' | 'agent', extraAgent = ''): Promise<LlmAgents> {
  const server = fixtureServerYaml('calc');
  const dir = writeFiles({
    'compozy.yaml': `name: agent-mcp\nmodels:\n  - provider: openai-compatible\n    model: local-model\n    api_url: "{{ .env.LLM_URL }}"\n    default: true\nworkflows:\n  - source: ./wf.yaml\n${level === 'project' ? `mcps:\n${server}` : ''}`,
    'wf.yaml': `id: wf\n${level === 'workflow' ? `mcps:\n${server}` : ''}tools:\n  - id: echo\nagents:\n  - id: math\n    instructions: Use the tools.\n${level === 'agent' ? `    mcps:\n${fixtureServerYaml('calc', '      ')}` : ''}${extraAgent}tasks:\n  - id: t\n    agent: math\n    prompt: go\n`,
  });
  const project = loadValidProject(dir);
  const servers = new McpServers(projectMcpServers(project), { cwd: dir, env: process.env, callTimeoutMs: 10_000, log: () => undefined });
  opened.push(servers);
  await servers.start();
  return new LlmAgents({ projectDir: dir, models: project.models, resources: resourceIndex(project), env: { LLM_URL: model.url }, maxRetries: 0, tools: { call: async () => ({ from: 'project tool' }) }, mcp: servers });
}

/** The tool messages of a request: what each tool call answered, as the model was sent it. */
function toolResults(request: ModelRequest | undefined): Array<{ tool_call_id: unknown; content: unknown }> {
  return (request?.messages ?? []).filter((m) => m.role === 'tool').map((m) => ({ tool_call_id: (m as Record<string, unknown>).tool_call_id, content: m.content }));
}

describe("an agent's MCP tools in its tool loop", () => {
  it.each(['project', 'workflow', 'agent'] as const)('declared at %s level: offered beside its own tools, called, and their results reach the next request', async (level) => {
    const agents = await agentsWith(level, '    tools: []\n');
    answers = [
      { toolCalls: [{ id: 'c1', name: 'add', arguments: { a: 40, b: 2 } }, { id: 'c2', name: 'echo', arguments: { text: 'olá' } }] },
      'the sum is 42',
    ];
    const result = await agents.run({ agentId: 'math', prompt: 'add 40 and 2, then echo olá', input: {}, context: {} });
    expect(result.output).toEqual({ response: 'the sum is 42' });
    const offered = (model.requests[0]?.tools as Array<{ function: { name: string; description: string; parameters: { required: string[] } } }>).map((t) => [t.function.name, t.function.description, t.function.parameters.required]);
    expect(offered).toEqual([
      ['add', 'Adds two numbers', ['a', 'b']],
      ['echo', 'Answers with its text', ['text']],
    ]);
    expect(model.requests).toHaveLength(2);
    expect(toolResults(model.requests[1])).toEqual([
      { tool_call_id: 'c1', content: '42' },
      { tool_call_id: 'c2', content: 'olá' },
    ]);
  });

  it("a tool's error result goes back to the model as the tool's error, and the loop goes on", async () => {
    const agents = await agentsWith('project');
    answers = [{ toolCalls: [{ id: 'c1', name: 'add', arguments: { a: 'forty', b: 2 } }] }, 'I could not add those'];
    const result = await agents.run({ agentId: 'math', prompt: 'add', input: {}, context: {} });
    expect(result.output).toEqual({ response: 'I could not add those' });
    const [sent] = toolResults(model.requests[1]);
    expect(sent?.tool_call_id).toBe('c1');
    expect(String(sent?.content)).toContain('MCP server "calc" tool "add" answered with an error: add needs two numbers a and b');
  });

  it("a tool name offered twice (the agent's own echo and the server's echo) is refused, naming both", async () => {
    const agents = await agentsWith('workflow', '    tools: [echo]\n');
    const failure = agents.run({ agentId: 'math', prompt: 'go', input: {}, context: {} });
    expect(await errorCode(failure)).toBe('MCP_TOOL_CONFLICT');
    await expect(agents.run({ agentId: 'math', prompt: 'go', input: {}, context: {} })).rejects.toThrow('Agent "math" is offered two tools named "echo": one of the agent\'s tools: and one of MCP server "calc".');
    expect(model.requests).toHaveLength(0);
  });
});
