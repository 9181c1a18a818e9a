import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { openDatabase, SqliteGuard, type SqliteFileKind } from '../../platform/sqlite.js';
import type { ApiKeyStore } from '../api-keys.js';
import { API_KEYS_MIGRATION, SqliteApiKeys } from './api-keys.js';
import { CompozyError, errorMessage } from '../../errors.js';
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

const STORE_FILE: SqliteFileKind = { noun: 'execution store', openCode: 'STORE_OPEN_FAILED', unavailableCode: 'STORE_UNAVAILABLE' };

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workflow_executions (
     workflow_exec_id TEXT PRIMARY KEY,
     workflow_id TEXT NOT NULL,
     status TEXT NOT NULL,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     error TEXT NOT NULL,
     usage TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX workflow_executions_list ON workflow_executions(created_at DESC, workflow_exec_id DESC);
   CREATE INDEX workflow_executions_by_workflow ON workflow_executions(workflow_id, created_at DESC, workflow_exec_id DESC);
   CREATE TABLE task_states (
     task_exec_id TEXT PRIMARY KEY,
     task_id TEXT NOT NULL,
     workflow_exec_id TEXT NOT NULL REFERENCES workflow_executions(workflow_exec_id) ON DELETE CASCADE,
     workflow_id TEXT NOT NULL,
     component TEXT NOT NULL,
     status TEXT NOT NULL,
     execution_type TEXT NOT NULL,
     parent_state_id TEXT,
     agent_id TEXT,
     action_id TEXT,
     tool_id TEXT,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     error TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   ) STRICT;
   CREATE INDEX task_states_by_execution ON task_states(workflow_exec_id);`,
  `ALTER TABLE task_states ADD COLUMN usage TEXT NOT NULL DEFAULT 'null';`,
  `CREATE INDEX workflow_executions_by_status ON workflow_executions(status);`,
  // readTaskContext: the latest state of a task id, and a parent's children.
  `CREATE INDEX task_states_by_task_id ON task_states(workflow_exec_id, task_id);
   CREATE INDEX task_states_by_parent ON task_states(parent_state_id);`,
  API_KEYS_MIGRATION,
];

interface ExecutionRow {
  workflow_exec_id: string;
  workflow_id: string;
  status: string;
  input: string;
  output: string;
  error: string;
  usage: string;
  created_at: string;
  updated_at: string;
}

interface TaskRow {
  task_exec_id: string;
  task_id: string;
  workflow_exec_id: string;
  workflow_id: string;
  component: string;
  status: string;
  execution_type: string;
  parent_state_id: string | null;
  agent_id: string | null;
  action_id: string | null;
  tool_id: string | null;
  input: string;
  output: string;
  error: string;
  usage: string;
  created_at: string;
  updated_at: string;
}

function executionFromRow(row: ExecutionRow): WorkflowExecution {
  return {
    workflowExecId: row.workflow_exec_id,
    workflowId: row.workflow_id,
    status: row.status as WorkflowExecution['status'],
    input: JSON.parse(row.input) as unknown,
    output: JSON.parse(row.output) as unknown,
    error: JSON.parse(row.error) as WorkflowExecution['error'],
    usage: JSON.parse(row.usage) as unknown,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function taskFromRow(row: TaskRow): TaskState {
  return {
    taskExecId: row.task_exec_id,
    taskId: row.task_id,
    workflowExecId: row.workflow_exec_id,
    workflowId: row.workflow_id,
    component: row.component as TaskState['component'],
    status: row.status as TaskState['status'],
    executionType: row.execution_type as TaskState['executionType'],
    parentStateId: row.parent_state_id,
    agentId: row.agent_id,
    actionId: row.action_id,
    toolId: row.tool_id,
    input: JSON.parse(row.input) as unknown,
    output: JSON.parse(row.output) as unknown,
    error: JSON.parse(row.error) as TaskState['error'],
    usage: JSON.parse(row.usage) as unknown,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The execution store on one SQLite file (`.compozy/compozy.db`), WAL, migrated on open. Every
 * statement runs through a SqliteGuard: a lock held by another process is waited for without blocking
 * the event loop, and storage failures come back as STORE_UNAVAILABLE or DISK_FULL.
 */
export class SqliteStore implements ExecutionStore {
  readonly driver = 'sqlite' as const;
  private readonly s: Record<string, StatementSync>;
  private readonly guard: SqliteGuard;
  readonly apiKeys: ApiKeyStore;

  private constructor(
    readonly path: string,
    private readonly db: DatabaseSync,
    busyTimeoutMs: number | undefined,
  ) {
    this.guard = new SqliteGuard(db, path, STORE_FILE, busyTimeoutMs);
    this.apiKeys = new SqliteApiKeys(db, this.guard, path);
    this.s = {
      insert: db.prepare(
        'INSERT INTO workflow_executions (workflow_exec_id, workflow_id, status, input, output, error, usage, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_exec_id) DO NOTHING',
      ),
      get: db.prepare('SELECT * FROM workflow_executions WHERE workflow_exec_id = ?'),
      // A patch in one statement: a field is written when its flag is 1, kept otherwise.
      update: db.prepare(
        `UPDATE workflow_executions SET status = COALESCE(?2, status), output = CASE WHEN ?3 THEN ?4 ELSE output END, error = CASE WHEN ?5 THEN ?6 ELSE error END,
           usage = CASE WHEN ?7 THEN ?8 ELSE usage END, updated_at = ?9
         WHERE workflow_exec_id = ?1 RETURNING *`,
      ),
      upsertTask: db.prepare(
        `INSERT INTO task_states (task_exec_id, task_id, workflow_exec_id, workflow_id, component, status, execution_type, parent_state_id, agent_id, action_id, tool_id, input, output, error, usage, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (task_exec_id) DO UPDATE SET status = excluded.status, input = excluded.input, output = excluded.output, error = excluded.error, usage = excluded.usage,
           parent_state_id = excluded.parent_state_id, agent_id = excluded.agent_id, action_id = excluded.action_id, tool_id = excluded.tool_id, updated_at = excluded.updated_at
         RETURNING *`,
      ),
      tasks: db.prepare('SELECT * FROM task_states WHERE workflow_exec_id = ? ORDER BY rowid'),
      count: db.prepare('SELECT count(*) AS n FROM workflow_executions'),
      exists: db.prepare('SELECT 1 FROM workflow_executions WHERE workflow_exec_id = ?'),
      getWithoutInput: db.prepare("SELECT workflow_exec_id, workflow_id, status, 'null' AS input, output, error, usage, created_at, updated_at FROM workflow_executions WHERE workflow_exec_id = ?"),
      contextTasks: db.prepare(
        `WITH RECURSIVE
           roots(task_exec_id) AS (
             SELECT (SELECT t.task_exec_id FROM task_states t WHERE t.workflow_exec_id = ?1 AND t.task_id = j.value ORDER BY t.rowid DESC LIMIT 1) FROM json_each(?2) j),
           tree(task_exec_id, depth) AS (
             SELECT task_exec_id, 0 FROM roots WHERE task_exec_id IS NOT NULL
             UNION
             SELECT c.task_exec_id, tree.depth + 1 FROM task_states c JOIN tree ON c.parent_state_id = tree.task_exec_id WHERE tree.depth < ?3)
         SELECT * FROM task_states WHERE task_exec_id IN (SELECT task_exec_id FROM tree) ORDER BY rowid`,
      ),
      statesById: db.prepare('SELECT * FROM task_states WHERE workflow_exec_id = ? AND task_exec_id IN (SELECT value FROM json_each(?)) ORDER BY rowid'),
      children: db.prepare('SELECT * FROM task_states WHERE parent_state_id = ? AND workflow_exec_id = ? ORDER BY rowid'),
    };
  }

  /**
   * Opens and migrates the file, creating it only when it is missing; an existing file that is empty or
   * fails its integrity check is refused with STORE_OPEN_FAILED and left as it was. `busyTimeoutMs`:
   * how long an operation waits for another process's write lock before STORE_UNAVAILABLE.
   */
  static open(path: string, options: { busyTimeoutMs?: number } = {}): SqliteStore {
    const db = openDatabase(path, MIGRATIONS, STORE_FILE, options);
    try {
      return new SqliteStore(path, db, options.busyTimeoutMs);
    } catch (error) {
      db.close();
      throw new CompozyError('STORE_OPEN_FAILED', `Cannot open the execution store ${path}: ${errorMessage(error)}`, {
        hint: 'Check that the file is a compozy execution store; it was not changed.',
        details: { file: path },
        cause: error,
      });
    }
  }

  private stmt(name: string): StatementSync {
    if (!this.db.isOpen) throw new CompozyError('STORE_UNAVAILABLE', `The execution store ${this.path} is closed.`, { hint: 'Open a new store.' });
    return this.s[name] as StatementSync;
  }

  /** A read-modify-write as one transaction through the guard, so running it again after a lock wait is safe. */
  private write<T>(fn: () => T): T | Promise<T> {
    return this.guard.write(() => this.guard.transaction(fn));
  }

  private read<T>(fn: () => T): T | Promise<T> {
    return this.guard.read(fn);
  }

  async createWorkflowExecution(execution: NewWorkflowExecution): Promise<WorkflowExecution> {
    const id = checkId(execution.workflowExecId, 'workflowExecId');
    const workflowId = checkId(execution.workflowId, 'workflowId');
    const status = checkStatus(execution.status ?? 'PENDING');
    const input = toJson(execution.input, 'input');
    return this.write(() => {
      const now = new Date().toISOString();
      this.stmt('insert').run(id, workflowId, status, input, 'null', 'null', 'null', now, now);
      return executionFromRow(this.stmt('get').get(id) as unknown as ExecutionRow);
    });
  }

  async updateWorkflowExecution(workflowExecId: string, patch: WorkflowExecutionPatch): Promise<WorkflowExecution> {
    checkId(workflowExecId, 'workflowExecId');
    const status = patch.status === undefined ? null : checkStatus(patch.status);
    // Each field as the statement's (written?, JSON) pair.
    const field = (value: unknown, what: string): [number, string | null] => (value === undefined ? [0, null] : [1, toJson(value, what)]);
    const fields = [...field(patch.output, 'output'), ...field(patch.error === undefined ? undefined : checkError(patch.error), 'error'), ...field(patch.usage, 'usage')];
    return this.write(() => {
      const row = this.stmt('update').get(workflowExecId, status, ...fields, new Date().toISOString()) as ExecutionRow | undefined;
      if (!row) throw notFound(workflowExecId);
      return executionFromRow(row);
    });
  }

  async getWorkflowExecution(workflowExecId: string): Promise<WorkflowExecutionWithTasks | null> {
    checkId(workflowExecId, 'workflowExecId');
    return this.read(() => {
      const row = this.stmt('get').get(workflowExecId) as ExecutionRow | undefined;
      if (!row) return null;
      const taskStates = (this.stmt('tasks').all(workflowExecId) as unknown as TaskRow[]).map(taskFromRow);
      return { ...executionFromRow(row), tasks: tasksById(taskStates), taskStates };
    });
  }

  async exists(workflowExecId: string): Promise<boolean> {
    checkId(workflowExecId, 'workflowExecId');
    return this.read(() => this.stmt('exists').get(workflowExecId) !== undefined);
  }

  async readTaskContext(workflowExecId: string, query: TaskContextQuery): Promise<TaskContext | null> {
    checkId(workflowExecId, 'workflowExecId');
    checkContextQuery(query);
    return this.read(() => {
      const row = this.stmt(query.withoutInput ? 'getWithoutInput' : 'get').get(workflowExecId) as ExecutionRow | undefined;
      if (!row) return null;
      const rows = (statement: string, ...params: Array<string | number>) => (this.stmt(statement).all(...params) as unknown as TaskRow[]).map(taskFromRow);
      const tasks = query.taskIds === 'all' ? rows('tasks', workflowExecId) : query.taskIds.length === 0 ? [] : rows('contextTasks', workflowExecId, JSON.stringify(query.taskIds), MAX_CONTEXT_DEPTH);
      const states = query.taskExecIds?.length ? rows('statesById', workflowExecId, JSON.stringify(query.taskExecIds)) : [];
      const children = query.childrenOf === undefined ? [] : rows('children', query.childrenOf, workflowExecId);
      const execution = executionFromRow(row);
      return { execution: query.withoutInput ? { ...execution, input: undefined } : execution, tasks, states, children };
    });
  }

  async listWorkflowExecutions(options: ListOptions = {}): Promise<ExecutionPage> {
    const list = resolveList(options);
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (list.workflowId !== undefined) {
      where.push('workflow_id = ?');
      params.push(list.workflowId);
    }
    if (list.status !== undefined) {
      where.push('status = ?');
      params.push(list.status);
    }
    if (list.after) {
      where.push('(created_at, workflow_exec_id) < (?, ?)');
      params.push(list.after.createdAt, list.after.workflowExecId);
    }
    const sql = `SELECT * FROM workflow_executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, workflow_exec_id DESC LIMIT ?`;
    if (!this.db.isOpen) this.stmt('get');
    const rows = (await this.read(() => this.db.prepare(sql).all(...params, list.limit + 1))) as unknown as ExecutionRow[];
    const items = rows.slice(0, list.limit).map(executionFromRow);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > list.limit && last ? encodeCursor(last.createdAt, last.workflowExecId) : null };
  }

  async upsertTaskState(state: TaskStateWrite): Promise<TaskState> {
    checkTaskState(state);
    const json = [toJson(state.input, 'input'), toJson(state.output ?? null, 'output'), toJson(state.error ?? null, 'error'), toJson(state.usage ?? null, 'usage')] as const;
    return this.write(() => {
      if (this.stmt('exists').get(state.workflowExecId) === undefined) throw notFound(state.workflowExecId);
      const now = new Date().toISOString();
      const row = this.stmt('upsertTask').get(
        state.taskExecId, state.taskId, state.workflowExecId, state.workflowId, state.component, state.status, state.executionType,
        state.parentStateId ?? null, state.agentId ?? null, state.actionId ?? null, state.toolId ?? null,
        ...json, now, now,
      );
      return taskFromRow(row as unknown as TaskRow);
    });
  }

  async listTaskStates(workflowExecId: string): Promise<TaskState[]> {
    checkId(workflowExecId, 'workflowExecId');
    return this.read(() => (this.stmt('tasks').all(workflowExecId) as unknown as TaskRow[]).map(taskFromRow));
  }

  async countByStatus(statuses: readonly Status[]): Promise<Record<Status, number>> {
    const wanted = statuses.map(checkStatus);
    if (wanted.length === 0) return statusCounts([], []);
    const rows = await this.read(() => this.db.prepare(`SELECT status, count(*) AS n FROM workflow_executions WHERE status IN (${wanted.map(() => '?').join(', ')}) GROUP BY status`).all(...wanted));
    return statusCounts(wanted, rows as { status: string; n: number }[]);
  }

  async ping(): Promise<void> {
    await this.read(() => this.stmt('count').get());
  }

  async info(): Promise<StoreInfo> {
    const { n } = (await this.read(() => this.stmt('count').get())) as { n: number };
    const fault = this.guard.fault();
    return { driver: 'sqlite', location: this.path, executions: n, ...(fault ? { degraded: { code: fault.code, message: fault.message } } : {}) };
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
