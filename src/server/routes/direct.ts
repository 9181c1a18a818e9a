import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ProjectConfig } from '../../config/types.js';
import type { EngineClient } from '../../engine/client.js';
import type { WorkflowDef } from '../../engine/definition.js';
import { CompozyError } from '../../errors.js';
import type { ExecutionStore, WorkflowExecutionWithTasks } from '../../store/store.js';
import { EXECUTION_WITH_TASKS_SCHEMA, executionWithTasksDto, STATUS } from './dto.js';
import { agentDefinition, DEFAULT_TIMEOUT_S, directKindOf, ExecutableTasks, MAX_TIMEOUT_S, toolDefinition, type DirectKind } from './direct-defs.js';
import { EXECUTION_PAGE_SCHEMA, executionPage, LIST_QUERY, type ListQuery } from './executions.js';
import { ANY, body, errors, EXEC_ID, object, ok, params, query, route, STRING, STRING_OR_NULL, type JsonSchema } from './schemas.js';
import { admitted, OVERLOADED } from './workflows.js';

const TIMEOUT: JsonSchema = {
  type: 'integer',
  minimum: 0,
  maximum: MAX_TIMEOUT_S,
  description: `seconds: how long /sync waits for the end (${DEFAULT_TIMEOUT_S} when absent or 0, at most ${MAX_TIMEOUT_S}); for an agent also the call's own timeout, for a tool the call's when given (else the tool's timeout:)`,
};
const WITH: JsonSchema = { type: 'object', description: 'the input of the agent, tool or task' };

/** Reference §8.4's task-exec status DTO: one direct execution, read from its execution and its top-level task state. */
const DIRECT_STATUS_SCHEMA = object({
  exec_id: STRING,
  status: STATUS,
  component: { type: 'string', enum: ['agent', 'task', 'tool'] },
  task_id: STRING,
  task_exec_id: STRING_OR_NULL,
  workflow_id: STRING,
  workflow_exec_id: STRING,
  output: ANY,
  error: { description: '{code, message, …} when it failed, else null', ...ANY },
  usage: ANY,
  created_at: STRING,
  updated_at: STRING,
});

function directStatusDto(kind: DirectKind, execution: WorkflowExecutionWithTasks) {
  const state = execution.taskStates.find((s) => s.parentStateId === null);
  const { workflowId } = execution;
  return {
    exec_id: execution.workflowExecId,
    status: execution.status,
    component: state?.component ?? (kind === 'task' ? 'task' : kind),
    task_id: state?.taskId ?? (kind === 'task' ? workflowId.slice('task:'.length) : workflowId),
    task_exec_id: state?.taskExecId ?? null,
    workflow_id: workflowId,
    workflow_exec_id: execution.workflowExecId,
    output: state?.output ?? null,
    error: state?.error ?? execution.error,
    usage: state?.usage ?? execution.usage,
    created_at: execution.createdAt,
    updated_at: execution.updatedAt,
  };
}

/** Reference §8.2: 408 REQUEST_TIMEOUT with the state so far in data; the execution keeps running. */
function timedOut(reply: FastifyReply, timeoutS: number, statusUrl: string, data: Record<string, unknown>): FastifyReply {
  return reply.status(408).send({
    status: 408,
    message: 'execution timeout',
    data,
    error: { code: 'REQUEST_TIMEOUT', message: `The execution did not end within ${timeoutS} s; it keeps running.`, details: { exec_id: data.exec_id, hint: `Poll GET ${statusUrl}, or send a larger timeout (at most ${MAX_TIMEOUT_S}).` } },
  });
}

const seconds = (timeout: number | undefined) => (timeout === undefined || timeout === 0 ? DEFAULT_TIMEOUT_S : timeout);

const STARTED = (kind: DirectKind) => ok(`started; the Location header names /api/v0/executions/${kind}s/<exec_id>`, object({ exec_id: STRING, exec_url: STRING }));
const SYNC_DONE = ok('ended with SUCCESS', object({ exec_id: STRING, output: ANY, state: DIRECT_STATUS_SCHEMA }));
const START_ERRORS = (notFound: string) =>
  errors({
    400: 'a malformed body (every error in details.errors); CONFIG_INVALID when a workflow has the id the execution would be recorded under (agent:<id>, task:<id>, tool:<id>)',
    404: notFound,
    ...OVERLOADED,
    503: 'WORKER_UNAVAILABLE: no worker polls the task queue',
  });
const SYNC_ERRORS = (notFound: string) => ({
  ...START_ERRORS(notFound),
  ...errors({ 408: 'REQUEST_TIMEOUT: not ended within timeout; data holds exec_id and the state so far', 500: 'the execution FAILED, TIMED_OUT or was CANCELED: the error is the task\'s own (its code), data holds exec_id and the state' }),
});

interface DirectSpec<B> {
  kind: DirectKind;
  param: string;
  body: JsonSchema;
  notFound: string;
  define(id: string, body: B, timeoutS: number): WorkflowDef;
}

/**
 * Workflow sync executions and per-workflow lists (§8.3), direct agent, task and tool executions and
 * their status (§8.4). A direct execution is compiled into a one-task definition (direct-defs.ts) and
 * started through Temporal like a workflow, so it is stored, listed, steered and survives a restart.
 */
export function directRoutes(engine: EngineClient, store: ExecutionStore, project: ProjectConfig) {
  const tasks = new ExecutableTasks(engine, project);
  return async (app: FastifyInstance) => {
    const syncSchema = route({
      summary: 'Run a workflow and wait for its end',
      tags: ['workflows'],
      params: params({ workflow_id: STRING }),
      body: body({ input: { type: 'object', description: 'checked against the workflow\'s input schema; {} when absent' }, task_id: { type: 'string', description: 'the task to start from' }, timeout: { ...TIMEOUT, description: `seconds to wait for the end (${DEFAULT_TIMEOUT_S} when absent or 0, at most ${MAX_TIMEOUT_S})` } }),
      response: {
        200: ok('ended (any final status)', object({ workflow: EXECUTION_WITH_TASKS_SCHEMA, output: ANY, exec_id: STRING })),
        ...errors({
          400: 'a malformed body, or input that does not match the workflow\'s input schema',
          404: 'WORKFLOW_NOT_FOUND',
          408: 'REQUEST_TIMEOUT: not ended within timeout; data holds exec_id and the workflow state so far',
          ...OVERLOADED,
          503: 'WORKER_UNAVAILABLE: no worker polls the task queue',
        }),
      },
    });
    app.post<{ Params: { workflow_id: string }; Body: { input?: Record<string, unknown>; task_id?: string; timeout?: number } | undefined }>('/workflows/:workflow_id/executions/sync', { schema: syncSchema }, async (request, reply) => {
      const { input, task_id: taskId, timeout } = request.body ?? {};
      const timeoutS = seconds(timeout);
      return admitted(reply, async () => {
        const { execId } = await engine.start(request.params.workflow_id, input ?? {}, { admit: true, ...(taskId === undefined ? {} : { startTaskId: taskId }) });
        const { ended, execution } = await engine.waitForEnd(execId, timeoutS * 1000);
        const workflow = executionWithTasksDto(execution);
        if (!ended) return timedOut(reply, timeoutS, `/api/v0/executions/workflows/${execId}`, { exec_id: execId, workflow });
        return reply.send({ status: 200, message: 'workflow execution completed', data: { workflow, output: execution.output, exec_id: execId } });
      });
    });

    const listSchema = route({
      summary: 'Executions of one workflow, newest first',
      tags: ['workflows'],
      params: params({ workflow_id: STRING }),
      querystring: query(LIST_QUERY),
      response: { 200: ok('a page of executions', EXECUTION_PAGE_SCHEMA), ...errors({ 400: 'a bad filter or a cursor the server never returned', 404: 'WORKFLOW_NOT_FOUND' }) },
    });
    app.get<{ Params: { workflow_id: string }; Querystring: Omit<ListQuery, 'workflow_id'> }>('/workflows/:workflow_id/executions', { schema: listSchema }, async (request) => {
      engine.workflow(request.params.workflow_id);
      return { status: 200, message: 'executions', data: await executionPage(store, { ...request.query, workflow_id: request.params.workflow_id }) };
    });

    type AgentBody = { action?: string; prompt?: string; with?: Record<string, unknown>; timeout?: number };
    type TaskBody = { with?: Record<string, unknown>; timeout?: number; workflow_id?: string };
    type ToolBody = { with?: Record<string, unknown>; timeout?: number };
    const agent: DirectSpec<AgentBody> = {
      kind: 'agent',
      param: 'agent_id',
      body: body({ action: { type: 'string', minLength: 1, description: 'one of the agent\'s actions' }, prompt: { type: 'string', minLength: 1, description: 'a prompt instead of an action' }, with: WITH, timeout: TIMEOUT }),
      notFound: 'AGENT_NOT_FOUND',
      define: (id, b, timeoutS) => agentDefinition(engine, project, id, { ...b, timeoutS }),
    };
    const task: DirectSpec<TaskBody> = {
      kind: 'task',
      param: 'task_id',
      body: body({ with: { ...WITH, description: 'merged over the task\'s own with:' }, timeout: TIMEOUT, workflow_id: { type: 'string', description: 'run this workflow\'s task of that id (not a task resource)' } }),
      notFound: 'TASK_NOT_FOUND: no task resource or workflow task has the id (409 TASK_AMBIGUOUS when several workflows define it and workflow_id does not say which)',
      define: (id, b) => tasks.definition(id, { ...(b.with ? { with: b.with } : {}), ...(b.workflow_id !== undefined ? { workflowId: b.workflow_id } : {}) }),
    };
    const tool: DirectSpec<ToolBody> = {
      kind: 'tool',
      param: 'tool_id',
      body: body({ with: WITH, timeout: TIMEOUT }),
      notFound: 'TOOL_NOT_FOUND',
      define: (id, b, timeoutS) => toolDefinition(engine, project, id, { ...(b.with ? { with: b.with } : {}), ...(b.timeout ? { timeoutS } : {}) }),
    };

    for (const spec of [agent, task, tool] as DirectSpec<Record<string, unknown> & { timeout?: number }>[]) {
      const { kind } = spec;
      const pathParams = params({ [spec.param]: STRING });
      const start = async (id: string, b: Record<string, unknown> & { timeout?: number; with?: Record<string, unknown> }) => {
        const timeoutS = seconds(b.timeout);
        const def = spec.define(id, b, timeoutS);
        if (engine.project.workflows.has(def.id)) {
          throw new CompozyError('CONFIG_INVALID', `The project has a workflow with the id "${def.id}", the workflow_id a direct ${kind} execution is recorded under, so the two could not be told apart.`, { hint: 'Rename that workflow.' });
        }
        return { timeoutS, started: await engine.startDefinition(def, b.with ?? {}, { admit: true }) };
      };
      app.post<{ Params: Record<string, string>; Body: Record<string, unknown> | undefined }>(
        `/${kind}s/:${spec.param}/executions`,
        { schema: route({ summary: `Start a direct ${kind} execution`, tags: [`${kind}s`], params: pathParams, body: spec.body, response: { 202: STARTED(kind), ...START_ERRORS(spec.notFound) } }) },
        async (request, reply) =>
          admitted(reply, async () => {
            const { started } = await start(String(request.params[spec.param]), request.body ?? {});
            const execUrl = `/api/v0/executions/${kind}s/${started.execId}`;
            return reply.status(202).header('location', execUrl).send({ status: 202, message: `${kind} execution started`, data: { exec_id: started.execId, exec_url: execUrl } });
          }),
      );
      app.post<{ Params: Record<string, string>; Body: Record<string, unknown> | undefined }>(
        `/${kind}s/:${spec.param}/executions/sync`,
        { schema: route({ summary: `Run a direct ${kind} execution and wait for its output`, tags: [`${kind}s`], params: pathParams, body: spec.body, response: { 200: SYNC_DONE, ...SYNC_ERRORS(spec.notFound) } }) },
        async (request, reply) =>
          admitted(reply, async () => {
            const { started, timeoutS } = await start(String(request.params[spec.param]), request.body ?? {});
            const { ended, execution } = await engine.waitForEnd(started.execId, timeoutS * 1000);
            const state = directStatusDto(kind, execution);
            if (!ended) return timedOut(reply, timeoutS, `/api/v0/executions/${kind}s/${started.execId}`, { exec_id: started.execId, state });
            if (execution.status !== 'SUCCESS') {
              const error = state.error ?? { code: 'TASK_FAILED', message: `the execution ended ${execution.status}` };
              return reply.status(500).send({ status: 500, message: `${kind} execution failed`, data: { exec_id: started.execId, state }, error: { code: error.code ?? 'TASK_FAILED', message: error.message, details: { exec_id: started.execId, status: execution.status, ...error.details } } });
            }
            return reply.send({ status: 200, message: `${kind} executed`, data: { exec_id: started.execId, output: state.output, state } });
          }),
      );
      app.get<{ Params: { exec_id: string } }>(
        `/executions/${kind}s/:exec_id`,
        { schema: route({ summary: `A direct ${kind} execution's status`, tags: ['executions'], params: params({ exec_id: EXEC_ID }), response: { 200: ok('the status', DIRECT_STATUS_SCHEMA), ...errors({ 400: 'INVALID_EXEC_ID: not a KSUID', 404: `EXECUTION_NOT_FOUND: unknown, or not a direct ${kind} execution` }) } }) },
        async (request) => {
          const execution = await engine.execution(request.params.exec_id);
          if (directKindOf(execution.workflowId) !== kind || engine.project.workflows.has(execution.workflowId)) {
            throw new CompozyError('EXECUTION_NOT_FOUND', `Execution ${request.params.exec_id} is not a direct ${kind} execution (its workflow_id is ${execution.workflowId}).`, { hint: 'Workflow executions are at GET /api/v0/executions/workflows/<exec_id>.' });
          }
          return { status: 200, message: 'execution status retrieved', data: directStatusDto(kind, execution) };
        },
      );
    }
  };
}
