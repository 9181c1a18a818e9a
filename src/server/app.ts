import Fastify, { type FastifyInstance } from 'fastify';
import { CompozyError, httpStatusFor } from '../errors.js';
import type { EngineClient } from '../engine/client.js';
import type { EventBus } from '../engine/events.js';
import type { HealthReport } from '../health.js';
import type { ExecutionStore } from '../store/store.js';
import { edgeServerOptions, envelope, frameworkErrorEnvelope, registerJsonBody } from './http-edge.js';
import { OPENAPI } from './openapi.js';
import { executionRoutes } from './routes/executions.js';
import { metricsRoute } from './routes/metrics.js';
import { workflowRoutes } from './routes/workflows.js';

export interface AppDeps {
  health(): Promise<HealthReport>;
  /** Undefined when ready; otherwise why not (e.g. "worker not polling yet"). */
  notReadyReason(): string | undefined;
  /** The execution API; absent, only health endpoints are served. */
  engine?: { client: EngineClient; store: ExecutionStore; events: EventBus };
  /** Who answers /readyz: this process and the nonce of the supervisor that started it, so it can tell its own server from another. */
  identity?: { pid: number; nonce?: string };
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

/** The HTTP API. Every error leaves in the reference envelope, never as a stack trace. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false, ...edgeServerOptions() });
  registerJsonBody(app);

  app.setErrorHandler((error: Error, request, reply) => {
    const body = error instanceof CompozyError ? envelope(httpStatusFor(error), error.code, error.message, { ...error.details, ...(error.hint ? { hint: error.hint } : {}) }) : frameworkErrorEnvelope(error, request);
    if (body.status >= 500) deps.log?.(`${request.method} ${request.url} -> ${body.status} ${body.error.code}: ${causeChain(error)}`);
    void reply.status(body.status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ status: 404, error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}`, details: {} } });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => OPENAPI);
  app.get('/readyz', async (_request, reply) => {
    const reason = deps.notReadyReason();
    if (reason) return reply.status(503).send({ status: 'not-ready', reason, ...deps.identity });
    return { status: 'ready', ...deps.identity };
  });
  app.get('/api/v0/health', async (_request, reply) => {
    const report = await deps.health();
    // A store that cannot count (locked, gone) already shows in the store row; the queue is then left out.
    const queue = deps.engine ? await deps.engine.client.queue().catch(() => undefined) : undefined;
    return reply.status(report.status === 'up' ? 200 : 503).send({ status: report.status === 'up' ? 200 : 503, message: `platform is ${report.status}`, data: { ...report, ...(queue ? { queue } : {}) } });
  });
  const engineClient = deps.engine?.client;
  void app.register(metricsRoute({ health: deps.health, ...(engineClient ? { queue: () => engineClient.queue() } : {}) }));
  if (deps.engine) {
    void app.register(workflowRoutes(deps.engine.client, deps.engine.events), { prefix: '/api/v0' });
    void app.register(executionRoutes(deps.engine.client, deps.engine.store), { prefix: '/api/v0' });
  }
  return app;
}
