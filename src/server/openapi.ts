/** The HTTP API described as OpenAPI 3.1, served at GET /openapi.json. */

const envelope = (data: Record<string, unknown>) => ({
  type: 'object',
  properties: { status: { type: 'integer' }, message: { type: 'string' }, data },
  required: ['status', 'data'],
});

const errorEnvelope = {
  type: 'object',
  properties: {
    status: { type: 'integer' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } }, required: ['code', 'message'] },
  },
  required: ['status', 'error'],
};

const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });
const ok = (description: string, data: Record<string, unknown> = { type: 'object' }) => ({ description, ...json(envelope(data)) });
const fail = (description: string) => ({ description, ...json(errorEnvelope) });
const execIdParam = { name: 'exec_id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9A-Za-z]{27}$' } };
const workflowIdParam = { name: 'workflow_id', in: 'path', required: true, schema: { type: 'string' } };
const steer = (what: string) => ({
  post: { summary: what, parameters: [execIdParam], responses: { 202: ok(`${what} requested`), 404: fail('unknown execution'), 409: fail('the execution has ended') } },
});

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'compozy API', version: '0' },
  paths: {
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'the process runs' } } } },
    '/readyz': { get: { summary: 'Readiness', responses: { 200: { description: 'the worker polls' }, 503: { description: 'not ready, with the reason' } } } },
    '/api/v0/health': { get: { summary: 'Health of every component and the execution queue', responses: { 200: ok('all up'), 503: ok('some component is not up') } } },
    '/metrics': { get: { summary: 'Component health and the execution queue in Prometheus text format', responses: { 200: { description: 'text/plain; version=0.0.4' } } } },
    '/api/v0/workflows': { get: { summary: 'Workflow definitions', responses: { 200: ok('the workflows', { type: 'object', properties: { workflows: { type: 'array' } } }) } } },
    '/api/v0/workflows/{workflow_id}': { get: { summary: 'One workflow definition', parameters: [workflowIdParam], responses: { 200: ok('the workflow'), 404: fail('unknown workflow') } } },
    '/api/v0/workflows/{workflow_id}/executions': {
      post: {
        summary: 'Start an execution',
        parameters: [workflowIdParam],
        requestBody: json({ type: 'object', properties: { input: { type: 'object' }, task_id: { type: 'string' } } }),
        responses: {
          202: ok('started; Location names the execution', { type: 'object', properties: { exec_id: { type: 'string' }, exec_url: { type: 'string' }, workflow_id: { type: 'string' } } }),
          400: fail('malformed body or input that does not match config.input (every error in details.errors)'),
          404: fail('unknown workflow'),
          413: fail('body over 1 MiB'),
          429: fail('OVERLOADED: limits.max_active_executions executions are pending or running; Retry-After says when to retry'),
          503: fail('WORKER_UNAVAILABLE: no worker polls the task queue'),
        },
      },
    },
    '/api/v0/executions/workflows': {
      get: {
        summary: 'Executions, newest first',
        parameters: ['workflow_id', 'status', 'limit', 'cursor'].map((name) => ({ name, in: 'query', required: false, schema: { type: name === 'limit' ? 'integer' : 'string' } })),
        responses: { 200: ok('a page of executions'), 400: fail('bad filter') },
      },
    },
    '/api/v0/executions/workflows/{exec_id}': {
      get: { summary: 'Execution state with its tasks', parameters: [execIdParam], responses: { 200: ok('the state'), 400: fail('not a KSUID'), 404: fail('unknown execution') } },
    },
    '/api/v0/executions/workflows/{exec_id}/signals': {
      post: {
        summary: 'Send a signal (wait tasks)',
        parameters: [execIdParam],
        requestBody: json({ type: 'object', properties: { signal_name: { type: 'string' }, payload: {} }, required: ['signal_name'] }),
        responses: { 200: ok('sent'), 400: fail('no signal_name'), 404: fail('unknown execution'), 409: fail('the execution has ended') },
      },
    },
    '/api/v0/events': {
      post: {
        summary: 'Publish an event; the workflow whose signal trigger has that name starts with the payload as input',
        requestBody: json({ type: 'object', properties: { name: { type: 'string' }, payload: {} }, required: ['name'] }),
        responses: { 202: ok('queued', { type: 'object', properties: { event_id: { type: 'string' } } }), 400: fail('no name, or a payload that breaks the trigger schema'), 404: fail('TRIGGER_NOT_FOUND'), 429: fail('OVERLOADED, as for starts') },
      },
    },
    '/api/v0/executions/workflows/{exec_id}/cancel': steer('Cancel'),
    '/api/v0/executions/workflows/{exec_id}/pause': steer('Pause before the next task'),
    '/api/v0/executions/workflows/{exec_id}/resume': steer('Resume'),
  },
} as const;
