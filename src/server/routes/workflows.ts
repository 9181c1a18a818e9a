import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import { CompozyError } from '../../errors.js';
import { workflowDto } from './dto.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Workflow definitions and starting executions. */
export function workflowRoutes(engine: EngineClient) {
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
      const started = await engine.start(request.params.workflowId, body.input ?? {}, body.task_id as string | undefined);
      const execUrl = `/api/v0/executions/workflows/${started.execId}`;
      return reply
        .status(202)
        .header('location', execUrl)
        .send({ status: 202, message: 'workflow triggered successfully', data: { exec_id: started.execId, exec_url: execUrl, workflow_id: started.workflowId } });
    });
  };
}
