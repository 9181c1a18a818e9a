import type { TaskState } from './api';

export interface TaskNode {
  state: TaskState;
  depth: number;
}

const TERMINAL = new Set(['SUCCESS', 'FAILED', 'TIMED_OUT', 'CANCELED']);

export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** The task states as a tree (children under their parent_state_id), in the order they started, flattened for rendering. */
export function taskTree(tasks: Record<string, TaskState>): TaskNode[] {
  const states = Object.values(tasks).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.task_id.localeCompare(b.task_id, undefined, { numeric: true }));
  const known = new Set(states.map((s) => s.task_exec_id));
  const children = new Map<string | null, TaskState[]>();
  for (const state of states) {
    const parent = state.parent_state_id !== null && known.has(state.parent_state_id) ? state.parent_state_id : null;
    const list = children.get(parent) ?? [];
    list.push(state);
    children.set(parent, list);
  }
  const out: TaskNode[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const state of children.get(parent) ?? []) {
      out.push({ state, depth });
      walk(state.task_exec_id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** How long a task ran: to its last update once it ended, to `now` while it runs. */
export function durationMs(state: { created_at: string; updated_at: string; status: string }, now: number): number {
  const start = Date.parse(state.created_at);
  const end = isTerminal(state.status) ? Date.parse(state.updated_at) : now;
  return Math.max(0, end - start);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * Attempts per task_exec_id, counted from the execution stream: a task state is written RUNNING, so
 * sent as task.started, once per attempt. null when the count cannot be known: a log's event 1 is the
 * execution's creation (execution.status), so a stream whose first event is anything else replays
 * stored states (the log expired) and has no task.started per attempt. undefined before any event.
 */
export type Attempts = Record<string, number> | null;

export function countAttempts(attempts: Attempts | undefined, event: { id: string | undefined; event: string; data: Record<string, unknown> }): Attempts {
  const counts = attempts !== undefined ? attempts : event.id === '1' && event.event === 'execution.status' ? {} : null;
  if (counts === null || event.event !== 'task.started') return counts;
  const id = (event.data.task as { task_exec_id: string }).task_exec_id;
  return { ...counts, [id]: (counts[id] ?? 0) + 1 };
}

export function retriesLabel(attempts: number): string {
  const retries = attempts - 1;
  return `${retries} ${retries === 1 ? 'retry' : 'retries'}`;
}
