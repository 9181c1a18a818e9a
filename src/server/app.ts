import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { CompozyError, httpStatusFor } from '../errors.js';
import type { EngineClient } from '../engine/client.js';
import type { EventBus } from '../engine/events.js';
import type { HealthReport } from '../health.js';
import type { ExecutionStore } from '../store/store.js';
import { edgeServerOptions, envelope, frameworkErrorEnvelope, registerJsonBody } from './http-edge.js';
import { registerSecurity, type SecurityOptions } from './auth/security.js';
import { registerOpenApi } from './openapi.js';
import { executionRoutes } from './routes/executions.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { registerValidation } from './routes/schemas.js';
import { workflowRoutes } from './routes/workflows.js';
import { memoryRoutes } from './routes/memory.js';
import { directRoutes } from './routes/direct.js';
import { resourceRoutes } from './routes/resources.js';
import type { ProjectConfig } from '../config/types.js';
import type { MemoryManager } from '../memory/service.js';
import type { Kv } from '../kv/kv.js';
import { webhookRoutes } from '../triggers/webhooks.js';
import { hookRoutes } from './routes/hooks.js';
import { registerDashboard } from './dashboard.js';
import { streamRoutes } from './routes/streams.js';
import type { StreamHub } from './streams/hub.js';
import { mcpRoutes } from './routes/mcps.js';
import type { McpServers } from '../mcp/servers.js';
import { scheduleRoutes } from './routes/schedules.js';
import type { Schedules } from '../triggers/schedules.js';

export interface AppDeps {
  health(): Promise<HealthReport>;
  /** Undefined when ready; otherwise why not (e.g. "worker not polling yet"). */
  notReadyReason(): string | undefined;
  /** The execution API; absent, only health endpoints are served. */
  engine?: { client: EngineClient; store: ExecutionStore; events: EventBus };
  /** With an engine, the SSE routes stream executions through it (each execution's log on the KV). */
  streams?: StreamHub;
  /** The project's memories: the memory API (/api/v0/memory/:memory_ref/…) is served when given. */
  memory?: MemoryManager;
  /** The loaded project: with an engine, the direct executions and the read-only resource routes are served. */
  project?: ProjectConfig;
  /** Who answers /readyz: this process and the nonce of the supervisor that started it, so it can tell its own server from another. */
  identity?: { pid: number; nonce?: string };
  /** With an engine and a project, the project's webhook triggers are served at /api/v0/hooks/:slug. */
  webhooks?: { kv: Kv; env: NodeJS.ProcessEnv; now?: () => number };
  /** The project's MCP servers as this process runs them (GET /api/v0/mcps shows their state); absent, only their declarations. */
  mcp?: McpServers;
  /** The project's workflow schedules: /api/v0/schedules is served when given. */
  schedules?: Schedules;
  /** API keys and rate limits; absent, neither is checked (tests of the bare routes). */
  security?: SecurityOptions;
  /** Serve the dev dashboard (dist/web) at /: `compozy dev`, `serve --dashboard`, `start --dashboard`. */
  dashboard?: boolean;
  /** serve's log: every 5xx answer is written there with its cause. */
  log?: (line: string) => void;
}

/** The error and its chain of causes, one line (the answer's own code is already in the log line). */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth++) {
    parts.push(current instanceof Error ? `${depth > 0 && current instanceof CompozyError ? `${current.code} ` : ''}${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' <- caused by: ');
}

/**
 * The HTTP API. Every error leaves in the reference envelope, never as a stack trace. Each route group
 * is one plugin declaring its schemas (routes/schemas.ts), which validate requests and generate
 * /openapi.json.
 */
export function buildApp(deps: AppDeps, options: { serverFactory?: FastifyServerFactory } = {}): FastifyInstance {
  // With a serverFactory (an HttpFront) the app answers on a socket it does not own.
  const app = Fastify({ logger: false, ...edgeServerOptions(), ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}) });
  registerJsonBody(app);
  registerValidation(app);
  registerOpenApi(app);
  if (deps.security) registerSecurity(app, deps.security, deps.log);

  app.setErrorHandler((error: Error, request, reply) => {
    const body = error instanceof CompozyError ? envelope(httpStatusFor(error), error.code, error.message, { ...error.details, ...(error.hint ? { hint: error.hint } : {}) }) : frameworkErrorEnvelope(error, request);
    if (body.status >= 500) deps.log?.(`${request.method} ${request.url} -> ${body.status} ${body.error.code}: ${causeChain(error)}`);
    void reply.status(body.status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ status: 404, error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}`, details: {} } });
  });

  const engineClient = deps.engine?.client;
  const schedules = deps.schedules;
  void app.register(
    healthRoutes({
      health: deps.health, notReadyReason: deps.notReadyReason, ...(engineClient ? { engine: engineClient } : {}), ...(deps.identity ? { identity: deps.identity } : {}),
      ...(schedules && schedules.declaredCount > 0 ? { schedules: () => ({ ...schedules.reconcileStatus() }) } : {}),
    }),
  );
  void app.register(metricsRoute({ health: deps.health, ...(engineClient ? { queue: () => engineClient.queue() } : {}) }));
  if (deps.engine) {
    void app.register(workflowRoutes(deps.engine.client, deps.engine.events), { prefix: '/api/v0' });
    void app.register(executionRoutes(deps.engine.client, deps.engine.store), { prefix: '/api/v0' });
    if (deps.streams) void app.register(streamRoutes(deps.engine.client, deps.streams, deps.log), { prefix: '/api/v0' });
    if (deps.project) {
      void app.register(directRoutes(deps.engine.client, deps.engine.store, deps.project), { prefix: '/api/v0' });
      void app.register(resourceRoutes(deps.engine.client, deps.project), { prefix: '/api/v0' });
      void app.register(mcpRoutes(deps.project, deps.mcp), { prefix: '/api/v0' });
      if (deps.webhooks) void app.register(hookRoutes({ engine: deps.engine.client, routes: webhookRoutes(deps.project), ...deps.webhooks }), { prefix: '/api/v0' });
    }
  }
  if (deps.memory) void app.register(memoryRoutes(deps.memory), { prefix: '/api/v0' });
  if (deps.dashboard) registerDashboard(app);
  if (deps.schedules) void app.register(scheduleRoutes(deps.schedules), { prefix: '/api/v0' });
  return app;
}
