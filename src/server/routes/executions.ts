import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import { isTerminal } from '../../engine/progress.js';
import { CompozyError } from '../../errors.js';
import { STATUSES, type ExecutionStore, type Status } from '../../store/store.js';
import { EXECUTION_SCHEMA, EXECUTION_WITH_TASKS_SCHEMA, executionDto, executionWithTasksDto } from './dto.js';
import { ANY, body, errors, EXEC_ID, list, object, ok, params, query, route, STRING, STRING_OR_NULL } from './schemas.js';

export interface ListQuery {
  workflow_id?: string;
  status?: Status;
  limit?: number;
  cursor?: string;
}

const EXEC_PARAMS = params({ exec_id: EXEC_ID });
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

/**
 * An execution the store records as ended refuses signals, cancel, pause and resume with 409: Temporal
 * accepts a cancellation of a closed workflow, and the workflow may still be closing after its final
 * status was written, when a signal would also be accepted and then ignored.
 */
async function requireRunning(engine: EngineClient, execId: string, action: string): Promise<void> {
  const execution = await engine.execution(execId);
  if (isTerminal(execution.status)) {
    throw new CompozyError('EXECUTION_NOT_RUNNING', `Workflow execution ${execId} already ended with ${execution.status}; there is nothing to ${action}.`, {
      hint: `Its final state is at GET /api/v0/executions/workflows/${execId}.`,
    });
  }
}

/** The list query's parameters, also those of GET /workflows/:workflow_id/executions (less workflow_id). */
export const LIST_QUERY = {
  status: { type: 'string', enum: [...STATUSES] },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, description: `page size, ${DEFAULT_PAGE} when absent` },
  cursor: { type: 'string', description: 'page.next_cursor of the previous page' },
};

export const EXECUTION_PAGE_SCHEMA = object({ executions: list(EXECUTION_SCHEMA), page: object({ limit: { type: 'integer' }, next_cursor: STRING_OR_NULL }) });

/** One page of executions, newest first; a cursor the server never returned is 400 INPUT_INVALID. */
export async function executionPage(store: ExecutionStore, { workflow_id: workflowId, status, limit, cursor }: ListQuery) {
  const page = await store
    .listWorkflowExecutions({
      ...(workflowId ? { workflowId } : {}),
      ...(status ? { status } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    })
    .catch((error: unknown) => {
      if (error instanceof CompozyError && error.code === 'STORE_INVALID_ARGUMENT') {
        throw new CompozyError('INPUT_INVALID', error.message, { hint: 'Pass the page.next_cursor of a previous page unchanged, or leave cursor out for the first page.' });
      }
      throw error;
    });
  return { executions: page.items.map(executionDto), page: { limit: limit ?? DEFAULT_PAGE, next_cursor: page.nextCursor } };
}

/** Workflow executions: state, list, signals, cancel, pause and resume. */
export function executionRoutes(engine: EngineClient, store: ExecutionStore) {
  return async (app: FastifyInstance) => {
    const listSchema = route({
      summary: 'Executions, newest first',
      tags: ['executions'],
      querystring: query({ workflow_id: STRING, ...LIST_QUERY }),
      response: {
        200: ok('a page of executions', EXECUTION_PAGE_SCHEMA),
        ...errors({ 400: 'a bad filter or a cursor the server never returned' }),
      },
    });
    app.get<{ Querystring: ListQuery }>('/executions/workflows', { schema: listSchema }, async (request) => ({ status: 200, message: 'executions', data: await executionPage(store, request.query) }));

    const stateSchema = route({
      summary: 'Execution state with its tasks',
      tags: ['executions'],
      params: EXEC_PARAMS,
      response: { 200: ok('the state', EXECUTION_WITH_TASKS_SCHEMA), ...errors({ 400: 'INVALID_EXEC_ID: not a KSUID', 404: 'unknown execution' }) },
    });
    app.get<{ Params: { exec_id: string } }>('/executions/workflows/:exec_id', { schema: stateSchema }, async (request) => ({
      status: 200,
      message: 'workflow execution',
      data: executionWithTasksDto(await engine.execution(request.params.exec_id)),
    }));

    const signalSchema = route({
      summary: 'Send a signal (wait tasks)',
      tags: ['executions'],
      params: EXEC_PARAMS,
      body: body({ signal_name: { type: 'string', minLength: 1 }, payload: { description: 'what the wait task receives as its signal payload; {} when absent', ...ANY } }, ['signal_name']),
      response: {
        200: ok('sent', object({ exec_id: STRING, signal_name: STRING })),
        ...errors({ 400: 'no signal_name, or a bad exec id', 404: 'unknown execution', 409: 'EXECUTION_NOT_RUNNING: the execution has ended' }),
      },
    });
    app.post<{ Params: { exec_id: string }; Body: { signal_name: string; payload?: unknown } }>('/executions/workflows/:exec_id/signals', { schema: signalSchema }, async (request) => {
      const { signal_name: name, payload } = request.body;
      await requireRunning(engine, request.params.exec_id, 'signal');
      await engine.signal(request.params.exec_id, name, payload ?? {});
      return { status: 200, message: 'Signal sent successfully', data: { exec_id: request.params.exec_id, signal_name: name } };
    });

    for (const [action, verb, summary] of [
      ['cancel', 'cancellation requested', 'Cancel'],
      ['pause', 'pause requested: the execution pauses before its next task', 'Pause before the next task'],
      ['resume', 'resume requested', 'Resume a paused execution'],
    ] as const) {
      // No body schema: these take no body, and one sent anyway is ignored as it always was.
      const schema = route({
        summary,
        tags: ['executions'],
        params: EXEC_PARAMS,
        response: { 202: ok(verb, object({ exec_id: STRING })), ...errors({ 400: 'INVALID_EXEC_ID: not a KSUID', 404: 'unknown execution', 409: 'EXECUTION_NOT_RUNNING: the execution has ended' }) },
      });
      app.post<{ Params: { exec_id: string } }>(`/executions/workflows/:exec_id/${action}`, { schema }, async (request, reply) => {
        await requireRunning(engine, request.params.exec_id, action);
        await engine[action](request.params.exec_id);
        return reply.status(202).send({ status: 202, message: verb, data: { exec_id: request.params.exec_id } });
      });
    }
  };
}
