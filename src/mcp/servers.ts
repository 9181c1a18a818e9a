import type { McpServerConfig } from '../config/types.js';
import { CompozyError } from '../errors.js';
import type { ComponentHealth } from '../health.js';
import { plural } from '../platform/plural.js';
import type { RestartPolicyOptions } from '../supervisor/restart-policy.js';
import { McpConnection, type McpServerStatus } from './connection.js';

export type { McpServerStatus } from './connection.js';

/** A tool of an MCP server, as an agent is offered it. */
export interface McpTool {
  server: string;
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

export interface McpServersOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  callTimeoutMs: number;
  log: (line: string) => void;
  restartPolicy?: Partial<RestartPolicyOptions>;
}

/** Every MCP server of a project, each connected once (McpConnection), started together and stopped together. */
export class McpServers {
  private readonly connections: Map<string, McpConnection>;

  constructor(servers: readonly McpServerConfig[], options: McpServersOptions) {
    this.connections = new Map(servers.map((server) => [server.id, new McpConnection({ server, ...options })]));
  }

  /** Starts every server; settles once each has connected or failed its first attempt. */
  async start(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.start()));
  }

  get size(): number {
    return this.connections.size;
  }

  status(): McpServerStatus[] {
    return [...this.connections.values()].map((connection) => connection.status());
  }

  /** Waits for connections in progress, then the status of one server; MCP_NOT_FOUND for an id no server has. */
  async settledStatus(id: string): Promise<McpServerStatus> {
    const connection = this.connection(id);
    await connection.settled();
    return connection.status();
  }

  /** One health row per server: `mcp:<id>`, its transport, state, pid, restarts and tool count. */
  health(): ComponentHealth[] {
    return this.status().map((s) => ({
      name: `mcp:${s.id}`,
      backend: s.transport,
      state: s.state,
      ...(s.transport === 'stdio' ? {} : { address: s.target }),
      ...(s.pid !== undefined ? { pid: s.pid } : {}),
      restarts: s.restarts,
      detail: s.state === 'up' ? `${plural(s.tools.length, 'tool')}${s.protocolVersion ? `, protocol ${s.protocolVersion}` : ''}` : (s.error ?? 'connecting'),
    }));
  }

  /** The tools of these servers, in their order (waiting for connections in progress); a server that is down is an MCP_UNAVAILABLE error. */
  async tools(ids: readonly string[]): Promise<McpTool[]> {
    const lists = await Promise.all(ids.map(async (id) => ({ id, tools: await this.connection(id).listTools() })));
    return lists.flatMap(({ id, tools }) =>
      tools.map((tool) => ({ server: id, name: tool.name, inputSchema: tool.inputSchema as Record<string, unknown>, ...(tool.description !== undefined ? { description: tool.description } : {}) })),
    );
  }

  /** Calls a tool and gives its answer as the model sees it (toolAnswer in connection.ts). */
  call(server: string, name: string, args: Record<string, unknown>): Promise<unknown> {
    try {
      return this.connection(server).call(name, args);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops every server. */
  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
  }

  private connection(id: string): McpConnection {
    const connection = this.connections.get(id);
    if (!connection) throw new CompozyError('MCP_NOT_FOUND', `No MCP server "${id}" is declared.`, { details: { mcp: id } });
    return connection;
  }
}
