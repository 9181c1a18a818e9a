import pg from 'pg';
import { CompozyError, errorMessage } from '../../errors.js';
import { redactUrl } from '../../platform/urls.js';
import type { ApiKeyStore } from '../api-keys.js';
import { API_KEYS_MIGRATION, PostgresApiKeys } from './api-keys.js';
import { checkContextQuery, checkError, checkId, checkStatus, checkTaskState, encodeCursor, notFound, resolveList, statusCounts, tasksById, toJson } from '../codec.js';
import {
  MAX_CONTEXT_DEPTH,
  type ExecutionPage,
  type ExecutionStore,
  type ListOptions,
  type NewWorkflowExecution,
  type Status,
  type StoreInfo,
  type TaskContext,
  type TaskContextQuery,
  type TaskState,
  type TaskStateWrite,
  type WorkflowExecution,
  type WorkflowExecutionPatch,
  type WorkflowExecutionWithTasks,
} from '../store.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workflow_executions (
     workflow_exec_id TEXT PRIMARY KEY,
     workflow_id TEXT NOT NULL,
     status TEXT NOT NULL,
     input JSONB,
     output JSONB,
     error JSONB,
     usage JSONB,
     created_at TIMESTAMPTZ NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX workflow_executions_list ON workflow_executions (created_at DESC, workflow_exec_id DESC);
   CREATE INDEX workflow_executions_by_workflow ON workflow_executions (workflow_id, created_at DESC, workflow_exec_id DESC);
   CREATE TABLE task_states (
     seq BIGSERIAL,
     task_exec_id TEXT PRIMARY KEY,
     task_id TEXT NOT NULL,
     workflow_exec_id TEXT NOT NULL REFERENCES workflow_executions (workflow_exec_id) ON DELETE CASCADE,
     workflow_id TEXT NOT NULL,
     component TEXT NOT NULL,
     status TEXT NOT NULL,
     execution_type TEXT NOT NULL,
     parent_state_id TEXT,
     agent_id TEXT,
     action_id TEXT,
     tool_id TEXT,
     input JSONB,
     output JSONB,
     error JSONB,
     created_at TIMESTAMPTZ NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX task_states_by_execution ON task_states (workflow_exec_id, seq);`,
  `ALTER TABLE task_states ADD COLUMN usage JSONB;`,
  `CREATE INDEX workflow_executions_by_status ON workflow_executions (status);`,
  // readTaskContext: the latest state of a task id, and a parent's children.
  `CREATE INDEX task_states_by_task_id ON task_states (workflow_exec_id, task_id, seq);
   CREATE INDEX task_states_by_parent ON task_states (parent_state_id, seq);`,
  API_KEYS_MIGRATION,
];

export interface PostgresStoreOptions {
  url: string;
  /** Schema to work in (created when missing); default public. */
  schema?: string;
  connectTimeoutMs?: number;
}

type Row = Record<string, unknown>;

function iso(value: unknown): string {
  return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
}

function executionFromRow(row: Row): WorkflowExecution {
  return {
    workflowExecId: row.workflow_exec_id as string,
    workflowId: row.workflow_id as string,
    status: row.status as WorkflowExecution['status'],
    input: row.input ?? null,
    output: row.output ?? null,
    error: (row.error ?? null) as WorkflowExecution['error'],
    usage: row.usage ?? null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

function taskFromRow(row: Row): TaskState {
  return {
    taskExecId: row.task_exec_id as string,
    taskId: row.task_id as string,
    workflowExecId: row.workflow_exec_id as string,
    workflowId: row.workflow_id as string,
    component: row.component as TaskState['component'],
    status: row.status as TaskState['status'],
    executionType: row.execution_type as TaskState['executionType'],
    parentStateId: (row.parent_state_id ?? null) as string | null,
    agentId: (row.agent_id ?? null) as string | null,
    actionId: (row.action_id ?? null) as string | null,
    toolId: (row.tool_id ?? null) as string | null,
    input: row.input ?? null,
    output: row.output ?? null,
    error: (row.error ?? null) as TaskState['error'],
    usage: row.usage ?? null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The execution store on PostgreSQL (distributed mode), migrated at start under an advisory lock. */
export class PostgresStore implements ExecutionStore {
  readonly driver = 'postgres' as const;
  private closed = false;
  readonly apiKeys: ApiKeyStore = new PostgresApiKeys((sql, params) => this.query(sql, params));

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresStoreOptions,
  ) {}

  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new CompozyError('STORE_INVALID_ARGUMENT', `Schema name "${schema}" is not a plain identifier.`, { hint: 'Use letters, digits and underscores.' });
    const pool = new pg.Pool({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
      max: 10,
      options: `-c search_path=${schema}`,
    });
    // Errors on idle clients (server restart) must not crash the process; the next query reports them.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, options);
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`compozy-store-migrations:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query('CREATE TABLE IF NOT EXISTS compozy_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
        const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM compozy_migrations');
        const current = rows[0]?.version ?? 0;
        if (current > MIGRATIONS.length) throw new Error(`its schema version ${current} is newer than this compozy understands (${MIGRATIONS.length}); upgrade compozy`);
        for (let v = current; v < MIGRATIONS.length; v++) {
          await client.query(MIGRATIONS[v] as string);
          await client.query('INSERT INTO compozy_migrations (version) VALUES ($1)', [v + 1]);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new CompozyError('STORE_UNAVAILABLE', `PostgreSQL at ${redactUrl(options.url)} is not usable: ${errorMessage(error)}.`, {
        hint: 'Start PostgreSQL, fix DATABASE_URL, or use the embedded SQLite store (standalone mode).',
        cause: error,
      });
    }
    return store;
  }

  private async query(sql: string, params: unknown[] = []): Promise<Row[]> {
    if (this.closed) throw new CompozyError('STORE_UNAVAILABLE', 'The execution store is closed.', { hint: 'Connect a new PostgresStore.' });
    try {
      return (await this.pool.query(sql, params)).rows as Row[];
    } catch (error) {
      throw new CompozyError('STORE_UNAVAILABLE', `PostgreSQL at ${redactUrl(this.options.url)} failed: ${errorMessage(error)}.`, { hint: 'Check that PostgreSQL is running.', cause: error });
    }
  }

  async createWorkflowExecution(execution: NewWorkflowExecution): Promise<WorkflowExecution> {
    const id = checkId(execution.workflowExecId, 'workflowExecId');
    const now = new Date().toISOString();
    await this.query(
      `INSERT INTO workflow_executions (workflow_exec_id, workflow_id, status, input, output, error, usage, created_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, 'null', 'null', 'null', $5, $5) ON CONFLICT (workflow_exec_id) DO NOTHING`,
      [id, checkId(execution.workflowId, 'workflowId'), checkStatus(execution.status ?? 'PENDING'), toJson(execution.input, 'input'), now],
    );
    const [row] = await this.query('SELECT * FROM workflow_executions WHERE workflow_exec_id = $1', [id]);
    return executionFromRow(row as Row);
  }

  async updateWorkflowExecution(workflowExecId: string, patch: WorkflowExecutionPatch): Promise<WorkflowExecution> {
    checkId(workflowExecId, 'workflowExecId');
    if (patch.status !== undefined) checkStatus(patch.status);
    if (patch.error !== undefined) checkError(patch.error);
    const rows = await this.query(
      `UPDATE workflow_executions SET
         status = COALESCE($2, status),
         output = CASE WHEN $3::boolean THEN $4::jsonb ELSE output END,
         error = CASE WHEN $5::boolean THEN $6::jsonb ELSE error END,
         usage = CASE WHEN $7::boolean THEN $8::jsonb ELSE usage END,
         updated_at = $9
       WHERE workflow_exec_id = $1 RETURNING *`,
      [
        workflowExecId, patch.status ?? null,
        patch.output !== undefined, toJson(patch.output ?? null, 'output'),
        patch.error !== undefined, toJson(patch.error ?? null, 'error'),
        patch.usage !== undefined, toJson(patch.usage ?? null, 'usage'),
        new Date().toISOString(),
      ],
    );
    if (rows.length === 0) throw notFound(workflowExecId);
    return executionFromRow(rows[0] as Row);
  }

  async getWorkflowExecution(workflowExecId: string): Promise<WorkflowExecutionWithTasks | null> {
    const [row] = await this.query('SELECT * FROM workflow_executions WHERE workflow_exec_id = $1', [checkId(workflowExecId, 'workflowExecId')]);
    if (!row) return null;
    const taskStates = await this.listTaskStates(workflowExecId);
    return { ...executionFromRow(row), tasks: tasksById(taskStates), taskStates };
  }

  async exists(workflowExecId: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM workflow_executions WHERE workflow_exec_id = $1', [checkId(workflowExecId, 'workflowExecId')])).length > 0;
  }

  async readTaskContext(workflowExecId: string, query: TaskContextQuery): Promise<TaskContext | null> {
    checkId(workflowExecId, 'workflowExecId');
    checkContextQuery(query);
    const none = Promise.resolve([] as Row[]);
    const [executions, tasks, states, children] = await Promise.all([
      this.query(
        query.withoutInput
          ? 'SELECT workflow_exec_id, workflow_id, status, NULL AS input, output, error, usage, created_at, updated_at FROM workflow_executions WHERE workflow_exec_id = $1'
          : 'SELECT * FROM workflow_executions WHERE workflow_exec_id = $1',
        [workflowExecId],
      ),
      query.taskIds === 'all'
        ? this.query('SELECT * FROM task_states WHERE workflow_exec_id = $1 ORDER BY seq', [workflowExecId])
        : query.taskIds.length === 0
          ? none
          : this.query(
              `WITH RECURSIVE
                 roots AS (
                   SELECT (SELECT t.task_exec_id FROM task_states t WHERE t.workflow_exec_id = $1 AND t.task_id = j.id ORDER BY t.seq DESC LIMIT 1) AS task_exec_id FROM unnest($2::text[]) AS j(id)),
                 tree(task_exec_id, depth) AS (
                   SELECT task_exec_id, 0 FROM roots WHERE task_exec_id IS NOT NULL
                   UNION
                   SELECT c.task_exec_id, tree.depth + 1 FROM task_states c JOIN tree ON c.parent_state_id = tree.task_exec_id WHERE tree.depth < $3)
               SELECT * FROM task_states WHERE task_exec_id IN (SELECT task_exec_id FROM tree) ORDER BY seq`,
              [workflowExecId, query.taskIds, MAX_CONTEXT_DEPTH],
            ),
      query.taskExecIds?.length ? this.query('SELECT * FROM task_states WHERE workflow_exec_id = $1 AND task_exec_id = ANY($2) ORDER BY seq', [workflowExecId, query.taskExecIds]) : none,
      query.childrenOf === undefined ? none : this.query('SELECT * FROM task_states WHERE parent_state_id = $1 AND workflow_exec_id = $2 ORDER BY seq', [query.childrenOf, workflowExecId]),
    ]);
    const [row] = executions;
    if (!row) return null;
    const execution = executionFromRow(row);
    return { execution: query.withoutInput ? { ...execution, input: undefined } : execution, tasks: tasks.map(taskFromRow), states: states.map(taskFromRow), children: children.map(taskFromRow) };
  }

  async listWorkflowExecutions(options: ListOptions = {}): Promise<ExecutionPage> {
    const list = resolveList(options);
    const where: string[] = [];
    const params: unknown[] = [];
    if (list.workflowId !== undefined) where.push(`workflow_id = $${params.push(list.workflowId)}`);
    if (list.status !== undefined) where.push(`status = $${params.push(list.status)}`);
    if (list.after) where.push(`(created_at, workflow_exec_id) < ($${params.push(list.after.createdAt)}::timestamptz, $${params.push(list.after.workflowExecId)})`);
    const rows = await this.query(
      `SELECT * FROM workflow_executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, workflow_exec_id DESC LIMIT $${params.push(list.limit + 1)}`,
      params,
    );
    const items = rows.slice(0, list.limit).map(executionFromRow);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > list.limit && last ? encodeCursor(last.createdAt, last.workflowExecId) : null };
  }

  async upsertTaskState(state: TaskStateWrite): Promise<TaskState> {
    checkTaskState(state);
    const exists = await this.query('SELECT 1 FROM workflow_executions WHERE workflow_exec_id = $1', [state.workflowExecId]);
    if (exists.length === 0) throw notFound(state.workflowExecId);
    const now = new Date().toISOString();
    const [row] = await this.query(
      `INSERT INTO task_states (task_exec_id, task_id, workflow_exec_id, workflow_id, component, status, execution_type, parent_state_id, agent_id, action_id, tool_id, input, output, error, usage, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14::jsonb, $15::jsonb, $16, $16)
       ON CONFLICT (task_exec_id) DO UPDATE SET status = EXCLUDED.status, input = EXCLUDED.input, output = EXCLUDED.output, error = EXCLUDED.error, usage = EXCLUDED.usage,
         parent_state_id = EXCLUDED.parent_state_id, agent_id = EXCLUDED.agent_id, action_id = EXCLUDED.action_id, tool_id = EXCLUDED.tool_id, updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [
        state.taskExecId, state.taskId, state.workflowExecId, state.workflowId, state.component, state.status, state.executionType,
        state.parentStateId ?? null, state.agentId ?? null, state.actionId ?? null, state.toolId ?? null,
        toJson(state.input, 'input'), toJson(state.output ?? null, 'output'), toJson(state.error ?? null, 'error'), toJson(state.usage ?? null, 'usage'), now,
      ],
    );
    return taskFromRow(row as Row);
  }

  async listTaskStates(workflowExecId: string): Promise<TaskState[]> {
    return (await this.query('SELECT * FROM task_states WHERE workflow_exec_id = $1 ORDER BY seq', [checkId(workflowExecId, 'workflowExecId')])).map(taskFromRow);
  }

  async countByStatus(statuses: readonly Status[]): Promise<Record<Status, number>> {
    const wanted = statuses.map(checkStatus);
    if (wanted.length === 0) return statusCounts([], []);
    const rows = await this.query('SELECT status, count(*)::int AS n FROM workflow_executions WHERE status = ANY($1) GROUP BY status', [wanted]);
    return statusCounts(wanted, rows as unknown as { status: string; n: number }[]);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async info(): Promise<StoreInfo> {
    const [row] = await this.query('SELECT count(*)::int AS n FROM workflow_executions');
    return { driver: 'postgres', location: redactUrl(this.options.url), executions: Number(row?.n ?? 0) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
