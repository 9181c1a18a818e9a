import type { FastifyInstance, FastifyReply } from 'fastify';
import { RETRY_AFTER_SECONDS, type EngineClient } from '../../engine/client.js';
import type { EventBus } from '../../engine/events.js';
import { CompozyError } from '../../errors.js';
import { envelope } from '../http-edge.js';
import { WORKFLOW_SCHEMA, workflowDto } from './dto.js';
import { ANY, body, errors, list, object, ok, params, route, STRING } from './schemas.js';

const WORKFLOW_PARAMS = params({ workflow_id: STRING });

/** The 429 of an admission limit, with the Retry-After header it sends. */
export const OVERLOADED = { 429: `OVERLOADED: limits.max_active_executions executions are pending or running; Retry-After (${RETRY_AFTER_SECONDS} s) says when to retry` };

/** Runs a start subject to the admission limit; over it, answers 429 OVERLOADED with Retry-After. */
export async function admitted(reply: FastifyReply, start: () => Promise<FastifyReply>): Promise<FastifyReply> {
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
    const listSchema = route({ summary: 'Workflow definitions', tags: ['workflows'], response: { 200: ok('the project\'s workflows', object({ workflows: list(WORKFLOW_SCHEMA) })) } });
    app.get('/workflows', { schema: listSchema }, async () => ({ status: 200, message: 'workflows', data: { workflows: engine.workflows().map(workflowDto) } }));

    const getSchema = route({ summary: 'One workflow definition', tags: ['workflows'], params: WORKFLOW_PARAMS, response: { 200: ok('the workflow', WORKFLOW_SCHEMA), ...errors({ 404: 'WORKFLOW_NOT_FOUND' }) } });
    app.get<{ Params: { workflow_id: string } }>('/workflows/:workflow_id', { schema: getSchema }, async (request) => ({
      status: 200,
      message: 'workflow',
      data: workflowDto(engine.workflow(request.params.workflow_id)),
    }));

    const startSchema = route({
      summary: 'Start an execution',
      tags: ['workflows'],
      params: WORKFLOW_PARAMS,
      body: body({ input: { type: 'object', description: 'checked against the workflow\'s input schema; {} when absent' }, task_id: { type: 'string', description: 'the task to start from' } }),
      response: {
        202: ok('started; the Location header names the execution', object({ exec_id: STRING, exec_url: STRING, workflow_id: STRING })),
        ...errors({
          400: 'a malformed body, or input that does not match the workflow\'s input schema (every error in details.errors)',
          404: 'WORKFLOW_NOT_FOUND',
          413: 'a body over 1 MiB',
          ...OVERLOADED,
          503: 'WORKER_UNAVAILABLE: no worker polls the task queue',
        }),
      },
    });
    app.post<{ Params: { workflow_id: string }; Body: { input?: Record<string, unknown>; task_id?: string } | undefined }>('/workflows/:workflow_id/executions', { schema: startSchema }, async (request, reply) => {
      const { input, task_id: taskId } = request.body ?? {};
      return admitted(reply, async () => {
        const started = await engine.start(request.params.workflow_id, input ?? {}, { admit: true, ...(taskId === undefined ? {} : { startTaskId: taskId }) });
        const execUrl = `/api/v0/executions/workflows/${started.execId}`;
        return reply
          .status(202)
          .header('location', execUrl)
          .send({ status: 202, message: 'workflow triggered successfully', data: { exec_id: started.execId, exec_url: execUrl, workflow_id: started.workflowId } });
      });
    });

    const eventSchema = route({
      summary: 'Publish an event: the workflow whose signal trigger has that name starts with the payload as input',
      tags: ['workflows'],
      body: body({ name: { type: 'string', minLength: 1, description: 'a signal trigger\'s name' }, payload: { description: 'the input of the started workflow; {} when absent', ...ANY } }, ['name']),
      response: {
        202: ok('queued', object({ event_id: STRING })),
        ...errors({ 400: 'no name, or a payload that breaks the trigger\'s schema', 404: 'TRIGGER_NOT_FOUND', ...OVERLOADED }),
      },
    });
    app.post<{ Body: { name: string; payload?: unknown } }>('/events', { schema: eventSchema }, async (request, reply) => {
      const { name, payload } = request.body;
      return admitted(reply, async () => {
        (await engine.admit())();
        const eventId = await events.publish(name, payload ?? {}, { api: true });
        return reply.status(202).send({ status: 202, message: 'event received', data: { event_id: eventId } });
      });
    });
  };
}
