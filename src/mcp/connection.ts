import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/project.js';
import type { McpServerConfig, McpTransport } from '../config/types.js';
import { CompozyError, errorMessage } from '../errors.js';
import { templates } from '../expr/template.js';
import { RestartPolicy, type RestartPolicyOptions } from '../supervisor/restart-policy.js';
import { withParentDeathSignal } from '../supervisor/child-process.js';

export type McpState = 'starting' | 'up' | 'down';

/** What one server is doing now, for health rows, GET /api/v0/mcps and doctor. */
export interface McpServerStatus {
  id: string;
  transport: McpTransport;
  state: McpState;
  /** The stdio server's process, while it runs. */
  pid?: number;
  restarts: number;
  /** The names of its tools, once listed. */
  tools: string[];
  /** The protocol version the server agreed on. */
  protocolVersion?: string;
  /** Why it is down or restarting. */
  error?: string;
  /** Where it is: the command line of a stdio server, the url of a remote one. */
  target: string;
}

export interface McpConnectionOptions {
  server: McpServerConfig;
  /** The project folder: a stdio server runs there. */
  cwd: string;
  /** The process environment over the project's .env, which env: and headers: values render against. */
  env: NodeJS.ProcessEnv;
  /** How long one tool call may take. */
  callTimeoutMs: number;
  /** The server's stderr lines and lifecycle events. */
  log: (line: string) => void;
  restartPolicy?: Partial<RestartPolicyOptions>;
}

/** compozy's version, which the client gives the server in initialize (clientInfo). */
const { version: VERSION } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/** The server's `command` split on spaces (execa's own parsing, as the config refuses quotes), then its `args`. */
async function commandLine(server: McpServerConfig): Promise<{ command: string; args: string[] }> {
  const { parseCommandString } = await import('execa');
  const [command, ...rest] = parseCommandString(server.command ?? '');
  return { command: command ?? '', args: [...rest, ...server.args] };
}

/** env: or headers: values rendered with `.env` (the Go engine templates both, engine/mcp/service.go resolveHeadersWithEnv). */
function rendered(values: Record<string, string>, env: NodeJS.ProcessEnv, what: string, id: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    try {
      out[key] = String(templates.renderValue(value, { env: { ...env } }));
    } catch (error) {
      throw new CompozyError('CONFIG_INVALID', `MCP server "${id}" ${what}.${key}: ${errorMessage(error)}`);
    }
  }
  return out;
}

/** The text of a tool result's content (text parts, joined), for error messages and plain answers. */
export function resultText(result: CallToolResult): string {
  return result.content
    .filter((part): part is Extract<CallToolResult['content'][number], { type: 'text' }> => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

/**
 * What a tool answered, as the model is given it: the structured content when the server sends one,
 * else its text (every part text), else the content parts as they are. A result flagged isError is
 * thrown, so the agent loop hands the model the error instead of an answer.
 */
export function toolAnswer(server: string, name: string, result: CallToolResult): unknown {
  if (result.isError) {
    throw new CompozyError('MCP_TOOL_FAILED', `MCP server "${server}" tool "${name}" answered with an error: ${resultText(result) || JSON.stringify(result.content)}`, { details: { mcp: server, tool: name } });
  }
  if (result.structuredContent !== undefined) return result.structuredContent;
  if (result.content.every((part) => part.type === 'text')) return resultText(result);
  return result.content;
}

/**
 * One MCP server, connected with the official SDK client. A stdio server is a child process of this
 * process (setpriv --pdeathsig, as supervised children are, so it dies with us even on SIGKILL);
 * when it exits or a remote connection drops, it is started again with the supervisor's restart
 * policy (exponential backoff, given up after repeated crashes). Calls wait for a (re)connection in
 * progress, and at most `max_sessions` run at once.
 */
export class McpConnection {
  private client: Client | undefined;
  private transport: Transport | undefined;
  private attempt: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly policy: RestartPolicy;
  private state: McpState = 'starting';
  private restarts = 0;
  private pid: number | undefined;
  private tools: Tool[] = [];
  private protocolVersion: string | undefined;
  private error: string | undefined;
  private target: string;
  /** The last line the stdio server wrote on stderr: why it exited, when it exits before answering. */
  private lastStderr = '';
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private readonly callOptions: { timeout: number };

  constructor(private readonly options: McpConnectionOptions) {
    this.policy = new RestartPolicy(options.restartPolicy);
    this.callOptions = { timeout: options.callTimeoutMs };
    const { server } = options;
    this.target = server.transport === 'stdio' ? [server.command, ...server.args].join(' ') : (server.url ?? '');
  }

  get id(): string {
    return this.options.server.id;
  }

  /** Connects; settles (never rejects) once the first attempt has connected or failed. */
  start(): Promise<void> {
    return this.connect();
  }

  /** Settles when the connection in progress, if any, has connected or failed. */
  async settled(): Promise<void> {
    await this.attempt;
  }

  status(): McpServerStatus {
    return {
      id: this.id,
      transport: this.options.server.transport,
      state: this.state,
      restarts: this.restarts,
      tools: this.tools.map((tool) => tool.name),
      target: this.target,
      ...(this.pid !== undefined ? { pid: this.pid } : {}),
      ...(this.protocolVersion !== undefined ? { protocolVersion: this.protocolVersion } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  /** The server's tools, once connected (waiting for a connection in progress). */
  async listTools(): Promise<Tool[]> {
    await this.up();
    return this.tools;
  }

  /** Calls a tool, and gives its answer (toolAnswer); a server that is down, or a call that fails in transport, is an MCP_UNAVAILABLE / MCP_TOOL_FAILED error. */
  call(name: string, args: Record<string, unknown>): Promise<unknown> {
    // Connected and under its session limit (the common case): the request goes out at once, with no
    // await in between (bench:mcp measures this path against the bare SDK client).
    if (this.state === 'up' && this.client && this.tryAcquire()) return this.request(this.client, name, args);
    return this.waitAndCall(name, args);
  }

  private async waitAndCall(name: string, args: Record<string, unknown>): Promise<unknown> {
    const client = await this.up();
    if (!this.tryAcquire()) await this.acquire();
    return this.request(client, name, args);
  }

  /** One request, with a session slot already held (released when it settles); one promise step from the SDK's answer to ours. */
  private request(client: Client, name: string, args: Record<string, unknown>): Promise<unknown> {
    return client.callTool({ name, arguments: args }, undefined, this.callOptions).then(
      (result) => {
        this.release();
        return toolAnswer(this.id, name, result as CallToolResult);
      },
      (error: unknown) => {
        this.release();
        throw new CompozyError('MCP_TOOL_FAILED', `MCP server "${this.id}" tool "${name}" failed: ${errorMessage(error)}`, { details: { mcp: this.id, tool: name }, cause: error });
      },
    );
  }

  /** Stops the server (a stdio one: stdin closed, then TERM, then KILL, by the SDK's transport) and restarts nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.state = 'down';
    this.error = 'stopped';
    await client?.close();
    await this.transport?.close();
    this.pid = undefined;
  }

  private async up(): Promise<Client> {
    await this.attempt;
    if (this.state === 'up' && this.client) return this.client;
    throw new CompozyError('MCP_UNAVAILABLE', `MCP server "${this.id}" is ${this.state === 'starting' ? 'restarting' : 'down'}${this.error ? `: ${this.error}` : ''}.`, {
      details: { mcp: this.id, state: this.state },
      hint: 'See its row in the health table (compozy status) and serve\'s log lines "mcp ' + this.id + ':".',
    });
  }

  private tryAcquire(): boolean {
    const limit = this.options.server.maxSessions;
    if (limit !== 0 && this.running >= limit) return false;
    this.running++;
    return true;
  }

  /** Waits for a session slot; release() hands it over, so `running` stays counted. */
  private acquire(): Promise<void> {
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }

  private connect(): Promise<void> {
    this.state = 'starting';
    this.attempt = this.open().then(
      () => undefined,
      (error: unknown) => this.lost(`did not start: ${errorMessage(error)}`),
    );
    return this.attempt;
  }

  private async open(): Promise<void> {
    const { server, log } = this.options;
    const [{ Client }, transport] = await Promise.all([import('@modelcontextprotocol/sdk/client/index.js'), this.openTransport()]);
    this.transport = transport;
    let negotiated: string | undefined;
    const setVersion = transport.setProtocolVersion?.bind(transport);
    transport.setProtocolVersion = (version: string) => {
      negotiated = version;
      setVersion?.(version);
    };
    const client = new Client({ name: 'compozy', version: VERSION }, { capabilities: {} });
    client.onerror = (error) => log(`mcp ${server.id}: ${errorMessage(error)}`);
    const signal = AbortSignal.timeout(server.startTimeoutMs);
    const timeout = server.startTimeoutMs;
    try {
      await client.connect(transport, { signal, timeout });
      if (server.proto !== undefined && (negotiated === undefined || negotiated < server.proto)) {
        throw new Error(`it speaks MCP ${negotiated ?? 'of an unknown version'}, older than proto ${server.proto}`);
      }
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      if (this.closed) throw new Error('stopped');
      this.client = client;
      this.tools = tools;
      this.protocolVersion = negotiated;
      this.state = 'up';
      this.error = undefined;
      this.pid = 'pid' in transport && typeof transport.pid === 'number' ? transport.pid : undefined;
      // Set once connected: a close before this is the failed attempt's, handled by connect().
      client.onclose = () => {
        if (this.client === client) this.lost(this.pid !== undefined ? `process ${this.pid} exited` : 'connection closed');
      };
      log(`mcp ${server.id}: up (${server.transport}${this.pid !== undefined ? `, pid ${this.pid}` : ''}, ${tools.length} tool${tools.length === 1 ? '' : 's'}, protocol ${negotiated ?? 'unknown'})`);
    } catch (error) {
      await client.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
      if (signal.aborted) throw new Error(`no answer within start_timeout (${timeout} ms)`);
      if (server.transport === 'stdio' && /Connection closed/.test(errorMessage(error))) throw new Error(`the process exited before it answered${this.lastStderr ? `; its last stderr line: ${this.lastStderr}` : ''}`);
      throw error;
    }
  }

  private async openTransport(): Promise<Transport> {
    const { server, env, cwd, log } = this.options;
    if (server.transport === 'stdio') {
      const [{ StdioClientTransport }, line] = await Promise.all([import('@modelcontextprotocol/sdk/client/stdio.js'), commandLine(server)]);
      const guarded = withParentDeathSignal(line.command, line.args);
      const transport = new StdioClientTransport({ command: guarded.command, args: guarded.args, env: rendered(server.env, env, 'env', server.id), cwd, stderr: 'pipe' });
      let partial = '';
      this.lastStderr = '';
      transport.stderr?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const text of lines) {
          if (text.trim() !== '') this.lastStderr = text.trim();
          log(`mcp ${server.id}: ${text}`);
        }
      });
      return transport;
    }
    const url = new URL(server.url ?? '');
    const requestInit = { headers: rendered(server.headers, env, 'headers', server.id) };
    if (server.transport === 'sse') {
      const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
      return new SSEClientTransport(url, { requestInit });
    }
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    return new StreamableHTTPClientTransport(url, { requestInit });
  }

  /** The server went away (or never came): restart it after the policy's delay, or give up. */
  private lost(reason: string): void {
    this.client = undefined;
    this.pid = undefined;
    this.error = reason;
    if (this.closed) return;
    const decision = this.policy.recordCrash(Date.now());
    if (decision.action === 'give-up') {
      this.state = 'down';
      this.error = decision.crashesInWindow > 1 ? `${reason}; ${decision.reason}, not restarted` : reason;
      this.options.log(`mcp ${this.id}: ${this.error}`);
      return;
    }
    this.state = 'starting';
    this.options.log(`mcp ${this.id}: ${reason}; restarting in ${decision.delayMs} ms`);
    // Calls made meanwhile wait for the restart to connect or fail.
    let release: () => void = () => undefined;
    this.attempt = new Promise<void>((resolve) => (release = resolve));
    this.timer = setTimeout(() => {
      if (this.closed) return release();
      this.restarts++;
      void this.connect().then(release);
    }, decision.delayMs);
  }
}
