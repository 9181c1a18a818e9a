import { isValidDuration, parseDuration } from './duration.js';
import { isObj, suggestion, type Obj, type Reader } from './read.js';
import { childTasks, MCP_TRANSPORTS, type AgentConfig, type McpServerConfig, type McpServerRef, type McpTransport, type ProjectConfig, type TaskConfig } from './types.js';
import type { YamlPath } from './yaml-file.js';

/**
 * `mcps:` entries, as the Go engine reads them (engine/mcp/config.go: Config, SetDefaults, Validate):
 * transport defaults to stdio when a command is given, else sse; sse and streamable-http need an
 * http(s) url with a host and take neither command nor args; stdio needs a command and takes no url;
 * headers may not carry CR/LF nor set Host, Content-Length, Connection or Transfer-Encoding; proto is
 * a YYYY-MM-DD date; start_timeout is a positive duration. Where Go would ignore a field (headers on a
 * stdio server, env on a remote one), it is refused here, since nothing would read it.
 */
const MCP_FIELDS = new Set(['id', 'transport', 'command', 'args', 'env', 'url', 'headers', 'proto', 'start_timeout', 'max_sessions']);
const UNSUPPORTED_MCP_FIELDS = {
  resource: 'A server is named by its id here; remove resource:.',
};
const RESERVED_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding']);
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Go's defaultMCPReadinessTimeout (engine/mcp/service.go): how long serve waits for a server to connect. */
export const MCP_DEFAULT_START_TIMEOUT_MS = 60_000;

function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

function httpUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL.`;
  }
  // An http(s) URL always has a host once parsed (WHATWG URL), which Go's validateURLFormat also requires.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `url must use http or https, not ${url.protocol.replace(/:$/, '')}.`;
  return undefined;
}

/** One server definition; undefined when it cannot be used (each problem is a diagnostic). */
function readServer(r: Reader, raw: Obj, at: YamlPath): McpServerConfig | undefined {
  r.knownKeys(raw, at, MCP_FIELDS, 'mcp', UNSUPPORTED_MCP_FIELDS);
  const id = r.string(raw, at, 'id', true);
  if (id !== undefined && id !== '' && !ID.test(id)) r.error([...at, 'id'], `MCP server id "${id}" has characters other than letters, digits, ".", "-" and "_".`, 'It names the server in /api/v0/mcps/:id and the health table; rename it.');
  const command = r.string(raw, at, 'command');
  const url = r.string(raw, at, 'url');
  const transportText = r.string(raw, at, 'transport') ?? (command !== undefined ? 'stdio' : 'sse');
  const known = (MCP_TRANSPORTS as readonly string[]).includes(transportText);
  if (!known) r.error([...at, 'transport'], `Unknown MCP transport "${transportText}".`, suggestion(transportText, MCP_TRANSPORTS, 'transport'));
  const transport = transportText as McpTransport;
  const args = r.list(raw, at, 'args').flatMap((arg, i) => {
    if (typeof arg === 'string' || typeof arg === 'number' || typeof arg === 'boolean') return [String(arg)];
    r.error([...at, 'args', i], 'Each of args must be a string.');
    return [];
  });
  const env = r.stringMap(raw, at, 'env');
  const headers = r.stringMap(raw, at, 'headers');
  const refuse = (key: string, message: string, hint?: string) => r.error([...at, key], message, hint);
  if (transport === 'stdio') {
    if (command === undefined) r.error(at, 'A stdio MCP server needs command: (the program to start).', 'Add command: …, or give url: and transport: sse | streamable-http for a remote server.');
    if (url !== undefined) refuse('url', 'url cannot be set on a stdio MCP server; it is started from command:.', 'Remove url:, or make the transport sse or streamable-http and remove command:.');
    if (raw.headers !== undefined) refuse('headers', 'headers apply to sse and streamable-http servers; a stdio server gets no HTTP request.', 'Remove headers:, or pass the values through env:.');
  } else if (known) {
    if (url === undefined) r.error(at, `An MCP server with transport ${transport} needs url:.`, 'Add url: http(s)://host[:port]/path, or give command: for a stdio server.');
    if (command !== undefined) refuse('command', `command cannot be set on a ${transport} MCP server; use url or command, not both.`);
    if (raw.args !== undefined) refuse('args', `args are only for stdio MCP servers; remove args: from this ${transport} server.`);
    if (raw.env !== undefined) refuse('env', `env is given to a stdio server's process; a ${transport} server is not started here.`, 'Send values to a remote server in headers:.');
  }
  if (command !== undefined) {
    if (command.trim() === '') refuse('command', 'command must not be empty.');
    else if (/[\r\n]/.test(command)) refuse('command', 'command cannot contain line breaks.');
    else if (/["'`]/.test(command)) refuse('command', 'command is split on spaces and quotes are not read.', 'Give the program in command: and each argument (with its spaces) as one item of args:.');
    else if (command.trim().startsWith('-')) refuse('command', 'command must start with the program, not an option.');
  }
  if (url !== undefined) {
    const problem = httpUrlProblem(url);
    if (problem) refuse('url', problem, 'Write it like http://127.0.0.1:3000/mcp.');
  }
  for (const [name, value] of Object.entries(headers)) {
    const key = name.trim();
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) r.error([...at, 'headers', name], `Header "${key}" has a line break, which is not allowed.`);
    else if (RESERVED_HEADERS.has(key.toLowerCase())) r.error([...at, 'headers', name], `Header "${key}" is set by the HTTP client itself.`, 'Remove it.');
  }
  const proto = r.string(raw, at, 'proto');
  if (proto !== undefined && !isDate(proto)) refuse('proto', `proto "${proto}" is not a protocol version.`, 'MCP versions are dates, YYYY-MM-DD, e.g. 2025-03-26.');
  const startTimeout = r.string(raw, at, 'start_timeout');
  if (startTimeout !== undefined && !isValidDuration(startTimeout)) refuse('start_timeout', `"${startTimeout}" is not a valid duration.`, 'Use Go duration syntax, e.g. 30s, 2m, 500ms.');
  const maxSessions = r.number(raw, at, 'max_sessions');
  if (maxSessions !== undefined && (!Number.isInteger(maxSessions) || maxSessions < 0)) refuse('max_sessions', `max_sessions must be a whole number of at least 0, not ${maxSessions}.`, '0 (the default) sets no limit.');
  if (id === undefined || id === '' || !known) return undefined;
  return {
    file: r.file, path: at, id, transport, args, env, headers,
    ...(command !== undefined ? { command: command.trim() } : {}),
    ...(url !== undefined ? { url } : {}),
    ...(proto !== undefined ? { proto } : {}),
    startTimeoutMs: startTimeout !== undefined && isValidDuration(startTimeout) ? parseDuration(startTimeout) : MCP_DEFAULT_START_TIMEOUT_MS,
    maxSessions: maxSessions !== undefined && Number.isInteger(maxSessions) && maxSessions > 0 ? maxSessions : 0,
  };
}

/**
 * The `mcps:` list under `holder`. A plain string is a reference to a server declared elsewhere (the
 * Go engine's id-only form); only an agent's list takes those (`refs` set), since a project's or a
 * workflow's servers are already offered to every agent below it.
 */
export function readMcpServers(r: Reader, holder: Obj, path: YamlPath, refs?: McpServerRef[]): McpServerConfig[] {
  return r.list(holder, path, 'mcps').flatMap((item, i): McpServerConfig[] => {
    const at = [...path, 'mcps', i];
    if (typeof item === 'string') {
      if (refs) refs.push({ file: r.file, path: at, id: item });
      else r.error(at, `"${item}" names an MCP server; only an agent's mcps: may name one declared elsewhere.`, 'Write the server out here: {id, transport, command | url, …}.');
      return [];
    }
    if (!isObj(item)) {
      r.error(at, 'An MCP server is a mapping {id, transport, command | url, …}.');
      return [];
    }
    const server = readServer(r, item, at);
    return server ? [server] : [];
  });
}

/** Every agent of the project with the MCP servers above it: the project's, then its workflow's (none for an autoloaded agent). */
export function agentsWithMcpScope(project: ProjectConfig): Array<{ agent: AgentConfig; inherited: readonly McpServerConfig[] }> {
  const out = project.agents.map((agent) => ({ agent, inherited: project.mcps }));
  for (const workflow of project.workflows) {
    const inherited = [...project.mcps, ...workflow.mcps];
    for (const agent of workflow.agents) out.push({ agent, inherited });
    const visit = (task: TaskConfig): void => {
      if (task.type === 'basic' && typeof task.agent === 'object') out.push({ agent: task.agent, inherited });
      childTasks(task).forEach(visit);
    };
    workflow.tasks.forEach(visit);
  }
  return out;
}

/** Every MCP server the project declares (project, workflows, agents), once per id: the first definition of an id (validation refuses a differing second one). */
export function projectMcpServers(project: ProjectConfig): McpServerConfig[] {
  const byId = new Map<string, McpServerConfig>();
  const add = (server: McpServerConfig) => {
    if (!byId.has(server.id)) byId.set(server.id, server);
  };
  project.mcps.forEach(add);
  project.workflows.forEach((workflow) => workflow.mcps.forEach(add));
  agentsWithMcpScope(project).forEach(({ agent }) => agent.mcps.forEach(add));
  return [...byId.values()];
}

/** The ids of the servers whose tools an agent is offered: those above it, its own, then the ones it names; each once. */
export function agentMcpIds(agent: AgentConfig, inherited: readonly McpServerConfig[]): string[] {
  return [...new Set([...inherited.map((s) => s.id), ...agent.mcps.map((s) => s.id), ...agent.mcpRefs.map((ref) => ref.id)])];
}
