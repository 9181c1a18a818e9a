import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentMcpIds, agentsWithMcpScope, projectMcpServers } from '../../src/config/mcp-servers.js';
import { loadProjectConfig } from '../../src/config/load.js';
import { sortDiagnostics, validateProject } from '../../src/config/validate.js';
import { writeFiles } from '../helpers/files.js';

function load(files: Record<string, string>) {
  const dir = writeFiles(files);
  const { project, diagnostics } = loadProjectConfig(dir);
  const all = sortDiagnostics([...diagnostics, ...(project ? validateProject(project) : [])]);
  return { project, problems: all.map((d) => `${basename(d.file)}:${d.line}:${d.col} ${d.key}: ${d.message}`) };
}

const WORKFLOW_PROJECT = 'name: m\nworkflows:\n  - source: ./wf.yaml\n';

describe('mcps: at project, workflow and agent level', () => {
  it('loads each level with the Go engine defaults (transport from command or url, start_timeout 60s, no session limit)', () => {
    const { project, problems } = load({
      'compozy.yaml': `${WORKFLOW_PROJECT}mcps:\n  - id: fs\n    command: node server.js --root .\n    args: [--verbose, "a b"]\n    env: { TOKEN: "{{ .env.TOKEN }}" }\n    start_timeout: 5s\n    max_sessions: 2\n    proto: "2025-03-26"\n`,
      'wf.yaml':
        'id: wf\nmcps:\n  - id: remote\n    url: https://mcp.example.com/sse\n    headers: { Authorization: "Bearer {{ .env.KEY }}" }\n  - id: http\n    transport: streamable-http\n    url: http://127.0.0.1:3000/mcp\nagents:\n  - id: a\n    model: openai:gpt-4o\n    mcps:\n      - fs\n      - { id: own, command: ./own-server }\n    instructions: hi\ntasks:\n  - id: t\n    agent: a\n    prompt: go\n',
    });
    expect(problems).toEqual([]);
    const servers = projectMcpServers(project!);
    expect(servers.map(({ file: _f, path: _p, ...rest }) => rest)).toEqual([
      { id: 'fs', transport: 'stdio', command: 'node server.js --root .', args: ['--verbose', 'a b'], env: { TOKEN: '{{ .env.TOKEN }}' }, headers: {}, proto: '2025-03-26', startTimeoutMs: 5000, maxSessions: 2 },
      { id: 'remote', transport: 'sse', url: 'https://mcp.example.com/sse', args: [], env: {}, headers: { Authorization: 'Bearer {{ .env.KEY }}' }, startTimeoutMs: 60_000, maxSessions: 0 },
      { id: 'http', transport: 'streamable-http', url: 'http://127.0.0.1:3000/mcp', args: [], env: {}, headers: {}, startTimeoutMs: 60_000, maxSessions: 0 },
      { id: 'own', transport: 'stdio', command: './own-server', args: [], env: {}, headers: {}, startTimeoutMs: 60_000, maxSessions: 0 },
    ]);
    const [scoped] = agentsWithMcpScope(project!);
    expect(agentMcpIds(scoped!.agent, scoped!.inherited)).toEqual(['fs', 'remote', 'http', 'own']);
  });

  it('refuses unknown keys by name, and fields of the other kind of transport', () => {
    const { problems } = load({
      'compozy.yaml':
        'name: m\nmcps:\n  - id: a\n    command: srv\n    url: http://x/mcp\n    headers: { X: "1" }\n    cwd: /tmp\n    resource: mcp\n  - id: b\n    transport: sse\n    command: srv\n    args: [x]\n    env: { A: "1" }\n  - id: c\n    transport: websocket\n    url: ws://x\n  - id: d\n    transport: stdio\n',
    });
    expect(problems).toEqual([
      'compozy.yaml:5:5 mcps[0].url: url cannot be set on a stdio MCP server; it is started from command:.',
      'compozy.yaml:6:5 mcps[0].headers: headers apply to sse and streamable-http servers; a stdio server gets no HTTP request.',
      'compozy.yaml:7:5 mcps[0].cwd: Unknown mcp field "cwd".',
      'compozy.yaml:8:5 mcps[0].resource: The mcp field "resource" is not supported yet.',
      'compozy.yaml:9:5 mcps[1]: An MCP server with transport sse needs url:.',
      'compozy.yaml:11:5 mcps[1].command: command cannot be set on a sse MCP server; use url or command, not both.',
      'compozy.yaml:12:5 mcps[1].args: args are only for stdio MCP servers; remove args: from this sse server.',
      "compozy.yaml:13:5 mcps[1].env: env is given to a stdio server's process; a sse server is not started here.",
      'compozy.yaml:15:5 mcps[2].transport: Unknown MCP transport "websocket".',
      'compozy.yaml:16:5 mcps[2].url: url must use http or https, not ws.',
      'compozy.yaml:17:5 mcps[3]: A stdio MCP server needs command: (the program to start).',
    ]);
  });

  it('checks each value: url, headers, command, proto, start_timeout, max_sessions, id and templates', () => {
    const { problems } = load({
      'compozy.yaml':
        'name: m\nmcps:\n  - id: a\n    url: ftp://x/mcp\n    headers: { Host: x, Y: "{{ .env.A " }\n    proto: latest\n    start_timeout: soon\n    max_sessions: -1\n  - id: b c\n    command: node "my server.js"\n    max_sessions: 1.5\n  - id: e\n    command: --flag\n',
    });
    expect(problems).toEqual([
      'compozy.yaml:4:5 mcps[0].url: url must use http or https, not ftp.',
      'compozy.yaml:5:16 mcps[0].headers.Host: Header "Host" is set by the HTTP client itself.',
      expect.stringMatching(/^compozy\.yaml:5:25 mcps\[0\]\.headers\.Y: /),
      'compozy.yaml:6:5 mcps[0].proto: proto "latest" is not a protocol version.',
      'compozy.yaml:7:5 mcps[0].start_timeout: "soon" is not a valid duration.',
      'compozy.yaml:8:5 mcps[0].max_sessions: max_sessions must be a whole number of at least 0, not -1.',
      'compozy.yaml:9:5 mcps[1].id: MCP server id "b c" has characters other than letters, digits, ".", "-" and "_".',
      'compozy.yaml:10:5 mcps[1].command: command is split on spaces and quotes are not read.',
      'compozy.yaml:11:5 mcps[1].max_sessions: max_sessions must be a whole number of at least 0, not 1.5.',
      'compozy.yaml:13:5 mcps[2].command: command must start with the program, not an option.',
    ]);
  });

  it("an agent names declared servers only; a workflow's or the project's list takes definitions; one id, one definition", () => {
    const { problems } = load({
      'compozy.yaml': `${WORKFLOW_PROJECT}mcps:\n  - id: fs\n    command: srv\n  - id: fs\n    command: srv\n`,
      'wf.yaml': 'id: wf\nmcps:\n  - fs\n  - id: fs\n    command: other\nagents:\n  - id: a\n    model: openai:gpt-4o\n    mcps: [fss]\ntasks:\n  - id: t\n    agent: a\n    prompt: go\n',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^compozy\.yaml:7:5 mcps\[1\]\.id: Duplicate MCP server id "fs" \(first defined at .*compozy\.yaml:5:5\)\.$/),
      'wf.yaml:3:5 mcps[0]: "fs" names an MCP server; only an agent\'s mcps: may name one declared elsewhere.',
      expect.stringMatching(/^wf\.yaml:4:5 mcps\[1\]\.id: The MCP server "fs" is defined again with other settings \(first at .*compozy\.yaml:5:5\)/),
      'wf.yaml:9:12 agents[0].mcps[0]: MCP server "fss" is not declared.',
    ]);
  });

  it('mcp_proxy: is refused, saying why', () => {
    const { problems } = load({ 'compozy.yaml': 'name: m\nmcp_proxy: { port: 6001 }\n' });
    expect(problems).toEqual(['compozy.yaml:2:1 mcp_proxy: The mcp_proxy: settings of the reference are not supported.']);
    const dir = writeFiles({ 'compozy.yaml': 'name: m\nmcp_proxy: { port: 6001 }\n' });
    expect(loadProjectConfig(dir).diagnostics[0]?.hint).toMatch(/compozy connects each server of mcps: directly/);
  });
});
