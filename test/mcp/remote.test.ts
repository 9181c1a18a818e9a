import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectMcpServers } from '../../src/config/mcp-servers.js';
import { loadValidProject } from '../../src/config/valid-project.js';
import { McpServers } from '../../src/mcp/servers.js';
import { writeFiles } from '../helpers/files.js';
import { fixtureServer } from '../fixtures/mcp/tools.mjs';

/** The Authorization header of every tool call the HTTP servers received. */
const authorizations: Array<string | undefined> = [];
const onCall = (_request: unknown, extra: { requestInfo?: { headers: Record<string, string | string[] | undefined> } }) => {
  const value = extra.requestInfo?.headers.authorization;
  authorizations.push(Array.isArray(value) ? value[0] : value);
};

let http: HttpServer;
let base: string;
const sse = new Map<string, SSEServerTransport>();

/** Streamable HTTP at /mcp (stateless: a server per request) and SSE at /sse + /messages, both serving the fixture tools. */
async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', base);
  if (url.pathname === '/mcp') {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const server = fixtureServer(onCall);
    response.on('close', () => void transport.close().then(() => server.close()));
    await server.connect(transport);
    await transport.handleRequest(request, response);
  } else if (url.pathname === '/sse') {
    const transport = new SSEServerTransport('/messages', response);
    sse.set(transport.sessionId, transport);
    response.on('close', () => sse.delete(transport.sessionId));
    await fixtureServer(onCall).connect(transport);
  } else if (url.pathname === '/messages') {
    const transport = sse.get(url.searchParams.get('sessionId') ?? '');
    if (transport) await transport.handlePostMessage(request, response);
    else response.writeHead(404).end();
  } else response.writeHead(404).end();
}

beforeAll(async () => {
  http = createServer((request, response) => void route(request, response));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

describe('remote MCP servers over the SDK transports', () => {
  it.each([
    ['streamable-http', '/mcp'],
    ['sse', '/sse'],
  ])('%s: connects, lists and calls the tools, with headers rendered from .env on each request', async (transport, path) => {
    const dir = writeFiles({ 'compozy.yaml': `name: remote\nmcps:\n  - id: remote\n    transport: ${transport}\n    url: ${base}${path}\n    headers: { Authorization: "Bearer {{ .env.MCP_KEY }}" }\n` });
    const servers = new McpServers(projectMcpServers(loadValidProject(dir)), { cwd: dir, env: { MCP_KEY: 's3cret' }, callTimeoutMs: 10_000, log: () => undefined });
    try {
      await servers.start();
      expect(servers.status()[0]).toMatchObject({ id: 'remote', transport, state: 'up', tools: ['add', 'echo'], target: `${base}${path}` });
      expect(servers.health()[0]).toMatchObject({ name: 'mcp:remote', backend: transport, state: 'up', address: `${base}${path}`, restarts: 0 });
      authorizations.splice(0);
      expect(await servers.call('remote', 'add', { a: 1, b: 2 })).toBe('3');
      expect(await servers.call('remote', 'echo', { text: 'over http' })).toBe('over http');
      expect(authorizations).toEqual(['Bearer s3cret', 'Bearer s3cret']);
    } finally {
      await servers.close();
    }
  });

  it('a url nothing answers is down after the policy gives up, with the connection error', async () => {
    const dir = writeFiles({ 'compozy.yaml': `name: remote\nmcps:\n  - id: gone\n    transport: streamable-http\n    url: ${base}/nothing-here\n` });
    const servers = new McpServers(projectMcpServers(loadValidProject(dir)), { cwd: dir, env: {}, callTimeoutMs: 10_000, log: () => undefined, restartPolicy: { maxCrashes: 1 } });
    try {
      await servers.start();
      expect(servers.status()[0]).toMatchObject({ state: 'down', error: expect.stringMatching(/^did not start: Streamable HTTP error: Error POSTing to endpoint/) });
    } finally {
      await servers.close();
    }
  });
});
