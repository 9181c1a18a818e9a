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
