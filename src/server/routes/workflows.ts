import type { FastifyInstance, FastifyReply } from 'fastify';
import { RETRY_AFTER_SECONDS, type EngineClient } from '../../engine/client.js';
import type { EventBus } from '../../engine/events.js';
import { CompozyError } from '../../errors.js';
import { envelope } from '../http-edge.js';
import { workflowDto } from './dto.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Runs a start subject to the admission limit; over it, answers 429 OVERLOADED with Retry-After. */
async function admitted(reply: FastifyReply, start: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await start();
  } catch (error) {
    if (!(error instanceof CompozyError) || error.code !== 'OVERLOADED') throw error;
    return reply
      .status(429)
      .header('retry-after', String(RETRY_AFTER_SECONDS))
      .send(envelope(429, error.code, error.message, { ...error.details, ...(error.hint ? { hint: error.hint } : {}) }));
  }
}

/** Workflow definitions, starting executions, and events for signal triggers. */
export function workflowRoutes(engine: EngineClient, events: EventBus) {
  return async (app: FastifyInstance) => {
    app.get('/workflows', async () => ({ status: 200, message: 'workflows', data: { workflows: engine.workflows().map(workflowDto) } }));

    app.get<{ Params: { workflowId: string } }>('/workflows/:workflowId', async (request) => ({
      status: 200,
      message: 'workflow',
      data: workflowDto(engine.workflow(request.params.workflowId)),
    }));

    app.post<{ Params: { workflowId: string } }>('/workflows/:workflowId/executions', async (request, reply) => {
      engine.workflow(request.params.workflowId);
      const body = request.body ?? {};
      if (!isObject(body)) throw new CompozyError('INPUT_INVALID', 'The request body must be a JSON object: {"input": {...}, "task_id"?: "..."}.');
      if (body.input !== undefined && !isObject(body.input)) throw new CompozyError('INPUT_INVALID', '"input" must be a JSON object.');
      if (body.task_id !== undefined && typeof body.task_id !== 'string') throw new CompozyError('INPUT_INVALID', '"task_id" must be a string.');
      return admitted(reply, async () => {
        const started = await engine.start(request.params.workflowId, body.input ?? {}, { admit: true, ...(body.task_id === undefined ? {} : { startTaskId: body.task_id as string }) });
        const execUrl = `/api/v0/executions/workflows/${started.execId}`;
        return reply
          .status(202)
          .header('location', execUrl)
          .send({ status: 202, message: 'workflow triggered successfully', data: { exec_id: started.execId, exec_url: execUrl, workflow_id: started.workflowId } });
      });
    });

    app.post('/events', async (request, reply) => {
      const body = request.body;
      if (!isObject(body) || typeof body.name !== 'string' || body.name === '') throw new CompozyError('INPUT_INVALID', 'The body needs "name" (a signal name) and may carry "payload".');
      const name = body.name;
      return admitted(reply, async () => {
        (await engine.admit())();
        const eventId = await events.publish(name, body.payload ?? {}, { api: true });
        return reply.status(202).send({ status: 202, message: 'event received', data: { event_id: eventId } });
      });
    });
  };
}
