import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { projectMcpServers } from '../../src/config/mcp-servers.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { McpServers, type McpServerStatus } from '../../src/mcp/servers.js';
import { isPidAlive } from '../../src/platform/pids.js';
import type { RestartPolicyOptions } from '../../src/supervisor/restart-policy.js';
import { errorCode } from '../helpers/errors.js';
import { writeFiles } from '../helpers/files.js';
import { fixtureServerYaml } from '../helpers/mcp.js';

const opened: McpServers[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((servers) => servers.close()));
});

/** The servers a compozy.yaml declares, loaded and validated as serve loads them. */
function serversOf(mcps: string, restartPolicy: Partial<RestartPolicyOptions> = { baseDelayMs: 50 }): { servers: McpServers; log: string[] } {
  const dir = writeFiles({ 'compozy.yaml': `name: mcp-test\nmcps:\n${mcps}` });
  const log: string[] = [];
  const servers = new McpServers(projectMcpServers(loadValidProject(dir)), { cwd: dir, env: { ...process.env, GREETING: 'hello' }, callTimeoutMs: 10_000, log: (line) => log.push(line), restartPolicy });
  opened.push(servers);
  return { servers, log };
}

const FIXTURE = fixtureServerYaml('calc');

/** Polls the server's status until `done` holds (bounded: the test's own timeout ends it). */
async function until(servers: McpServers, id: string, done: (status: McpServerStatus) => boolean): Promise<McpServerStatus> {
  for (;;) {
    const status = servers.status().find((s) => s.id === id) as McpServerStatus;
    if (done(status)) return status;
    await sleep(20);
  }
}

describe('McpServers over stdio with the fixture server', () => {
  it('connects, lists both tools and calls them; an error result and a transport failure are typed errors', async () => {
    const { servers } = serversOf(FIXTURE);
    await servers.start();
    const status = servers.status()[0] as McpServerStatus;
    expect(status).toMatchObject({ id: 'calc', transport: 'stdio', state: 'up', restarts: 0, tools: ['add', 'echo'] });
    expect(status.pid).toBeGreaterThan(0);
    expect(isPidAlive(status.pid as number)).toBe(true);
    expect((await servers.tools(['calc'])).map((t) => [t.server, t.name, t.inputSchema.required])).toEqual([
      ['calc', 'add', ['a', 'b']],
      ['calc', 'echo', ['text']],
    ]);
    expect(await servers.call('calc', 'add', { a: 2, b: 40 })).toBe('42');
    expect(await servers.call('calc', 'echo', { text: 'olá' })).toBe('olá');
    await expect(servers.call('calc', 'add', { a: 'two', b: 1 })).rejects.toThrow('MCP server "calc" tool "add" answered with an error: add needs two numbers a and b');
    expect(await errorCode(servers.call('nope', 'add', {}))).toBe('MCP_NOT_FOUND');
    expect(servers.health()).toEqual([{ name: 'mcp:calc', backend: 'stdio', state: 'up', pid: status.pid, restarts: 0, detail: expect.stringMatching(/^2 tools, protocol \d{4}-\d{2}-\d{2}$/) }]);
  });

  it('a server killed is started again (a new process, one restart), and its tools answer again', async () => {
    const { servers, log } = serversOf(FIXTURE);
    await servers.start();
    const first = servers.status()[0] as McpServerStatus;
    process.kill(first.pid as number, 'SIGKILL');
    const again = await until(servers, 'calc', (s) => s.state === 'up' && s.pid !== undefined && s.pid !== first.pid);
    expect(again.restarts).toBe(1);
    expect(isPidAlive(first.pid as number)).toBe(false);
    expect(await servers.call('calc', 'add', { a: 1, b: 2 })).toBe('3');
    expect(log).toContainEqual(expect.stringMatching(new RegExp(`^mcp calc: process ${first.pid} exited; restarting in \\d+ ms$`)));
  });

  it('close stops the process; nothing is restarted after it', async () => {
    const { servers } = serversOf(FIXTURE);
    await servers.start();
    const { pid } = servers.status()[0] as McpServerStatus;
    await servers.close();
    expect(isPidAlive(pid as number)).toBe(false);
    expect(servers.status()[0]).toMatchObject({ state: 'down', error: 'stopped', restarts: 0 });
    expect(await errorCode(servers.call('calc', 'echo', { text: 'x' }))).toBe('MCP_UNAVAILABLE');
  });

  it('env: values render .env templates for the process; a stdio server that cannot start is down once the policy gives up, and calls say why', async () => {
    const { servers, log } = serversOf(
      `  - id: env\n    command: ${process.execPath}\n    args: ["-e", "console.error(process.env.SAY); process.exit(3)"]\n    env: { SAY: "{{ .env.GREETING }} from env" }\n  - id: missing\n    command: /nonexistent/mcp-server\n`,
      { baseDelayMs: 10, maxCrashes: 2 },
    );
    await servers.start();
    const down = await until(servers, 'missing', (s) => s.state === 'down');
    expect(down.error).toMatch(/^did not start: the process exited before it answered; its last stderr line: .*\/nonexistent\/mcp-server.*; crashed 2 times within 60 s, not restarted$/);
    await until(servers, 'env', (s) => s.state === 'down');
    expect(log).toContain('mcp env: hello from env');
    expect(await errorCode(servers.call('missing', 'x', {}))).toBe('MCP_UNAVAILABLE');
    await expect(servers.tools(['missing'])).rejects.toThrow(/MCP server "missing" is down: did not start/);
  });

  it('max_sessions bounds the calls in flight on one server', async () => {
    const { servers } = serversOf(`${FIXTURE}    max_sessions: 1\n`);
    await servers.start();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => servers.call('calc', 'add', { a: i, b: 1 })));
    expect(answers).toEqual(['1', '2', '3', '4', '5']);
  });
});
