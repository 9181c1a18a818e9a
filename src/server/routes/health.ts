import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import type { HealthReport } from '../../health.js';
import { INTEGER, list, object, ok, route, STRING } from './schemas.js';

export interface HealthSources {
  health(): Promise<HealthReport>;
  /** Undefined when ready; otherwise why not (e.g. "worker not polling yet"). */
  notReadyReason(): string | undefined;
  /** Absent when the process serves no execution API. */
  engine?: EngineClient;
  identity?: { pid: number; nonce?: string };
  /** Where the reconciliation of the project's schedules stands (reference: health's `schedules`), when this process reconciles them. */
  schedules?: () => Record<string, unknown> | undefined;
}

const STATE = { type: 'string', enum: ['up', 'starting', 'degraded', 'down'] };

const HEALTH_DATA = object({
  mode: STRING,
  project: STRING,
  status: STATE,
  components: list(object({ name: STRING, backend: STRING, state: STATE, address: STRING, path: STRING, pid: INTEGER, restarts: INTEGER, lastExitCode: { type: ['integer', 'null'] }, detail: STRING })),
  queue: object({ pending: INTEGER, running: INTEGER, paused: INTEGER, limit: { type: ['integer', 'null'] }, admitted: INTEGER, rejected: INTEGER }),
  schedules: object({ state: { type: 'string', enum: ['starting', 'reconciling', 'reconciled', 'owned-elsewhere', 'failed'] }, declared: INTEGER, created: INTEGER, updated: INTEGER, deleted: INTEGER, unchanged: INTEGER, reconciled_at: STRING, error: STRING }),
});

const READY = object({ status: STRING, reason: STRING, pid: INTEGER, nonce: STRING });

/** Liveness, readiness (with who answers) and the health of every component. */
export function healthRoutes(sources: HealthSources) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', { schema: route({ summary: 'Liveness: the process answers', tags: ['health'], response: { 200: { description: 'alive', ...object({ status: STRING }) } } }) }, async () => ({ status: 'ok' }));

    const readySchema = route({
      summary: 'Readiness: the API can start executions',
      tags: ['health'],
      response: { 200: { description: 'ready', ...READY }, 503: { description: 'not ready, with why', ...READY } },
    });
    app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
      const reason = sources.notReadyReason();
      if (reason) return reply.status(503).send({ status: 'not-ready', reason, ...sources.identity });
      return { status: 'ready', ...sources.identity };
    });

    const healthSchema = route({
      summary: 'The health of every component, and the execution queue',
      tags: ['health'],
      response: { 200: ok('every component is up', HEALTH_DATA), 503: ok('a component is starting, degraded or down', HEALTH_DATA) },
    });
    app.get('/api/v0/health', { schema: healthSchema }, async (_request, reply) => {
      const report = await sources.health();
      // A store that cannot count (locked, gone) already shows in the store row; the queue is then left out.
      const queue = sources.engine ? await sources.engine.queue().catch(() => undefined) : undefined;
      const schedules = sources.schedules?.();
      return reply.status(report.status === 'up' ? 200 : 503).send({ status: report.status === 'up' ? 200 : 503, message: `platform is ${report.status}`, data: { ...report, ...(queue ? { queue } : {}), ...(schedules ? { schedules } : {}) } });
    });
  };
}
