import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import { isTerminal } from '../../engine/progress.js';
import { CompozyError } from '../../errors.js';
import { STATUSES, type ExecutionStore, type Status } from '../../store/store.js';
import { executionDto, executionWithTasksDto } from './dto.js';

interface ListQuery {
  workflow_id?: string;
  status?: string;
  limit?: string;
  cursor?: string;
}

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

/** Workflow executions: state, list, signals, cancel, pause and resume. */
export function executionRoutes(engine: EngineClient, store: ExecutionStore) {
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: ListQuery }>('/executions/workflows', async (request) => {
      const { workflow_id: workflowId, status, limit, cursor } = request.query;
      if (status !== undefined && !STATUSES.includes(status as Status)) throw new CompozyError('INPUT_INVALID', `status must be one of ${STATUSES.join(', ')}.`);
      const parsedLimit = limit === undefined ? undefined : Number(limit);
      if (parsedLimit !== undefined && !(Number.isInteger(parsedLimit) && parsedLimit >= 1 && parsedLimit <= 500)) throw new CompozyError('INPUT_INVALID', 'limit must be an integer from 1 to 500.');
      const page = await store
        .listWorkflowExecutions({
          ...(workflowId ? { workflowId } : {}),
          ...(status ? { status: status as Status } : {}),
          ...(parsedLimit ? { limit: parsedLimit } : {}),
          ...(cursor ? { cursor } : {}),
        })
        .catch((error: unknown) => {
          if (error instanceof CompozyError && error.code === 'STORE_INVALID_ARGUMENT') {
            throw new CompozyError('INPUT_INVALID', error.message, { hint: 'Pass the page.next_cursor of a previous page unchanged, or leave cursor out for the first page.' });
          }
          throw error;
        });
      return { status: 200, message: 'executions', data: { executions: page.items.map(executionDto), page: { limit: parsedLimit ?? 50, next_cursor: page.nextCursor } } };
    });

    app.get<{ Params: { execId: string } }>('/executions/workflows/:execId', async (request) => ({
      status: 200,
      message: 'workflow execution',
      data: executionWithTasksDto(await engine.execution(request.params.execId)),
    }));

    app.post<{ Params: { execId: string } }>('/executions/workflows/:execId/signals', async (request) => {
      const body = request.body as Record<string, unknown> | null;
      const name = body && typeof body === 'object' ? body.signal_name : undefined;
      if (typeof name !== 'string' || name === '') throw new CompozyError('INPUT_INVALID', 'The body needs "signal_name" (a string) and may carry "payload".');
      await requireRunning(engine, request.params.execId, 'signal');
      await engine.signal(request.params.execId, name, body?.payload ?? {});
      return { status: 200, message: 'Signal sent successfully', data: { exec_id: request.params.execId, signal_name: name } };
    });

    for (const [action, verb] of [
      ['cancel', 'cancellation requested'],
      ['pause', 'pause requested: the execution pauses before its next task'],
      ['resume', 'resume requested'],
    ] as const) {
      app.post<{ Params: { execId: string } }>(`/executions/workflows/:execId/${action}`, async (request, reply) => {
        await requireRunning(engine, request.params.execId, action);
        await engine[action](request.params.execId);
        return reply.status(202).send({ status: 202, message: verb, data: { exec_id: request.params.execId } });
      });
    }
  };
}
