import type { Kv, Subscription } from '../kv/kv.js';
import type { TaskState, WorkflowExecution } from '../store/store.js';
import type { AgentStep, AgentStepScope } from './executors.js';

/** What the log keeps per event; the API turns each into an SSE event (server/routes/streams.ts). */
export type StreamRecord =
  | { kind: 'task'; at: string; state: TaskState }
  | { kind: 'execution'; at: string; execution: WorkflowExecution }
  | { kind: 'agent'; at: string; scope: AgentStepScope; step: AgentStep };

export interface LoggedRecord {
  /** 1 for the execution's first event; each next one is one more. */
  id: number;
  execId: string;
  record: StreamRecord;
}

/** A log outlives its execution's last event by this long, so a late stream still replays it. */
export const STREAM_LOG_TTL_MS = 24 * 60 * 60 * 1000;

const LOG_PREFIX = 'stream:exec:';
/** Every logged record of every execution is published here too (the pattern a server subscribes to). */
const RECORD_CHANNEL_PREFIX = 'stream:exec:';
/** Execution status changes of every execution, for live lists. */
export const EXECUTIONS_CHANNEL = 'stream:executions';

/**
 * The durable event log of each execution, on the KV: a list per execution whose positions are the
 * event ids (RPUSH answers the new length atomically, so concurrent writers in several processes never
 * share an id), kept STREAM_LOG_TTL_MS after its last append, plus a pub/sub notification carrying
 * the record so a server in any process delivers it without reading the list again.
 */
export class ExecutionStreamLog {
  constructor(private readonly kv: Kv) {}

  async append(execId: string, record: StreamRecord): Promise<number> {
    const key = LOG_PREFIX + execId;
    // Issued together, they run in issue order in one group commit (SQLite) or one pipelined write (Redis).
    const [id] = await Promise.all([this.kv.rpush(key, JSON.stringify(record)), this.kv.pexpire(key, STREAM_LOG_TTL_MS)]);
    const logged: LoggedRecord = { id, execId, record };
    // The execution channel's copy joins the same commit, after the record's own.
    await Promise.all([this.kv.publish(RECORD_CHANNEL_PREFIX + execId, logged), ...(record.kind === 'execution' ? [this.kv.publish(EXECUTIONS_CHANNEL, logged)] : [])]);
    return id;
  }

  /** The records after `afterId` (0: all), in id order; at most `limit` of them when given. */
  async read(execId: string, afterId: number, limit?: number): Promise<LoggedRecord[]> {
    const items = await this.kv.lrange(LOG_PREFIX + execId, afterId, limit === undefined ? -1 : afterId + limit - 1);
    return items.map((item, i) => ({ id: afterId + i + 1, execId, record: JSON.parse(item) as StreamRecord }));
  }

  length(execId: string): Promise<number> {
    return this.kv.llen(LOG_PREFIX + execId);
  }

  /** Every execution's records as they are appended (one subscription serves all of a process's streams). */
  subscribeRecords(): Promise<Subscription> {
    return this.kv.psubscribe(`${RECORD_CHANNEL_PREFIX}*`);
  }

  subscribeExecutions(): Promise<Subscription> {
    return this.kv.subscribe(EXECUTIONS_CHANNEL);
  }
}

/** A message of subscribeRecords/subscribeExecutions, checked: pub/sub carries unknown data. */
export function loggedRecord(data: unknown): LoggedRecord | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const { id, execId, record } = data as Partial<LoggedRecord>;
  if (typeof id !== 'number' || typeof execId !== 'string' || record === null || typeof record !== 'object') return undefined;
  return { id, execId, record };
}
