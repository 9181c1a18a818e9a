import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProject } from '../../src/config/project.js';
import { mcpCheck } from '../../src/doctor/mcp-check.js';
import { isPidAlive } from '../../src/platform/pids.js';
import { writeFiles } from '../helpers/files.js';
import { fixtureServerYaml } from '../helpers/mcp.js';

function check(files: Record<string, string>) {
  const dir = writeFiles(files);
  return mcpCheck.run({ project: loadProject(dir), env: process.env });
}

describe('compozy doctor mcp', () => {
  it('starts each server once, lists its tools, and leaves no process behind', async () => {
    const pidFile = `${writeFiles({})}/pid`;
    const result = await check({ 'compozy.yaml': `name: d\nmcps:\n${fixtureServerYaml('calc', '  ', `env: { MCP_FIXTURE_PID_FILE: ${JSON.stringify(pidFile)} }\n`)}` });
    expect(result).toEqual({ name: 'mcp', status: 'pass', message: 'calc: stdio, 2 tools (add, echo)' });
    expect(isPidAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('a server that does not start fails the check with its reason, tried once', async () => {
    const result = await check({ 'compozy.yaml': 'name: d\nmcps:\n  - id: gone\n    command: /nonexistent/server --flag\n' });
    expect(result).toMatchObject({ name: 'mcp', status: 'fail' });
    expect(result?.message).toMatch(/^gone \(stdio \/nonexistent\/server --flag\): did not start: the process exited before it answered; its last stderr line: .*\/nonexistent\/server.*$/);
  });

  it("a tool name an agent is offered twice fails the check, naming the agent, the tool and both origins", async () => {
    const result = await check({
      'compozy.yaml': `name: d\nworkflows:\n  - source: ./wf.yaml\nmcps:\n${fixtureServerYaml('calc')}${fixtureServerYaml('calc2')}`,
      'wf.yaml': 'id: wf\ntools:\n  - id: add\nagents:\n  - id: a\n    model: openai:gpt-4o\n    tools: [add]\ntasks:\n  - id: t\n    agent: a\n    prompt: go\n',
    });
    expect(result).toMatchObject({ name: 'mcp', status: 'fail' });
    expect(result?.message).toBe('tool names offered twice: agent a: "add" of MCP server calc and of its tools:; agent a: "add" of MCP server calc2 and of its tools:; agent a: "echo" of MCP server calc2 and of MCP server calc');
  });

  it('a project without MCP servers has no mcp check', async () => {
    expect(await check({ 'compozy.yaml': 'name: d\n' })).toBeUndefined();
  });
});
