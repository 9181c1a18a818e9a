import type { FastifyInstance } from 'fastify';
import { projectMcpServers } from '../../config/mcp-servers.js';
import type { McpServerConfig, ProjectConfig } from '../../config/types.js';
import { CompozyError } from '../../errors.js';
import type { McpServers, McpServerStatus } from '../../mcp/servers.js';
import { errors, list, object, ok, params, route, STRING, STRING_OR_NULL, type JsonSchema } from './schemas.js';

const NULLABLE_INT: JsonSchema = { type: ['integer', 'null'] };

const MCP_SCHEMA = object({
  id: STRING,
  transport: STRING,
  command: STRING_OR_NULL,
  args: list(STRING),
  url: STRING_OR_NULL,
  env: { description: 'the names of the variables given to a stdio server (never their values)', ...list(STRING) },
  headers: { description: 'the names of the headers sent to a remote server (never their values)', ...list(STRING) },
  proto: STRING_OR_NULL,
  start_timeout_ms: { type: 'integer' },
  max_sessions: { type: 'integer', description: '0: no limit' },
  state: { type: ['string', 'null'], description: 'starting | up | down; null when this process runs no agents (a worker connects the servers)' },
  pid: NULLABLE_INT,
  restarts: NULLABLE_INT,
  protocol_version: STRING_OR_NULL,
  tools: list(STRING),
  error: STRING_OR_NULL,
});

function mcpDto(server: McpServerConfig, status: McpServerStatus | undefined) {
  return {
    id: server.id,
    transport: server.transport,
    command: server.command ?? null,
    args: server.args,
    url: server.url ?? null,
    env: Object.keys(server.env),
    headers: Object.keys(server.headers),
    proto: server.proto ?? null,
    start_timeout_ms: server.startTimeoutMs,
    max_sessions: server.maxSessions,
    state: status?.state ?? null,
    pid: status?.pid ?? null,
    restarts: status?.restarts ?? null,
    protocol_version: status?.protocolVersion ?? null,
    tools: status?.tools ?? [],
    error: status?.error ?? null,
  };
}

/** GET /mcps and /mcps/:mcp_id: the project's MCP servers as declared, with what this process's connection to each is doing. */
export function mcpRoutes(project: ProjectConfig, servers: McpServers | undefined) {
  return async (app: FastifyInstance) => {
    const declared = projectMcpServers(project);
    const status = (id: string) => servers?.status().find((s) => s.id === id);
    app.get('/mcps', { schema: route({ summary: "The project's MCP servers and their state", tags: ['resources'], response: { 200: ok('mcps', object({ mcps: list(MCP_SCHEMA) })) } }) }, async () => ({
      status: 200,
      message: 'mcps',
      data: { mcps: declared.map((server) => mcpDto(server, status(server.id))) },
    }));
    app.get<{ Params: { mcp_id: string } }>(
      '/mcps/:mcp_id',
      { schema: route({ summary: 'One MCP server and its state', tags: ['resources'], params: params({ mcp_id: STRING }), response: { 200: ok('mcp', MCP_SCHEMA), ...errors({ 404: 'MCP_NOT_FOUND' }) } }) },
      async (request) => {
        const server = declared.find((s) => s.id === request.params.mcp_id);
        if (!server) throw new CompozyError('MCP_NOT_FOUND', `The project has no MCP server "${request.params.mcp_id}".`, { hint: `Known MCP servers: ${declared.map((s) => s.id).join(', ') || 'none'}.` });
        return { status: 200, message: 'mcp', data: mcpDto(server, status(server.id)) };
      },
    );
  };
}
