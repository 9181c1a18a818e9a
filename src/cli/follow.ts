import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompozyError, errorMessage } from '../errors.js';
import { authHeaders } from '../platform/credentials.js';
import { envelopeError, type Envelope } from './api-client.js';
import type { ExecutionJson, TaskStateJson } from './execution-view.js';

/** One event of an execution stream (GET /api/v0/executions/workflows/:exec_id/stream), as --json prints it. */
export interface StreamEvent {
  id: number;
  event: string;
  data: { exec_id: string; workflow_id: string; at: string; execution?: ExecutionJson; task?: TaskStateJson } & Partial<AgentStepData>;
}

/** What an agent.* event adds: the agent task it belongs to and that step (model call, tool call, tool result). */
export interface AgentStepData {
  task_exec_id: string;
  task_id: string;
  agent_id: string;
  step: number;
  text: string;
  finish_reason: string;
  usage: { input_tokens: number; output_tokens: number };
  tool_call_id: string;
  tool_id: string;
  input: unknown;
  output: unknown;
  error: { message: string } | null;
}

export interface FollowOptions {
  /** Heartbeats asked of the server; a connection silent for three of them is taken as lost. */
  heartbeatMs?: number;
  /** How long to keep reconnecting to an API that does not answer before giving up. */
  reconnectForMs?: number;
  /** Told once per outage when the connection drops and reconnecting begins (the CLI says it on stderr). */
  onDrop?: (afterEventId: number, reason: string) => void;
  /** Told when a connection reopens after a drop. */
  onResume?: (afterEventId: number) => void;
}

const DEFAULT_HEARTBEAT_MS = 5000;
const DEFAULT_RECONNECT_MS = 60_000;
const RETRY_MS = 500;

class ConnectionLost extends Error {}

/**
 * Reads an execution's event stream from the first event until `execution.finished`, handing each
 * event to `onEvent` in id order, and returns the finished execution. A connection that drops (the
 * server restarting, a network cut, a silent socket) is reopened with Last-Event-ID, so no event is
 * lost or repeated; an API that does not answer for `reconnectForMs` ends it with NOT_RUNNING.
 */
export async function followExecution(base: string, execId: string, onEvent: (event: StreamEvent) => void, options: FollowOptions = {}): Promise<ExecutionJson> {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const reconnectForMs = options.reconnectForMs ?? DEFAULT_RECONNECT_MS;
  let lastId = 0;
  let finished: ExecutionJson | undefined;
  let connected = false;
  let lostSince: number | undefined;
  for (;;) {
    try {
      const opened = () => {
        connected = true;
        if (lostSince !== undefined) options.onResume?.(lastId);
        lostSince = undefined;
      };
      await readStream(base, execId, lastId, heartbeatMs, opened, (event) => {
        if (event.id <= lastId) return;
        lastId = event.id;
        onEvent(event);
        if (event.event === 'execution.finished' && event.data.execution) finished = event.data.execution;
      });
      if (finished) return finished;
      throw new ConnectionLost('the server ended the stream before the execution finished');
    } catch (error) {
      if (!(error instanceof ConnectionLost)) throw error;
      if (!connected) {
        throw new CompozyError('NOT_RUNNING', `The compozy API at ${base} does not answer (${error.message}).`, { hint: 'Start it with `compozy dev`, or check --api-url.', cause: error });
      }
      if (lostSince === undefined) {
        lostSince = Date.now();
        options.onDrop?.(lastId, error.message);
      }
      if (Date.now() - lostSince > reconnectForMs) {
        throw new CompozyError('NOT_RUNNING', `Lost the event stream of execution ${execId} at ${base} and could not reconnect for ${reconnectForMs / 1000} s (${error.message}).`, {
          hint: `The execution may still run: \`compozy executions follow ${execId}\` picks it up again once the API answers.`,
        });
      }
      await sleep(RETRY_MS);
    }
  }
}

/** One connection: resolves when the server ends the stream, throws ConnectionLost when it breaks. */
async function readStream(base: string, execId: string, lastId: number, heartbeatMs: number, onOpen: () => void, onEvent: (event: StreamEvent) => void): Promise<void> {
  const url = `${base}/api/v0/executions/workflows/${encodeURIComponent(execId)}/stream?heartbeat_ms=${heartbeatMs}`;
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new ConnectionLost(`no data for ${(3 * heartbeatMs) / 1000} s`)), 3 * heartbeatMs);
  };
  let response: Response;
  try {
    armIdle();
    response = await fetch(url, { headers: { accept: 'text/event-stream', ...authHeaders(), ...(lastId > 0 ? { 'last-event-id': String(lastId) } : {}) }, signal: controller.signal });
  } catch (error) {
    clearTimeout(idle);
    throw new ConnectionLost(controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage((error as Error).cause ?? error));
  }
  if (!response.ok || !response.body) {
    clearTimeout(idle);
    const envelope = (await response.json().catch(() => undefined)) as Envelope | undefined;
    if (envelope?.error) throw envelopeError(envelope, `GET ${url} answered ${response.status}.`);
    // A proxy or a restarting server answering something else: worth another try.
    throw new ConnectionLost(`GET ${url} answered ${response.status}`);
  }
  onOpen();
  const parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => parsed.push(message) });
  const decoder = new TextDecoder();
  const chunks = (response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw new ConnectionLost(controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage((error as Error).cause ?? error));
      }
      if (next.done) return;
      armIdle();
      parser.feed(decoder.decode(next.value, { stream: true }));
      for (const message of parsed.splice(0)) {
        let data: StreamEvent['data'];
        try {
          data = JSON.parse(message.data) as StreamEvent['data'];
        } catch (error) {
          throw new CompozyError('CHECK_FAILED', `The event stream of execution ${execId} sent an event that is not JSON: ${errorMessage(error)}`);
        }
        onEvent({ id: Number(message.id), event: message.event ?? 'message', data });
      }
    }
  } finally {
    clearTimeout(idle);
    controller.abort();
  }
}
