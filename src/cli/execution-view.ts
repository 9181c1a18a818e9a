import { Chalk, type ChalkInstance } from 'chalk';
import type { executionDto, executionWithTasksDto, taskStateDto, workflowDto } from '../server/routes/dto.js';
import { isTerminal } from '../engine/progress.js';
import type { Status } from '../store/store.js';
import { table } from './output.js';

/** The API's JSON shapes as the client reads them (src/server/routes/dto.ts). */
export type ExecutionJson = ReturnType<typeof executionDto>;
export type ExecutionWithTasksJson = ReturnType<typeof executionWithTasksDto>;
export type TaskStateJson = ReturnType<typeof taskStateDto>;
export type WorkflowJson = ReturnType<typeof workflowDto>;

export const chalkFor = (color: boolean): ChalkInstance => new Chalk({ level: color ? 1 : 0 });

/** 850ms, 3.2s, 2m05s, 1h02m: short enough for a table column. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** How long something with these timestamps has taken: to its last update once ended, else until `now`. */
export function elapsed(item: { status: string; created_at: string; updated_at: string }, now: number): number {
  const end = isTerminal(item.status as Status) ? Date.parse(item.updated_at) : now;
  return end - Date.parse(item.created_at);
}

export function statusText(status: string, chalk: ChalkInstance): string {
  switch (status) {
    case 'SUCCESS':
      return chalk.green(status);
    case 'FAILED':
    case 'TIMED_OUT':
    case 'CANCELED':
      return chalk.red(status);
    case 'RUNNING':
      return chalk.cyan(status);
    case 'WAITING':
    case 'PAUSED':
      return chalk.yellow(status);
    default:
      return chalk.dim(status);
  }
}

/** An exit code for an execution's final status: 0 for SUCCESS, 1 for anything else. */
export const exitCodeForStatus = (status: string): number => (status === 'SUCCESS' ? 0 : 1);

export function workflowsTable(workflows: WorkflowJson[]): string {
  if (workflows.length === 0) return 'The project defines no workflows.';
  return table([['ID', 'VERSION', 'TASKS', 'DESCRIPTION'], ...workflows.map((w) => [w.id, w.version ?? '-', String(w.tasks.length), w.description ?? ''])]);
}

/** A workflow's definition: its input (property, type, required), tasks in order, and outputs. */
export function workflowDetail(workflow: WorkflowJson, color: boolean): string {
  const chalk = chalkFor(color);
  const lines = [chalk.bold(workflow.id) + (workflow.version ? ` ${chalk.dim(`v${workflow.version}`)}` : ''), ...(workflow.description ? [workflow.description] : [])];
  const schema = workflow.input as { properties?: Record<string, { type?: unknown; description?: unknown }>; required?: string[] } | null;
  lines.push('', 'Input:');
  const properties = Object.entries(schema?.properties ?? {});
  if (schema === null) lines.push('  (no input schema: any object)');
  else if (properties.length === 0) lines.push('  (none)');
  else {
    const rows = properties.map(([name, p]) => [
      `  ${name}`,
      Array.isArray(p.type) ? p.type.join('|') : typeof p.type === 'string' ? p.type : 'any',
      schema?.required?.includes(name) ? 'required' : 'optional',
      typeof p.description === 'string' ? p.description : '',
    ]);
    lines.push(table(rows));
  }
  lines.push('', 'Tasks:', table(workflow.tasks.map((t, i) => [`  ${i + 1}.`, t.id, chalk.dim(t.type)])));
  if (workflow.outputs !== null) lines.push('', 'Outputs:', ...JSON.stringify(workflow.outputs, null, 2).split('\n').map((line) => `  ${line}`));
  return lines.join('\n');
}

export function executionsTable(executions: ExecutionJson[], now: number, color: boolean): string {
  const chalk = chalkFor(color);
  if (executions.length === 0) return 'No executions.';
  return table([
    ['EXECUTION', 'WORKFLOW', 'STATUS', 'STARTED', 'DURATION'],
    ...executions.map((e) => [e.workflow_exec_id, e.workflow_id, statusText(e.status, chalk), e.created_at, formatDuration(elapsed(e, now))]),
  ]);
}

export interface TaskNode {
  state: TaskStateJson;
  children: TaskNode[];
}

/** Task states as a tree by parent_state_id, each level in the order the states were created (siblings created together by id, numbers in order). */
export function taskTree(states: TaskStateJson[]): TaskNode[] {
  const byId = new Map(states.map((state) => [state.task_exec_id, { state, children: [] as TaskNode[] }]));
  const roots: TaskNode[] = [];
  const ordered = [...byId.values()].sort((a, b) => a.state.created_at.localeCompare(b.state.created_at) || a.state.task_id.localeCompare(b.state.task_id, undefined, { numeric: true }));
  for (const node of ordered) {
    const parent = node.state.parent_state_id === null ? undefined : byId.get(node.state.parent_state_id);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

/** One line per task state, indented under its parent: id, type, status, duration, a note (by task_exec_id) if any, and the error of a failed one. */
export function taskTreeLines(states: TaskStateJson[], now: number, color: boolean, notes: ReadonlyMap<string, string> = new Map()): string[] {
  const chalk = chalkFor(color);
  const rows: string[][] = [];
  const errors = new Map<number, string>();
  const walk = (nodes: TaskNode[], depth: number) => {
    for (const { state, children } of nodes) {
      if (state.error && typeof (state.error as { message?: unknown }).message === 'string') errors.set(rows.length, (state.error as { message: string }).message);
      const note = notes.get(state.task_exec_id);
      rows.push([`${'  '.repeat(depth + 1)}${state.task_id}`, chalk.dim(state.execution_type), statusText(state.status, chalk), formatDuration(elapsed(state, now)), ...(note ? [chalk.dim(note)] : [])]);
      walk(children, depth + 1);
    }
  };
  walk(taskTree(states), 0);
  if (rows.length === 0) return [chalk.dim('  (no task has started)')];
  return table(rows)
    .split('\n')
    .flatMap((line, i) => (errors.has(i) ? [line, `${' '.repeat(line.length - line.trimStart().length + 2)}${chalk.red('✗')} ${errors.get(i)}`] : [line]));
}

/** An execution's head line (workflow, id, status, duration, start) and, when it failed, its error. */
export function executionHead(execution: ExecutionJson, now: number, color: boolean): string {
  const chalk = chalkFor(color);
  const error = execution.error as { code?: string; message?: string } | null;
  return [
    `${chalk.bold(execution.workflow_id)} ${execution.workflow_exec_id} ${statusText(execution.status, chalk)} ${chalk.dim(`(${formatDuration(elapsed(execution, now))}, started ${execution.created_at})`)}`,
    ...(error?.message ? [`${chalk.red('✗')} ${error.code ? `${error.code}: ` : ''}${error.message}`] : []),
  ].join('\n');
}

/** `get`'s view: the execution's head line, its error, its task tree, and its output once it succeeded. */
export function executionDetail(execution: ExecutionWithTasksJson, now: number, color: boolean): string {
  const lines = [
    executionHead(execution, now, color),
    'Tasks:',
    // A task state an ended execution left unfinished (a cancel stops its wait) stopped counting then.
    ...taskTreeLines(Object.values(execution.tasks), isTerminal(execution.status as Status) ? Date.parse(execution.updated_at) : now, color),
  ];
  if (execution.status === 'SUCCESS') lines.push('Output:', ...JSON.stringify(execution.output ?? null, null, 2).split('\n').map((line) => `  ${line}`));
  return lines.join('\n');
}

/** The end of a run: `✔/✗ <workflow> <STATUS> (execution <id>, <duration>)[: error]`, then its output as JSON. */
export function finalSummary(execution: ExecutionJson, color: boolean): string {
  const chalk = chalkFor(color);
  const mark = execution.status === 'SUCCESS' ? chalk.green('✔') : chalk.red('✗');
  const error = execution.error as { message?: string } | null;
  return [
    `${mark} ${execution.workflow_id} ${execution.status} (execution ${execution.workflow_exec_id}, ${formatDuration(elapsed(execution, Date.now()))})${error?.message ? `: ${error.message}` : ''}`,
    JSON.stringify(execution.output ?? null, null, 2),
  ].join('\n');
}
