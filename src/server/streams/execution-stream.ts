import type { FastifyReply } from 'fastify';
import { isTerminal } from '../../engine/progress.js';
import type { LoggedRecord, StreamRecord } from '../../engine/stream-log.js';
import { errorMessage } from '../../errors.js';
import type { Status, WorkflowExecutionWithTasks } from '../../store/store.js';
import type { StreamHub } from './hub.js';
import { SseWriter } from './sse.js';
import { endsStream, wireEvent, type StreamEventName } from './wire.js';

/** Records read from the log at once while catching up. */
const READ_PAGE = 16;

export interface ExecutionStreamOptions {
  /** Events with this id or lower are not sent again (Last-Event-ID). */
  lastEventId: number;
  heartbeatMs: number;
  /** Only these events are sent (their ids still advance); absent: all. */
  events?: ReadonlySet<StreamEventName>;
  log?: (line: string) => void;
}

/**
 * An ended execution whose log is gone (older than its TTL, or run before streams existed): its task
 * states in the order first written, then its end, numbered from 1 as a log would have been.
 */
function reconstructed(execution: WorkflowExecutionWithTasks): LoggedRecord[] {
  const records: StreamRecord[] = [...execution.taskStates.map((state): StreamRecord => ({ kind: 'task', at: state.updatedAt, state })), { kind: 'execution', at: execution.updatedAt, execution }];
  return records.map((record, i) => ({ id: i + 1, execId: execution.workflowExecId, record }));
}

/**
 * Streams one execution's events over SSE: what its log holds after `lastEventId`, then each record as
 * it is appended, until the execution ends. Every delivery goes through one queue in id order; a record
 * that arrives ahead of a missing one (notifications from several writers, or one lost) reads the gap
 * from the log first, and each heartbeat reads the log too, so nothing appended is ever skipped. A
 * client that reads slowly is sent nothing while it is behind; the log holds what it missed.
 */
export async function serveExecutionStream(hub: StreamHub, reply: FastifyReply, execution: WorkflowExecutionWithTasks, options: ExecutionStreamOptions): Promise<void> {
  const execId = execution.workflowExecId;
  // Before the answer starts: a KV that cannot subscribe is an error answer, not an empty stream.
  await hub.start();
  const sse = SseWriter.open(reply);
  let last = options.lastEventId;
  let queue = Promise.resolve();
  const run = (work: () => Promise<void> | void) => {
    queue = queue.then(work).catch((error: unknown) => {
      options.log?.(`stream of execution ${execId} closed: ${errorMessage(error)}`);
      sse.end();
    });
  };
  /** Sends one record; false when the client is behind (the record stays in the log for the catch-up after its drain). */
  const send = (logged: LoggedRecord): boolean => {
    if (!sse.open) return false;
    if (logged.id <= last) return true;
    if (sse.backedUp) return false;
    last = logged.id;
    const { name, data } = wireEvent(logged);
    if (!options.events || options.events.has(name)) sse.event(name, data, logged.id);
    if (endsStream(logged.record)) sse.end();
    return true;
  };
  const sendAll = (records: readonly LoggedRecord[]) => {
    for (const logged of records) if (!send(logged)) return;
  };
  /** Where records after an id come from: the log, or for an ended execution without one, its stored states. */
  let source = (after: number, limit: number): Promise<LoggedRecord[]> => hub.log.read(execId, after, limit);
  /** Sends what the source holds after the last id sent, a page at a time, until the client is behind or it is all sent. */
  const catchUp = async () => {
    while (sse.open && !sse.backedUp) {
      const page = await source(last, READ_PAGE);
      sendAll(page);
      if (page.length < READ_PAGE) return;
    }
  };

  const stopListening = await hub.listen(execId, (logged) =>
    run(async () => {
      if (!sse.open || logged.id <= last) return;
      if (logged.id === last + 1) send(logged);
      else await catchUp();
    }),
  );
  const unregister = hub.onClose(() => sse.end());
  const timer = setInterval(() => run(async () => {
    sse.heartbeat();
    await catchUp();
  }), options.heartbeatMs);
  sse.onDrain(() => run(catchUp));
  sse.onEnd(() => {
    clearInterval(timer);
    stopListening();
    unregister();
  });
  run(async () => {
    if (isTerminal(execution.status) && (await hub.log.length(execId)) === 0) {
      const records = reconstructed(execution);
      source = async (after, limit) => records.filter((logged) => logged.id > after).slice(0, limit);
    }
    await catchUp();
  });
}

export interface ExecutionsStreamOptions {
  workflowId?: string;
  status?: Status;
  heartbeatMs: number;
}

/** Live status changes of every execution (optionally of one workflow, or to one status), for lists; nothing to resume. */
export async function serveExecutionsStream(hub: StreamHub, reply: FastifyReply, options: ExecutionsStreamOptions): Promise<void> {
  await hub.start();
  const sse = SseWriter.open(reply);
  const stopListening = await hub.listenExecutions((logged) => {
    if (logged.record.kind !== 'execution') return;
    const { execution } = logged.record;
    if (options.workflowId !== undefined && execution.workflowId !== options.workflowId) return;
    if (options.status !== undefined && execution.status !== options.status) return;
    // Nothing to resume from: a list client that stopped reading is ended (it reads the list again) rather than buffered for.
    if (sse.backedUp) return sse.end();
    const { name, data } = wireEvent(logged);
    sse.event(name, data);
  });
  const unregister = hub.onClose(() => sse.end());
  const timer = setInterval(() => sse.heartbeat(), options.heartbeatMs);
  sse.onEnd(() => {
    clearInterval(timer);
    stopListening();
    unregister();
  });
}
