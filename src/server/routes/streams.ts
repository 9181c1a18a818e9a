import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EngineClient } from '../../engine/client.js';
import { CompozyError } from '../../errors.js';
import { STATUSES, type Status } from '../../store/store.js';
import { serveExecutionsStream, serveExecutionStream } from '../streams/execution-stream.js';
import type { StreamHub } from '../streams/hub.js';
import { STREAM_EVENTS, type StreamEventName } from '../streams/wire.js';
import { DIRECT_KINDS, directKindOf, type DirectKind } from './direct-defs.js';
import { errors, EXEC_ID, params, query, route, STRING, type JsonSchema } from './schemas.js';

/** The Go engine's heartbeat (engine/workflow/router/stream.go workflowStreamHeartbeatFreq). */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Below the server's 60 s idle-connection timeout, which a quiet stream must not reach. */
const MAX_HEARTBEAT_MS = 30_000;
const MIN_HEARTBEAT_MS = 100;

const HEARTBEAT: JsonSchema = { type: 'integer', minimum: MIN_HEARTBEAT_MS, maximum: MAX_HEARTBEAT_MS, description: `milliseconds between heartbeat comments (": ping"), ${DEFAULT_HEARTBEAT_MS} when absent` };

const SSE_ANSWER = (description: string) => ({ description, content: { 'text/event-stream': { schema: { type: 'string', description: 'SSE frames: `id: <n>` (execution streams), `event: <name>`, `data: <JSON>`; `: ping` comment lines between them' } } } });

interface StreamQuery {
  last_event_id?: string;
  heartbeat_ms?: number;
  events?: string;
}

/** Last-Event-ID: the header an EventSource sends on reconnecting, else the last_event_id query parameter (clients that cannot set headers). */
function lastEventId(request: FastifyRequest<{ Querystring: StreamQuery }>): number {
  const header = request.headers['last-event-id'];
  const raw = (typeof header === 'string' && header.trim() !== '' ? header : request.query.last_event_id)?.trim();
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new CompozyError('INPUT_INVALID', `Last-Event-ID "${raw}" is not an event id.`, { hint: 'Send the id of the last event received (a non-negative integer), or none to start from the first event.' });
  }
  return Number(raw);
}

function eventFilter(raw: string | undefined): ReadonlySet<StreamEventName> | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(STREAM_EVENTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new CompozyError('INPUT_INVALID', `events= names ${unknown.map((n) => `"${n}"`).join(', ')}, which ${unknown.length === 1 ? 'is not an event' : 'are not events'} of an execution stream.`, { hint: `Known events: ${STREAM_EVENTS.join(', ')}.` });
  }
  return new Set(names as StreamEventName[]);
}

/**
 * Server-Sent Events: an execution's events (workflow, and the direct agent, task and tool
 * executions, at the Go engine's paths `/executions/{workflows,agents,tasks}/:exec_id/stream`) and the
 * live status changes of every execution at /events/stream.
 */
export function streamRoutes(engine: EngineClient, hub: StreamHub, log?: (line: string) => void) {
  return async (app: FastifyInstance) => {
    app.addHook('preClose', (done) => {
      hub.endStreams();
      done();
    });
    app.addHook('onClose', () => hub.close());
    const streamQuery = query({
      last_event_id: { type: 'string', description: 'resume after this event id when the Last-Event-ID header cannot be sent' },
      heartbeat_ms: HEARTBEAT,
      events: { type: 'string', description: `comma-separated event names to send (default all): ${STREAM_EVENTS.join(', ')}` },
    });
    const lastEventHeader = { type: 'object', properties: { 'last-event-id': { type: 'string', description: 'the id of the last event received: the stream resumes after it' } } };
    const streamOf = (kind: 'workflow' | DirectKind) =>
      route({
        summary: `Stream a ${kind} execution's events (SSE)`,
        description:
          'One event per task state change (task.started, task.succeeded, task.failed, task.status), per agent step (agent.model_call, agent.tool_call, agent.tool_result) and per execution status change (execution.status); execution.finished is the last, then the stream closes. A stream opened after the end replays every event and closes.',
        tags: ['executions'],
        params: params({ exec_id: EXEC_ID }),
        headers: lastEventHeader,
        querystring: streamQuery,
        response: { 200: SSE_ANSWER('the event stream'), ...errors({ 400: 'INVALID_EXEC_ID, a Last-Event-ID that is not an event id, or an unknown event name', 404: 'unknown execution' }) },
      });

    type StreamRequest = FastifyRequest<{ Params: { exec_id: string }; Querystring: StreamQuery }>;
    const handler = (kind: 'workflow' | DirectKind) => async (request: StreamRequest, reply: FastifyReply) => {
      const lastId = lastEventId(request);
      const events = eventFilter(request.query.events);
      const execution = await engine.execution(request.params.exec_id);
      if (kind !== 'workflow' && (directKindOf(execution.workflowId) !== kind || engine.project.workflows.has(execution.workflowId))) {
        throw new CompozyError('EXECUTION_NOT_FOUND', `Execution ${request.params.exec_id} is not a direct ${kind} execution (its workflow_id is ${execution.workflowId}).`, {
          hint: `Stream it at GET /api/v0/executions/workflows/${request.params.exec_id}/stream.`,
        });
      }
      await serveExecutionStream(hub, reply, execution, { lastEventId: lastId, heartbeatMs: request.query.heartbeat_ms ?? DEFAULT_HEARTBEAT_MS, ...(events ? { events } : {}), ...(log ? { log } : {}) });
    };
    app.get('/executions/workflows/:exec_id/stream', { schema: streamOf('workflow') }, handler('workflow'));
    for (const kind of DIRECT_KINDS) app.get(`/executions/${kind}s/:exec_id/stream`, { schema: streamOf(kind) }, handler(kind));

    const listSchema = route({
      summary: 'Live execution status changes (SSE), for lists',
      description: 'execution.status and execution.finished events of every execution, as they happen; optionally only one workflow\'s, or only those reaching one status. Events carry no id: after a reconnect, read the list again.',
      tags: ['executions'],
      querystring: query({ workflow: STRING, status: { type: 'string', enum: [...STATUSES] }, heartbeat_ms: HEARTBEAT }),
      response: { 200: SSE_ANSWER('the event stream'), ...errors({ 400: 'an unknown status' }) },
    });
    app.get<{ Querystring: { workflow?: string; status?: Status; heartbeat_ms?: number } }>('/events/stream', { schema: listSchema }, async (request, reply) => {
      const { workflow, status, heartbeat_ms: heartbeatMs } = request.query;
      await serveExecutionsStream(hub, reply, { heartbeatMs: heartbeatMs ?? DEFAULT_HEARTBEAT_MS, ...(workflow !== undefined ? { workflowId: workflow } : {}), ...(status !== undefined ? { status } : {}) });
    });
  };
}
